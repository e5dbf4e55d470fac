import { spawn, type ChildProcess } from "node:child_process";
import { createPublicKey, generateKeyPairSync, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { createGatehouseClient, type GatehouseClient } from "../../src/client/index.js";
import { initDatabase, type Database } from "../../src/store/database.js";
import { createTestDatabase, type TestDatabase } from "./database.js";
import { ensureRedisNodes, LOCK_NODE_PORTS } from "./redis.js";

/** repoRoot is the folder `src/main.ts` is started from. */
const repoRoot = fileURLToPath(new URL("../..", import.meta.url));

/** replicaAdminPassword is the bootstrap SUPERGOD password of every replica set. */
export const replicaAdminPassword = "replica-admin-password-1";

/** Replica is one real Gatehouse server process (`node --import tsx src/main.ts`). */
export interface Replica {
  /** name is `replica-<n>`, for messages. */
  name: string;
  port: number;
  baseUrl: string;
  child: ChildProcess;
  /** exited settles when the process is gone, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** output answers the last 64 KiB the process wrote (stdout and stderr), for failure messages. */
  output(): string;
  /** client builds typed clients for this replica. */
  client(options?: { token?: string; protocol?: "grpc" | "connect" | "grpc-web" }): GatehouseClient;
  /** login answers an access token (default: the bootstrap admin). */
  login(username?: string, password?: string, tenant?: string): Promise<string>;
  /** healthz answers GET /healthz's `serving`, or undefined when the process does not answer. */
  healthz(): Promise<boolean | undefined>;
  /** stop sends `signal` (default SIGTERM) and waits for the exit; SIGKILL after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** ReplicaSetOptions configure startReplicas. */
export interface ReplicaSetOptions {
  /** count of server processes (default 2). */
  count?: number;
  /** env adds or overrides GATEHOUSE_* variables of every replica. */
  env?: Record<string, string>;
  /** redisUrls default to the three local nodes 6379–6381. */
  redisUrls?: string[];
  /** databaseUrl overrides the URL the replicas use (e.g. through a proxy); default: a fresh test database. */
  databaseUrl?: (db: TestDatabase) => string;
}

/** ReplicaSet is several replicas sharing one fresh database, one Redis key prefix, one KEK and one first signing key. */
export interface ReplicaSet {
  replicas: Replica[];
  testDb: TestDatabase;
  /** env is the environment every replica got (GATEHOUSE_* only). */
  env: Record<string, string>;
  /** start adds one more replica to the set (same env, plus `extra`). */
  start(extra?: Record<string, string>): Promise<Replica>;
  /**
   * db opens (once) a Database on the set's database from the test process:
   * asSystem reads for audit rows and other checks.
   */
  db(): Promise<Database>;
  /** close stops every replica still running (SIGTERM, then SIGKILL) and drops the database. */
  close(): Promise<void>;
}

/** freePort answers a loopback port that was free a moment ago (listen on 0, then close). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** ed25519Pem answers a fresh Ed25519 private key as PKCS#8 PEM (GATEHOUSE_JWT_PRIVATE_KEY). */
export function ed25519Pem(): string {
  return generateKeyPairSync("ed25519").privateKey.export({ type: "pkcs8", format: "pem" }).toString();
}

/** servesKey answers whether the server at baseUrl publishes the public half of `pem` (or true without a pem). */
async function servesKey(baseUrl: string, pem: string | undefined): Promise<boolean> {
  if (!pem) return true;
  const x = (createPublicKey(pem).export({ format: "jwk" }) as { x?: string }).x;
  try {
    const jwks = (await (await fetch(`${baseUrl}/.well-known/jwks.json`, { signal: AbortSignal.timeout(2000) })).json()) as { keys: Array<{ x?: string }> };
    return jwks.keys.some((k) => k.x === x);
  } catch {
    return false;
  }
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function killLeftoversOnExit(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  // A test worker that dies must not leave servers behind.
  process.once("exit", () => {
    for (const child of live) child.kill("SIGKILL");
  });
}

async function spawnReplica(name: string, env: Record<string, string>, startTimeoutMs: number): Promise<Replica> {
  killLeftoversOnExit();
  for (let attempt = 1; ; attempt++) {
    const port = await freePort();
    const dataDir = mkdtempSync(join(tmpdir(), "gatehouse-replica-"));
    const childEnv: NodeJS.ProcessEnv = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GATEHOUSE_")) childEnv[k] = v;
    Object.assign(childEnv, env, { GATEHOUSE_PORT: String(port), GATEHOUSE_HOST: "127.0.0.1", GATEHOUSE_DATA_DIR: dataDir });
    const child = spawn(process.execPath, ["--import", "tsx", "src/main.ts"], { cwd: repoRoot, env: childEnv, stdio: ["ignore", "pipe", "pipe"] });
    live.add(child);
    let out = "";
    const keep = (chunk: Buffer) => {
      out = (out + chunk.toString()).slice(-65_536);
    };
    child.stdout!.on("data", keep);
    child.stderr!.on("data", keep);
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
      child.once("exit", (code, signal) => {
        live.delete(child);
        rmSync(dataDir, { recursive: true, force: true });
        resolve({ code, signal });
      });
    });
    const baseUrl = `http://127.0.0.1:${port}`;
    const client: Replica["client"] = (o = {}) => createGatehouseClient({ baseUrl, protocol: o.protocol ?? "grpc", token: o.token, retry: false });
    const healthz = async () => {
      try {
        const res = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(2000) });
        return ((await res.json()) as { serving: boolean }).serving;
      } catch {
        return undefined;
      }
    };
    const replica: Replica = {
      name,
      port,
      baseUrl,
      child,
      exited,
      output: () => out,
      client,
      async login(username = "admin", password = replicaAdminPassword, tenant = "default") {
        return (await client().auth.login({ tenant, username, password })).accessToken;
      },
      healthz,
      async stop(signal = "SIGTERM", timeoutMs = 15_000) {
        if (child.exitCode === null && child.signalCode === null) child.kill(signal);
        const timer = setTimeout(() => child.kill("SIGKILL"), timeoutMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      },
    };
    let gone = false;
    void exited.then(() => (gone = true));
    const deadline = Date.now() + startTimeoutMs;
    while (!gone && Date.now() < deadline) {
      // SERVING, and ours: another process may have taken the port first.
      if ((await healthz()) === true && (await servesKey(baseUrl, env.GATEHOUSE_JWT_PRIVATE_KEY))) return replica;
      await sleep(100);
    }
    if (!gone) await replica.stop("SIGKILL");
    // Another process may have taken the port between our check and the listen.
    if (/EADDRINUSE/.test(out) && attempt < 3) continue;
    throw new Error(`${name} did not become SERVING within ${startTimeoutMs} ms; its output:\n${out}`);
  }
}

