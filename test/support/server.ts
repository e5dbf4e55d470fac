import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { loadConfig, type Config } from "../../src/config.js";
import { startGatehouse, type Gatehouse } from "../../src/app.js";
import { createLogger, type Logger } from "../../src/logger.js";
import { createGatehouseClient, type GatehouseClient } from "../../src/client/index.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { ensureRedisNodes, LOCK_NODE_PORTS } from "./redis.js";

/** adminPassword is the bootstrap SUPERGOD password of every test server. */
export const adminPassword = "test-admin-password-1";

/** TestServer is a Gatehouse started on a free port over a fresh database and real Redis. */
export interface TestServer {
  gatehouse: Gatehouse;
  baseUrl: string;
  port: number;
  db: TestDatabase;
  config: Config;
  /** client builds typed clients for this server. */
  client(options?: { token?: string; protocol?: "grpc" | "connect" | "grpc-web"; headers?: Record<string, string> }): GatehouseClient;
  /** login answers an access token for a user (default: the bootstrap admin). */
  login(username?: string, password?: string, tenant?: string): Promise<string>;
  close(): Promise<void>;
}

/**
 * startTestServer starts the real server in this process against the local
 * PostgreSQL (a fresh database per server) and the three local Redis nodes
 * (a fresh key prefix per server).
 */
export async function startTestServer(options: { env?: Record<string, string>; config?: Partial<Config>; db?: TestDatabase; redis?: boolean; logger?: Logger } = {}): Promise<TestServer> {
  const useRedis = options.redis ?? true;
  if (useRedis) await ensureRedisNodes(LOCK_NODE_PORTS);
  const db = options.db ?? (await createTestDatabase());
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-test-"));
  const config = loadConfig(
    {
      GATEHOUSE_PORT: "0",
      GATEHOUSE_HOST: "127.0.0.1",
      GATEHOUSE_DATABASE_URL: db.url,
      GATEHOUSE_KEK: db.kek,
      GATEHOUSE_DATA_DIR: dataDir,
      GATEHOUSE_REDIS_URLS: useRedis ? LOCK_NODE_PORTS.map((p) => `redis://127.0.0.1:${p}`).join(",") : "",
      GATEHOUSE_REDIS_PREFIX: `ghtest:${randomBytes(4).toString("hex")}:`,
      GATEHOUSE_ADMIN_PASSWORD: adminPassword,
      GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? "silent",
      GATEHOUSE_RATE_LIMIT_PER_MINUTE: "100000",
      GATEHOUSE_LOGIN_RATE_LIMIT_PER_MINUTE: "100000",
      GATEHOUSE_LOCKOUT_IP_FAILURES: "100000",
      GATEHOUSE_AUTH_FAILURES_PER_MINUTE: "100000",
      GATEHOUSE_HEALTH_INTERVAL_MS: "200",
      GATEHOUSE_SHUTDOWN_GRACE_MS: "2000",
      ...options.env,
    },
    options.config,
  );
  const gatehouse = await startGatehouse(config, { logger: options.logger ?? createLogger(config.logLevel) });
  const baseUrl = `http://127.0.0.1:${gatehouse.port}`;
  const client: TestServer["client"] = (o = {}) => createGatehouseClient({ baseUrl, protocol: o.protocol ?? "grpc", token: o.token, headers: o.headers, retry: false });
  return {
    gatehouse,
    baseUrl,
    port: gatehouse.port,
    db,
    config,
    client,
    async login(username = "admin", password = adminPassword, tenant = "default") {
      const res = await client().auth.login({ tenant, username, password });
      return res.accessToken;
    },
    async close() {
      await gatehouse.close();
      if (!options.db) await db.drop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
