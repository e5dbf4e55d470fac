import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { loadConfig } from "../src/config.js";
import { startGatehouse, type Gatehouse } from "../src/app.js";
import { createGatehouseClient, type GatehouseClient } from "../src/client/index.js";

/** BenchServer is a server started for a benchmark against the local Postgres and Redis. */
export interface BenchServer {
  gatehouse: Gatehouse;
  baseUrl: string;
  adminToken: string;
  client(token?: string): GatehouseClient;
  close(): Promise<void>;
}

const password = "bench-admin-password";

/**
 * startBenchServer runs Gatehouse in this process on a fresh database of the
 * local PostgreSQL and the local Redis nodes, with rate limits raised so the
 * benchmark measures the stack, not the limiter refusing.
 */
export async function startBenchServer(env: Record<string, string> = {}): Promise<BenchServer> {
  const dbName = `gatehouse_bench_${randomBytes(4).toString("hex")}`;
  execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", `create database ${dbName}`]);
  const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-bench-"));
  const config = loadConfig({
    GATEHOUSE_PORT: "0",
    GATEHOUSE_HOST: "127.0.0.1",
    GATEHOUSE_DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${dbName}`,
    GATEHOUSE_KEK: randomBytes(32).toString("base64"),
    GATEHOUSE_DATA_DIR: dataDir,
    GATEHOUSE_REDIS_URLS: "redis://127.0.0.1:6379,redis://127.0.0.1:6380,redis://127.0.0.1:6381",
    GATEHOUSE_REDIS_PREFIX: `ghbench:${randomBytes(3).toString("hex")}:`,
    GATEHOUSE_ADMIN_PASSWORD: password,
    GATEHOUSE_LOG_LEVEL: "silent",
    GATEHOUSE_RATE_LIMIT_PER_MINUTE: "10000000",
    GATEHOUSE_LOGIN_RATE_LIMIT_PER_MINUTE: "10000000",
    GATEHOUSE_LOCKOUT_IP_FAILURES: "100000",
    ...env,
  });
  const gatehouse = await startGatehouse(config);
  const baseUrl = `http://127.0.0.1:${gatehouse.port}`;
  const client = (token?: string) => createGatehouseClient({ baseUrl, protocol: "grpc", token, retry: false });
  const adminToken = (await client().auth.login({ tenant: "default", username: "admin", password })).accessToken;
  return {
    gatehouse,
    baseUrl,
    adminToken,
    client,
    async close() {
      await gatehouse.close();
      execFileSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", `drop database if exists ${dbName} with (force)`]);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
