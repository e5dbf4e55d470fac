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
import { ensureFirstKey, openSigningKeyRing, SigningKeyError } from "./auth/signing-keys.js";
import { KekError, loadKek } from "./auth/kek.js";
import { ormSigningKeyStore } from "./store/signing-keys.js";
import { createAccessTokens } from "./auth/access-tokens.js";
import { createSessionManager } from "./auth/sessions.js";
import { createAuthenticator } from "./auth/authenticator.js";
import { createAuthFailureLimit } from "./auth/failure-limit.js";
import { createLoginAudit } from "./auth/login-audit.js";
import { createAuditStore } from "./audit/audit-store.js";
import { createRoomAccess } from "./rooms/room-access.js";
import { createRoomTokenResolver } from "./rooms/room-tokens.js";
import { createEffectivePolicies } from "./policies/effective-policy.js";
import { createRuleCache } from "./rules/rule-cache.js";
import { reportMalformedRules } from "./rules/malformed-rules.js";
import { createRedlockManager } from "./locks/redlock-manager.js";
import { createMemoryLockManager } from "./locks/memory-manager.js";
import { createPostgresFencingCounter } from "./locks/postgres-fencing.js";
import { ormLockTargetStore } from "./store/lock-targets.js";
import { createSandboxPool } from "./sandbox/index.js";
import { createNetFetcher } from "./macros/net-fetcher.js";
import { createMacroCache } from "./macros/macro-cache.js";
import { bootstrap, offerInitialPassword } from "./bootstrap.js";
import { createServer } from "./server.js";
import { instrumentAudit, instrumentLocks, instrumentSandbox } from "./instrumentation.js";

