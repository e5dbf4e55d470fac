import { setMaxListeners } from "node:events";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Config } from "./config.js";
import type { Deps } from "./deps.js";
import { createLogger, type Logger } from "./logger.js";
import { createMetrics } from "./metrics.js";
import { initDatabase, type Database } from "./store/database.js";
import { createRedisNodes } from "./shared-state/redis-nodes.js";
import { createLocalBus, createRedisBus } from "./shared-state/bus.js";
import { createLimiterFactory } from "./shared-state/rate-limiters.js";
import { createHealthMonitor } from "./health/health-monitor.js";
import { loadSigningKey } from "./auth/signing-keys.js";
import { createAccessTokens } from "./auth/access-tokens.js";
import { createSessionManager } from "./auth/sessions.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { createAuditStore } from "./audit/audit-store.js";
import { createRoomAccess } from "./rooms/room-access.js";
import { createRoomTokenResolver } from "./rooms/room-tokens.js";
import { createEffectivePolicies } from "./policies/effective-policy.js";
import { createRuleCache } from "./rules/rule-cache.js";
import { createRedlockManager } from "./locks/redlock-manager.js";
import { createMemoryLockManager } from "./locks/memory-manager.js";
import { createPostgresFencingCounter } from "./locks/postgres-fencing.js";
import { createSandboxPool } from "./sandbox/index.js";
import { createNetFetcher } from "./macros/net-fetcher.js";
import { createMacroCache } from "./macros/macro-cache.js";
import { bootstrap } from "./bootstrap.js";
import { createServer } from "./server.js";

/** Gatehouse is a running service. */
export interface Gatehouse {
  port: number;
  deps: Deps;
  close(): Promise<void>;
}

/** StartOptions let tests bring their own logger or an open database. */
export interface StartOptions {
  logger?: Logger;
  db?: Database;
  /** printSecret receives the generated admin password (first start only). */
  printSecret?: (line: string) => void;
}

/**
 * startGatehouse builds every dependency from the configuration, migrates,
 * bootstraps the default tenant, and listens. close() shuts down gracefully:
 * health turns NOT_SERVING, in-flight calls finish, then connections close.
 */
export async function startGatehouse(config: Config, options: StartOptions = {}): Promise<Gatehouse> {
  const logger = options.logger ?? createLogger(config.logLevel);
  const metrics = createMetrics();
  const shutdown = new AbortController();
  // Every call in flight links its own signal to this one (connect-node's
  // shutdownSignal): many listeners are the design, not a leak to warn about.
  setMaxListeners(0, shutdown.signal);
  const db =
    options.db ??
    (await initDatabase({
      url: config.databaseUrl,
      dataDir: config.databaseUrl ? undefined : `${config.dataDir}/pgdata`,
      logger: { debug: (m) => logger.debug(m), info: (m) => logger.info(m), warn: (m) => logger.warn(m) },
    }));
  const redis = config.redisUrls.length > 0 ? createRedisNodes(config.redisUrls, logger) : undefined;
  const bus = redis ? createRedisBus(redis, config.redisKeyPrefix, logger) : createLocalBus();
  const limiters = createLimiterFactory(redis, config.redisKeyPrefix);
  const quorum = redis ? Math.floor(redis.clients.length / 2) + 1 : 0;
  const health = createHealthMonitor(
    {
      postgres: async () => (await db.ping({ timeoutMs: 1000 })).ok,
      ...(redis ? { redis: async () => (await redis.pingAll(500)) >= quorum } : {}),
    },
    config.healthIntervalMs,
    logger,
  );
  const key = await loadSigningKey(config.jwtPrivateKey, config.dataDir);
  const tokens = createAccessTokens(key, { issuer: config.jwtIssuer, audience: config.jwtAudience, ttlSeconds: config.accessTokenTtlSeconds });
  const sessions = createSessionManager(db, bus, { idleSeconds: config.sessionIdleSeconds, absoluteSeconds: config.sessionAbsoluteSeconds }, logger);
  const rooms = createRoomAccess(db, bus);
  const policies = createEffectivePolicies(bus);
  const rules = createRuleCache(db, bus);
  const roomTokens = createRoomTokenResolver(db, policies, bus);
  const fencing = createPostgresFencingCounter(db);
  const locks = redis
    ? createRedlockManager(redis.clients, { prefix: `${config.redisKeyPrefix}lock:`, fencing })
    : createMemoryLockManager({ fencing });
  const macroCache = createMacroCache(bus);
  const sandbox = createSandboxPool({ size: config.sandboxWorkers, workerNice: config.sandboxWorkerNice, logger });
  const deps: Deps = {
    config,
    logger,
    metrics,
    db,
    redis,
    bus,
    limiters,
    ipLimiter: limiters({ name: "ip", points: config.rateLimitPerMinute, durationSeconds: 60 }),
    principalLimiter: limiters({ name: "user", points: config.rateLimitPerMinute, durationSeconds: 60 }),
    health,
    authenticator: createAuthenticator(tokens, sessions, roomTokens.resolve),
    rooms,
    policies,
    rules,
    audit: createAuditStore(db, logger),
    locks,
    sandbox,
    macroCache,
    netFetch: createNetFetcher(db, policies),
    tokens,
    sessions,
    signingKey: key,
    jwks: async () => ({ keys: [key.publicJwk] }),
    shutdownSignal: shutdown.signal,
  };
  await bootstrap(deps, options.printSecret ?? ((line) => process.stdout.write(line + "\n")));
  await health.checkNow();
  const server = createServer(deps);
  const port = await server.listener.listen(config.port, config.host);
  logger.info({ port, tls: Boolean(config.tlsCertFile), database: db.mode, redisNodes: redis?.clients.length ?? 0 }, "gatehouse listening");

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      health.markShuttingDown();
      await server.listener.close(config.shutdownGraceMs);
      shutdown.abort();
      health.stop();
      sessions.close();
      await locks.close();
      await sandbox.close();
      macroCache.close();
      roomTokens.close();
      rooms.close();
      policies.close();
      rules.close();
      await bus.close();
      await redis?.close();
      if (!options.db) await db.close();
      logger.info("gatehouse stopped");
    })());
  return { port, deps, close };
}

export type { EntityManager };