/**
 * startReplicas starts `count` real server processes on free ports, sharing a
 * fresh database of the local PostgreSQL, the Redis nodes (a fresh key
 * prefix), the database's KEK, one Ed25519 key (imported as the ring's first
 * signing key) and the admin password, and waits until
 * each says SERVING on /healthz. Rate limits are raised unless `env` sets them.
 */
export async function startReplicas(options: ReplicaSetOptions = {}): Promise<ReplicaSet> {
  const count = options.count ?? 2;
  const redisUrls = options.redisUrls ?? LOCK_NODE_PORTS.map((p) => `redis://127.0.0.1:${p}`);
  if (!options.redisUrls) await ensureRedisNodes(LOCK_NODE_PORTS);
  const testDb = await createTestDatabase();
  const env: Record<string, string> = {
    GATEHOUSE_DATABASE_URL: options.databaseUrl ? options.databaseUrl(testDb) : testDb.url,
    GATEHOUSE_KEK: testDb.kek,
    GATEHOUSE_REDIS_URLS: redisUrls.join(","),
    GATEHOUSE_REDIS_PREFIX: `ghreplicas:${randomBytes(4).toString("hex")}:`,
    GATEHOUSE_JWT_PRIVATE_KEY: ed25519Pem(),
    GATEHOUSE_ADMIN_PASSWORD: replicaAdminPassword,
    GATEHOUSE_LOG_LEVEL: process.env.GATEHOUSE_TEST_LOG_LEVEL ?? "warn",
    GATEHOUSE_RATE_LIMIT_PER_MINUTE: "100000",
    GATEHOUSE_LOGIN_RATE_LIMIT_PER_MINUTE: "100000",
    GATEHOUSE_LOCKOUT_IP_FAILURES: "100000",
    GATEHOUSE_AUTH_FAILURES_PER_MINUTE: "100000",
    GATEHOUSE_HEALTH_INTERVAL_MS: "200",
    GATEHOUSE_SHUTDOWN_GRACE_MS: "5000",
    GATEHOUSE_SANDBOX_WORKERS: "1",
    ...options.env,
  };
  const replicas: Replica[] = [];
  let next = 0;
  let database: Promise<Database> | undefined;
  const set: ReplicaSet = {
    replicas,
    testDb,
    env,
    async start(extra = {}) {
      const replica = await spawnReplica(`replica-${next++}`, { ...env, ...extra }, 60_000);
      replicas.push(replica);
      return replica;
    },
    db() {
      database ??= initDatabase({ url: testDb.url, poolMax: 2 });
      return database;
    },
    async close() {
      await Promise.all(replicas.map((r) => r.stop("SIGTERM")));
      if (database) await (await database).close();
      await testDb.drop();
    },
  };
  try {
    // The first replica migrates and bootstraps; the others start beside it
    // (they wait on the migration lock and find the tenant made).
    await Promise.all(Array.from({ length: count }, () => set.start()));
  } catch (err) {
    await set.close().catch(() => undefined);
    throw err;
  }
  return set;
}