/** StartupError is a failure at start that one line explains (no stack trace): a busy port. */
export class StartupError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "StartupError";
  }
}

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
  const logger = options.logger ?? createLogger(config.logLevel, undefined, config.logFormat);
  const metrics = createMetrics();
  const shutdown = new AbortController();
  // Every call in flight links its own signal to this one (connect-node's
  // shutdownSignal): many listeners are the design, not a leak to warn about.
  setMaxListeners(0, shutdown.signal);
  // The KEK before anything is opened: without it the signing keys in the database cannot be read.
  let loadedKek;
  try {
    loadedKek = loadKek(config.kek, { dataDir: config.dataDir, embedded: !config.databaseUrl });
  } catch (err) {
    if (err instanceof KekError) throw new StartupError(err.message, { cause: err });
    throw err;
  }
  if (!loadedKek) {
    throw new StartupError(
      "GATEHOUSE_KEK is required with GATEHOUSE_DATABASE_URL: set it to 32 random bytes in base64 (openssl rand -base64 32), the same on every replica, and keep it safe (docs/operations.md, \"Secrets\")",
    );
  }
  const kek = loadedKek.kek;
  logger.info({ kekId: kek.id, source: loadedKek.source }, "key-encryption key loaded");
  const db =
    options.db ??
    (await initDatabase({
      url: config.databaseUrl,
      dataDir: config.databaseUrl ? undefined : `${config.dataDir}/pgdata`,
      lockDir: config.dataDir,
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
  let signingKeys;
  try {
    await ensureFirstKey({ db, store: ormSigningKeyStore, kek, configuredPem: config.jwtPrivateKey, dataDir: config.dataDir, logger });
    signingKeys = await openSigningKeyRing({ db, store: ormSigningKeyStore, kek, bus, logger, tokenTtlSeconds: config.accessTokenTtlSeconds });
  } catch (err) {
    health.stop();
    await bus.close();
    await redis?.close();
    if (!options.db) await db.close();
    if (err instanceof SigningKeyError) throw new StartupError(err.message, { cause: err });
    throw err;
  }
  const tokens = createAccessTokens(signingKeys, { issuer: config.jwtIssuer, audience: config.jwtAudience, ttlSeconds: config.accessTokenTtlSeconds });
  const sessions = createSessionManager(
    db,
    bus,
    { idleSeconds: config.sessionIdleSeconds, absoluteSeconds: config.sessionAbsoluteSeconds, cookieKey: kek.deriveKey("gh_session cookie mac") },
    logger,
  );
  const rooms = createRoomAccess(db, bus);
  const policies = createEffectivePolicies(bus);
  const rules = createRuleCache(db, bus);
  const roomTokens = createRoomTokenResolver(db, policies, bus);
  const fencing = createPostgresFencingCounter(db, ormLockTargetStore);
  const locks = instrumentLocks(
    redis ? createRedlockManager(redis.clients, { prefix: `${config.redisKeyPrefix}lock:`, fencing }) : createMemoryLockManager({ fencing }),
    metrics,
  );
  const macroCache = createMacroCache(bus);
  const audit = instrumentAudit(createAuditStore(db, logger), metrics);
  const loginAudit = createLoginAudit({ limiters, audit, db, logger, windowSeconds: config.lockoutUserWindowSeconds });
  const sandbox = instrumentSandbox(createSandboxPool({ size: config.sandboxWorkers, workerNice: config.sandboxWorkerNice, logger }), metrics);
  const deps: Deps = {
    config,
    logger,
    metrics,
    db,
    redis,
    bus,
    limiters,
    ipLimiter: limiters({ name: "ip", points: config.rateLimitPerMinute, durationSeconds: 60, leased: true }),
    principalLimiter: limiters({ name: "user", points: config.rateLimitPerMinute, durationSeconds: 60, leased: true }),
    checkLimiter: limiters({ name: "check", points: config.checkRateLimitPerMinute, durationSeconds: 60, leased: true }),
    health,
    authenticator: createAuthenticator(tokens, sessions, { roomTokens, failures: createAuthFailureLimit(limiters, config.authFailuresPerMinute) }),
    rooms,
    policies,
    rules,
    audit,
    locks,
    sandbox,
    macroCache,
    netFetch: createNetFetcher(db, policies),
    tokens,
    sessions,
    loginAudit,
    kek,
    signingKeys,
    jwks: async () => signingKeys.jwks(),
    shutdownSignal: shutdown.signal,
  };
  const server = createServer(deps);

  let closing: Promise<void> | undefined;
  const close = () =>
    (closing ??= (async () => {
      health.markShuttingDown();
      await server.listener.close(config.shutdownGraceMs);
      // Summaries of refused logins still waiting for their window's end, with the count so far.
      await loginAudit.close();
      shutdown.abort();
      health.stop();
      sessions.close();
      signingKeys.close();
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

  // The port first: a start that cannot serve must not bootstrap (and show a
  // password for an admin nobody can reach). Calls wait until server.open().
  let port: number;
  try {
    port = await server.listener.listen(config.port, config.host);
  } catch (err) {
    await close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE" || code === "EACCES" || code === "EADDRNOTAVAIL") {
      const why = code === "EADDRINUSE" ? "is in use by another process" : code === "EACCES" ? "needs privileges this process lacks" : "is not an address of this machine";
      throw new StartupError(
        `cannot listen on ${config.host}:${config.port}: the port ${why} (${code}); choose another with GATEHOUSE_PORT (or GATEHOUSE_HOST)`,
        { cause: err },
      );
    }
    throw err;
  }
  try {
    const print = options.printSecret ?? ((line: string) => process.stdout.write(line + "\n"));
    if (!(await bootstrap(deps, print))) await offerInitialPassword(deps, print);
    await reportMalformedRules(db, logger);
    await health.checkNow();
  } catch (err) {
    await close().catch(() => undefined);
    throw err;
  }
  server.open();
  const urls = serviceUrls(config.host, port, Boolean(config.tlsCertFile));
  logger.info(
    { port, api: urls.api, console: urls.console, tls: Boolean(config.tlsCertFile), database: db.mode, redisNodes: redis?.clients.length ?? 0 },
    `gatehouse listening: API ${urls.api}, console ${urls.console}`,
  );

  return { port, deps, close };
}

/** serviceUrls answers the addresses to show at start: a wildcard host is shown as localhost. */
export function serviceUrls(host: string, port: number, tls: boolean): { api: string; console: string } {
  const shown = host === "0.0.0.0" || host === "::" || host === "" ? "localhost" : host.includes(":") ? `[${host}]` : host;
  const api = `${tls ? "https" : "http"}://${shown}:${port}`;
  return { api, console: `${api}/console/` };
}

export type { EntityManager };
