/**
 * bench/outside — `npm run bench`: Gatehouse measured from outside its
 * process (issue 19). It starts, as processes of their own, a bare
 * connect-node server answering `grpc.health.v1.Health/Check` (no
 * interceptors) and the real Gatehouse (`node --max-semi-space-size=8 --import tsx src/main.ts`, as `npm start`) on
 * a fresh PostgreSQL database and the three local Redis nodes (embedded
 * PGlite or in-process state when they are not reachable, said in the
 * output), sets up a user, a room and a one-line macro, checks each measured
 * call once with a real client (h2load can't read gRPC trailers), then
 * drives each call with h2load (nghttp2-client) over gRPC on h2c and over
 * Connect JSON on HTTP/1.1, and prints one table: calls/s, p50 and p99 from
 * h2load's per-request log, the ratio to the Gatehouse no-op of the same
 * protocol, and issue 19's targets met or not. Rate limits stay on, raised
 * so they never refuse. Everything it starts is stopped at the end, also on
 * error or Ctrl-C.
 *
 * Run: npm run bench
 *      npm run bench -- --memory   resident memory only: 60 s after start and one call of each, then
 *                                  after each tenth of 100,000 mixed gRPC calls (every Gatehouse row in turn)
 * Env: BENCH_CALLS           calls per measured run (default 5000)
 *      BENCH_WARMUP_CALLS    unmeasured calls before each run (default 1000)
 *      BENCH_ROUNDS          rounds over all workloads, merged per workload (default 2)
 *      BENCH_CONNECTIONS     h2c connections (default 8)
 *      BENCH_STREAMS         concurrent streams per h2c connection (default 16)
 *      BENCH_H1_CONNECTIONS  HTTP/1.1 connections for Connect, one request in flight each (default 32)
 *      BENCH_MACRO_STREAMS   streams per connection for RunMacro (default 4: 8 × 4 = 32 in flight; the
 *                            sandbox of 2 workers queues at most 32 runs and answers INTERNAL beyond)
 *      BENCH_LOCK_LANES      AcquireLock+ReleaseLock lanes, one call in flight each, own target each (default 8)
 *      BENCH_RUNAWAYS        runaway macros (an endless loop, run again as soon as it times out) beside the
 *                            no-op for the "beside runaways" row (default 2)
 *      BENCH_RSS_WAIT_SECONDS  when to read the server's resident memory, after its start (default 60)
 *      BENCH_TIMEOUT_SECONDS   the most one h2load run may take (default 300)
 *      BENCH_ONLY            comma-separated row kinds to run (bare-noop,noop,runaway,check,checks,whoami,run-macro,lock);
 *                            the no-op rows always run, the ratios need them
 *      BENCH_CPU_PROF_DIR    start Gatehouse with `node --cpu-prof` writing its profile there at its exit
 *      BENCH_NODE_ARGS       more node options for Gatehouse (space-separated, after those of `npm start`; e.g. `--max-semi-space-size=16` for V8's default)
 *      BENCH_MEMORY_CALLS    --memory: mixed calls in all (default 100000)
 *      BENCH_MEMORY_SAMPLES  --memory: resident memory readings over them (default 10)
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { availableParallelism, cpus, loadavg, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { setTimeout as sleep } from "node:timers/promises";
import { create, toBinary, toJsonString, type DescMessage, type MessageInitShape } from "@bufbuild/protobuf";
import { createClient, type Interceptor, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcTransport } from "@connectrpc/connect-node";
import { Health, HealthCheckRequestSchema, HealthCheckResponse_ServingStatus } from "../gen/grpc/health/v1/health_pb.js";
import { AuthService, WhoAmIRequestSchema } from "../gen/gatehouse/v1/auth_pb.js";
import { Level, Outcome, RoomRole } from "../gen/gatehouse/v1/common_pb.js";
import { AcquireLockRequestSchema, LocksService, ReleaseLockRequestSchema } from "../gen/gatehouse/v1/locks_pb.js";
import { MacrosService, RunMacroRequestSchema } from "../gen/gatehouse/v1/macros_pb.js";
import { CheckPermissionRequestSchema, CheckPermissionsRequestSchema, UsersService } from "../gen/gatehouse/v1/users_pb.js";
import { createGatehouseClient } from "../src/client/index.js";
import { grpcFrame, h2loadInstallHint, h2loadVersion, percentile, runH2load, type H2loadResult } from "./outside/h2load.js";
import { markdownTable, report, type Kind, type Row } from "./outside/report.js";

const envInt = (name: string, fallback: number, min: number, max: number): number => {
  const raw = process.env[name];
  if (raw === undefined || raw === "") return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw new Error(`${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
  return n;
};
const calls = envInt("BENCH_CALLS", 5_000, 100, 10_000_000);
const warmupCalls = envInt("BENCH_WARMUP_CALLS", 1_000, 0, 1_000_000);
const rounds = envInt("BENCH_ROUNDS", 2, 1, 20);
const connections = envInt("BENCH_CONNECTIONS", 8, 1, 1000);
const streams = envInt("BENCH_STREAMS", 16, 1, 1000);
const h1Connections = envInt("BENCH_H1_CONNECTIONS", 32, 1, 1000);
const macroStreams = envInt("BENCH_MACRO_STREAMS", 4, 1, 1000);
const lockLanes = envInt("BENCH_LOCK_LANES", 8, 1, 64);
const runaways = envInt("BENCH_RUNAWAYS", 2, 1, 16);
const rssWaitSeconds = envInt("BENCH_RSS_WAIT_SECONDS", 60, 0, 3600);
const runTimeoutMs = envInt("BENCH_TIMEOUT_SECONDS", 300, 10, 3600) * 1000;
const startTimeoutMs = 60_000;
const only = process.env.BENCH_ONLY ? new Set(process.env.BENCH_ONLY.split(",").map((k) => k.trim())) : undefined;
const cpuProfDir = process.env.BENCH_CPU_PROF_DIR || undefined;
/** startNodeArgs are the node options `npm start` gives the server (package.json), which the bench mirrors. */
const startNodeArgs = ["--max-semi-space-size=8"];
const serverNodeArgs = [...startNodeArgs, ...(process.env.BENCH_NODE_ARGS ?? "").split(" ").filter(Boolean)];
const memoryMode = process.argv.includes("--memory");
const memoryCalls = envInt("BENCH_MEMORY_CALLS", 100_000, 1_000, 100_000_000);
const memorySamples = envInt("BENCH_MEMORY_SAMPLES", 10, 2, 1000);

const repoRoot = fileURLToPath(new URL("..", import.meta.url));
const adminPassword = "bench-admin-password-1";
const userPassword = "bench-user-password-1";
const limits = {
  GATEHOUSE_RATE_LIMIT_PER_MINUTE: "10000000",
  GATEHOUSE_CHECK_RATE_LIMIT_PER_MINUTE: "100000000",
  GATEHOUSE_LOGIN_RATE_LIMIT_PER_MINUTE: "10000000",
  GATEHOUSE_RUNS_PER_SECOND: "1000000",
  GATEHOUSE_LOCKOUT_IP_FAILURES: "100000",
};

// ---- what this script started, stopped whatever happens -------------------

const children = new Set<ChildProcess>();
const cleanups: Array<() => Promise<void> | void> = [];
let cleaning: Promise<void> | undefined;
/** cleanUp stops the servers, drops the database, removes the Redis keys and files; once. */
function cleanUp(): Promise<void> {
  cleaning ??= (async () => {
    for (const fn of cleanups.reverse()) {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${(err as Error).message}`);
      }
    }
  })();
  return cleaning;
}
process.on("exit", () => {
  for (const child of children) if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
});
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.error(`\n${signal}: stopping what the bench started`);
    void cleanUp().finally(() => process.exit(130));
  });
}

/** stopChild sends SIGTERM, then SIGKILL after `graceMs`; resolves when it is gone. */
async function stopChild(child: ChildProcess, graceMs = 15_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const gone = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  child.kill("SIGTERM");
  const timer = setTimeout(() => child.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
  children.delete(child);
}

/** spawnNode starts `node --import tsx <script>`, keeping the last 50 lines of its output for error messages. */
function spawnNode(script: string, env: NodeJS.ProcessEnv, nodeArgs: string[] = []): { child: ChildProcess; tail: string[]; onLine: (fn: (line: string) => void) => void } {
  const child = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], { cwd: repoRoot, env, stdio: ["pipe", "pipe", "pipe"] });
  children.add(child);
  const tail: string[] = [];
  const listeners: Array<(line: string) => void> = [];
  for (const stream of [child.stdout!, child.stderr!]) {
    let pending = "";
    stream.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        tail.push(line);
        if (tail.length > 50) tail.shift();
        for (const fn of listeners) fn(line);
      }
    });
  }
  return { child, tail, onLine: (fn) => listeners.push(fn) };
}

/** waitForLine resolves with the first line `match` accepts, or rejects after `timeoutMs` or when the process exits. */
function waitForLine<T>(proc: ReturnType<typeof spawnNode>, match: (line: string) => T | undefined, what: string): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not up after ${startTimeoutMs} ms:\n${proc.tail.join("\n")}`)), startTimeoutMs);
    proc.child.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}) before it was up:\n${proc.tail.join("\n")}`));
    });
    proc.onLine((line) => {
      const found = match(line);
      if (found !== undefined) {
        clearTimeout(timer);
        resolve(found);
      }
    });
  });
}

/** freePort answers a loopback port that was free a moment ago. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** redisAnswers tells whether a Redis node answers PING on 127.0.0.1:port within a second. */
function redisAnswers(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once("error", () => done(false));
    socket.once("connect", () => socket.write("PING\r\n"));
    socket.once("data", (d: Buffer) => done(d.toString().startsWith("+PONG")));
  });
}

/** rssMiB reads a process's resident memory (VmRSS: all its threads, the sandbox workers included). */
function rssMiB(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1];
  return kb === undefined ? NaN : Number(kb) / 1024;
}

/** scrapeCalls reads gatehouse_rpc_calls_total from /metrics: method → code → count. */
async function scrapeCalls(baseUrl: string): Promise<Map<string, Map<string, number>>> {
  const text = await (await fetch(`${baseUrl}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
  const out = new Map<string, Map<string, number>>();
  for (const m of text.matchAll(/^gatehouse_rpc_calls_total\{([^}]*)\} (\d+)/gm)) {
    const method = /method="([^"]*)"/.exec(m[1]!)?.[1] ?? "";
    const code = /code="([^"]*)"/.exec(m[1]!)?.[1] ?? "";
    if (!out.has(method)) out.set(method, new Map());
    out.get(method)!.set(code, Number(m[2]));
  }
  return out;
}

/** callsBetween counts, for `methods`, the calls answered OK and otherwise between two scrapes. */
function callsBetween(before: Map<string, Map<string, number>>, after: Map<string, Map<string, number>>, methods: string[]): { ok: number; notOk: Record<string, number> } {
  let ok = 0;
  const notOk: Record<string, number> = {};
  for (const method of methods) {
    for (const [code, n] of after.get(method) ?? []) {
      const delta = n - (before.get(method)?.get(code) ?? 0);
      if (delta === 0) continue;
      if (code === "ok") ok += delta;
      else notOk[`${method.split("/")[1]} ${code}`] = (notOk[`${method.split("/")[1]} ${code}`] ?? 0) + delta;
    }
  }
  return { ok, notOk };
}

// ---- workloads ------------------------------------------------------------

/** Lane is one h2load invocation of a workload: its URLs (round-robin) and body. */
interface Lane {
  urls: string[];
  body: Uint8Array | string;
}

/** Workload is one row of the table. */
interface Workload {
  kind: Kind;
  call: string;
  protocol: string;
  h1: boolean;
  headers: Record<string, string>;
  lanes: Lane[];
  /** connections and streams of each lane. */
  connections: number;
  streams: number;
  /** callsPerUnit: 2 for AcquireLock+ReleaseLock (a round trip is two calls). */
  callsPerUnit: number;
  decisionsPerCall: number;
  /** methods are the RPCs whose codes the server counts (Gatehouse only). */
  methods?: string[];
  verify: () => Promise<void>;
  /** beside starts what runs beside the load (warm-up included) and answers how to stop it. */
  beside?: () => () => Promise<void>;
}

/** Measured is a workload's figures, merged over its rounds. */
interface Measured {
  answered: number;
  seconds: number;
  latenciesMs: number[];
  failed: number;
  errored: number;
  timeout: number;
  non2xx: number;
  notOk: Record<string, number>;
  unseen: number;
}

function check(condition: boolean, what: string): void {
  if (!condition) throw new Error(`verification failed: ${what}`);
}

// ---- main -----------------------------------------------------------------

const h2load = h2loadVersion();
if (!h2load) {
  console.error(h2loadInstallHint);
  process.exit(1);
}

const startedAt = new Date();
const work = mkdtempSync(join(tmpdir(), "gatehouse-bench-outside-"));
cleanups.push(() => rmSync(work, { recursive: true, force: true }));

try {
  // The bare connect-node server.
  const bare = spawnNode("bench/outside/bare-server.ts", process.env);
  cleanups.push(() => stopChild(bare.child, 5_000));
  const barePorts = await waitForLine(bare, (line) => (line.startsWith("{") ? (JSON.parse(line) as { h2c: number; h1: number }) : undefined), "the bare server");

  // PostgreSQL and Redis, when reachable.
  const pgUp = spawnSync("pg_isready", ["-h", "127.0.0.1", "-p", "5432", "-q"], { timeout: 5_000 }).status === 0;
  let databaseUrl: string | undefined;
  if (pgUp) {
    const dbName = `gatehouse_bench_${randomBytes(4).toString("hex")}`;
    const made = spawnSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", `create database ${dbName}`], { timeout: 30_000, encoding: "utf8" });
    if (made.status !== 0) throw new Error(`create database ${dbName}: ${made.stderr}`);
    cleanups.push(() => {
      spawnSync("psql", ["-h", "127.0.0.1", "-U", "postgres", "-qc", `drop database if exists ${dbName} with (force)`], { timeout: 30_000 });
    });
    databaseUrl = `postgres://postgres@127.0.0.1:5432/${dbName}`;
  }
  const redisPorts = [6379, 6380, 6381];
  const redisUp = (await Promise.all(redisPorts.map(redisAnswers))).every(Boolean);
  const redisPrefix = `ghbench:${randomBytes(3).toString("hex")}:`;
  if (redisUp) {
    cleanups.push(async () => {
      const { Redis } = await import("ioredis");
      for (const port of redisPorts) {
        const c = new Redis({ host: "127.0.0.1", port, lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await c.connect();
          let cursor = "0";
          for (let i = 0; i < 10_000; i++) {
            const [next, keys] = await c.scan(cursor, "MATCH", `${redisPrefix}*`, "COUNT", 1000);
            if (keys.length > 0) await c.del(...keys);
            cursor = next;
            if (cursor === "0") break;
          }
        } finally {
          c.disconnect();
        }
      }
    });
  }

  // Gatehouse, as `npm start` runs it.
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("GATEHOUSE_")) env[k] = v;
  Object.assign(env, {
    GATEHOUSE_HOST: "127.0.0.1",
    GATEHOUSE_PORT: String(port),
    GATEHOUSE_DATA_DIR: join(work, "data"),
    GATEHOUSE_ADMIN_PASSWORD: adminPassword,
    GATEHOUSE_LOG_LEVEL: "info",
    GATEHOUSE_LOG_FORMAT: "json",
    GATEHOUSE_ACCESS_LOG: "errors",
    ...limits,
    ...(databaseUrl ? { GATEHOUSE_DATABASE_URL: databaseUrl, GATEHOUSE_KEK: randomBytes(32).toString("base64") } : {}),
    ...(redisUp ? { GATEHOUSE_REDIS_URLS: redisPorts.map((p) => `redis://127.0.0.1:${p}`).join(","), GATEHOUSE_REDIS_PREFIX: redisPrefix } : {}),
  });
  const gatehouseStarted = Date.now();
  const gh = spawnNode("src/main.ts", env, [...serverNodeArgs, ...(cpuProfDir ? ["--cpu-prof", "--cpu-prof-dir", cpuProfDir] : [])]);
  cleanups.push(() => stopChild(gh.child));
  // Errors the server logs (pino JSON, level ≥ 50), the first few kept for the report.
  const serverErrors: string[] = [];
  let serverErrorCount = 0;
  gh.onLine((line) => {
    if (!/"level":(50|60)/.test(line)) return;
    serverErrorCount++;
    if (serverErrors.length < 5) serverErrors.push(line.slice(0, 600));
  });
  await waitForLine(gh, (line) => (line.includes("gatehouse listening") ? true : undefined), "Gatehouse");
  const baseUrl = `http://127.0.0.1:${port}`;
  const bareH2c = `http://127.0.0.1:${barePorts.h2c}`;
  const bareH1 = `http://127.0.0.1:${barePorts.h1}`;

  // A user (editor), a room, the one-line macro, and a macro per lock lane (lock targets are macros).
  const admin = createGatehouseClient({ baseUrl, protocol: "grpc", retry: false, token: (await createGatehouseClient({ baseUrl, protocol: "grpc", retry: false }).auth.login({ tenant: "default", username: "admin", password: adminPassword })).accessToken });
  await admin.policies.updateGlobalPolicy({ policy: { maxRunsPerMinute: 10_000_000 } });
  const roomId = (await admin.rooms.createRoom({ name: "bench-outside" })).room!.roomId;
  const macros = (
    await admin.macros.updateMacros({
      roomId,
      macros: [
        { name: "one-line", code: "export default function (input) { return input; }" },
        ...Array.from({ length: runaways }, (_, i) => ({ name: `runaway-${i}`, code: "export default function () { for (;;) {} }" })),
        ...Array.from({ length: lockLanes }, (_, i) => ({ name: `lock-target-${i}`, code: "export default function () { return null; }" })),
      ],
    })
  ).macros;
  const macroId = macros.find((m) => m.name === "one-line")!.macroId;
  const runawayIds = macros.filter((m) => m.name.startsWith("runaway-")).map((m) => m.macroId);
  const lockTargets = macros.filter((m) => m.name.startsWith("lock-target-")).map((m) => `macro/${m.macroId}`);
  const roles = (await admin.roles.listRoles({})).roles;
  const user = await admin.users.createUser({ username: "bench-user", password: userPassword, level: Level.USER, roleIds: [roles.find((r) => r.name === "editor")!.roleId] });
  await admin.rooms.addRoomMember({ roomId, userId: user.user!.userId, role: RoomRole.EDITOR });
  const token = (await createGatehouseClient({ baseUrl, protocol: "grpc", retry: false }).auth.login({ tenant: "default", username: "bench-user", password: userPassword })).accessToken;

  // Request messages, and real clients to check each once (gRPC status is in trailers, which h2load can't read).
  const bearer: Interceptor = (next) => (req) => {
    req.header.set("authorization", `Bearer ${token}`);
    return next(req);
  };
  const grpcTo = (url: string, auth: boolean): Transport => createGrpcTransport({ baseUrl: url, interceptors: auth ? [bearer] : [] });
  const connectTo = (url: string, auth: boolean): Transport => createConnectTransport({ baseUrl: url, httpVersion: "1.1", useBinaryFormat: false, interceptors: auth ? [bearer] : [] });
  const health = create(HealthCheckRequestSchema, {});
  const checkReq = create(CheckPermissionRequestSchema, { permission: "macros.run", roomId });
  const checksReq = create(CheckPermissionsRequestSchema, { checks: Array.from({ length: 100 }, () => ({ permission: "macros.run", roomId })) });
  const whoAmIReq = create(WhoAmIRequestSchema, {});
  const runReq = create(RunMacroRequestSchema, { roomId, macroId });
  const lockReqs = lockTargets.map((target) => create(AcquireLockRequestSchema, { roomId, target }));

  const grpcHeaders = (auth: boolean) => ({ "content-type": "application/grpc", te: "trailers", ...(auth ? { authorization: `Bearer ${token}` } : {}) });
  const connectHeaders = (auth: boolean) => ({ "content-type": "application/json", "connect-protocol-version": "1", ...(auth ? { authorization: `Bearer ${token}` } : {}) });
  const grpcBody = <D extends DescMessage>(schema: D, msg: MessageInitShape<D>) => grpcFrame(toBinary(schema, create(schema, msg)));
  const jsonBody = <D extends DescMessage>(schema: D, msg: MessageInitShape<D>) => toJsonString(schema, create(schema, msg));
  const path = (service: { typeName: string }, method: string) => `/${service.typeName}/${method}`;
  const grpc = "gRPC h2c";
  const connectJson = "Connect JSON HTTP/1.1";
  const h2 = { h1: false, connections, streams, callsPerUnit: 1, decisionsPerCall: 1 } as const;
  const h1 = { h1: true, connections: h1Connections, streams: 1, callsPerUnit: 1, decisionsPerCall: 1 } as const;

  const allWorkloads: Workload[] = [
    {
      ...h2,
      kind: "bare-noop",
      call: "bare connect-node Health/Check",
      protocol: grpc,
      headers: grpcHeaders(false),
      lanes: [{ urls: [bareH2c + path(Health, "Check")], body: grpcBody(HealthCheckRequestSchema, health) }],
      verify: async () => check((await createClient(Health, grpcTo(bareH2c, false)).check(health)).status === HealthCheckResponse_ServingStatus.SERVING, "bare Health/Check over gRPC"),
    },
    {
      ...h2,
      kind: "noop",
      call: "Gatehouse Health/Check (no-op)",
      protocol: grpc,
      headers: grpcHeaders(false),
      methods: ["grpc.health.v1.Health/Check"],
      lanes: [{ urls: [baseUrl + path(Health, "Check")], body: grpcBody(HealthCheckRequestSchema, health) }],
      verify: async () => check((await createClient(Health, grpcTo(baseUrl, false)).check(health)).status === HealthCheckResponse_ServingStatus.SERVING, "Gatehouse Health/Check over gRPC"),
    },
    {
      ...h2,
      kind: "runaway",
      call: `Gatehouse Health/Check (no-op) beside ${runaways} runaway macros`,
      protocol: grpc,
      headers: grpcHeaders(false),
      methods: ["grpc.health.v1.Health/Check"],
      lanes: [{ urls: [baseUrl + path(Health, "Check")], body: grpcBody(HealthCheckRequestSchema, health) }],
      verify: async () => {
        const run = await createClient(MacrosService, grpcTo(baseUrl, true)).runMacro(create(RunMacroRequestSchema, { roomId, macroId: runawayIds[0]! }));
        check(run.outcome === Outcome.TIMEOUT, "a runaway macro times out");
      },
      beside: () => {
        // Each runaway is run again as soon as its run ends (at its timeout), so both keep a worker busy throughout.
        let running = true;
        const client = createClient(MacrosService, grpcTo(baseUrl, true));
        const loops = runawayIds.map(async (id) => {
          while (running) await client.runMacro(create(RunMacroRequestSchema, { roomId, macroId: id })).catch(() => sleep(100));
        });
        return async () => {
          running = false;
          await Promise.all(loops);
        };
      },
    },
    {
      ...h2,
      kind: "check",
      call: "UsersService/CheckPermission (self, allowed)",
      protocol: grpc,
      headers: grpcHeaders(true),
      methods: ["gatehouse.v1.UsersService/CheckPermission"],
      lanes: [{ urls: [baseUrl + path(UsersService, "CheckPermission")], body: grpcBody(CheckPermissionRequestSchema, checkReq) }],
      verify: async () => check((await createClient(UsersService, grpcTo(baseUrl, true)).checkPermission(checkReq)).allowed, "CheckPermission allowed over gRPC"),
    },
    {
      ...h2,
      kind: "checks",
      call: "UsersService/CheckPermissions (100 self-checks)",
      protocol: grpc,
      headers: grpcHeaders(true),
      decisionsPerCall: 100,
      methods: ["gatehouse.v1.UsersService/CheckPermissions"],
      lanes: [{ urls: [baseUrl + path(UsersService, "CheckPermissions")], body: grpcBody(CheckPermissionsRequestSchema, checksReq) }],
      verify: async () => {
        const results = (await createClient(UsersService, grpcTo(baseUrl, true)).checkPermissions(checksReq)).results;
        check(results.length === 100 && results.every((r) => r.allowed), "CheckPermissions: 100 results, all allowed");
      },
    },
    {
      ...h2,
      kind: "whoami",
      call: "AuthService/WhoAmI",
      protocol: grpc,
      headers: grpcHeaders(true),
      methods: ["gatehouse.v1.AuthService/WhoAmI"],
      lanes: [{ urls: [baseUrl + path(AuthService, "WhoAmI")], body: grpcBody(WhoAmIRequestSchema, whoAmIReq) }],
      verify: async () => check((await createClient(AuthService, grpcTo(baseUrl, true)).whoAmI(whoAmIReq)).user?.username === "bench-user", "WhoAmI answers the user"),
    },
    {
      ...h2,
      streams: macroStreams,
      kind: "run-macro",
      call: `MacrosService/RunMacro (one-line macro; ${connections} × ${macroStreams} streams)`,
      protocol: grpc,
      headers: grpcHeaders(true),
      methods: ["gatehouse.v1.MacrosService/RunMacro"],
      lanes: [{ urls: [baseUrl + path(MacrosService, "RunMacro")], body: grpcBody(RunMacroRequestSchema, runReq) }],
      verify: async () => check((await createClient(MacrosService, grpcTo(baseUrl, true)).runMacro(runReq)).outcome === Outcome.OK, "RunMacro outcome OK"),
    },
    {
      // One call in flight per lane, each lane its own target: h2load sends
      // its URLs round-robin per connection, so each lane alternates
      // AcquireLock and ReleaseLock of its target; AcquireLockRequest and
      // ReleaseLockRequest have the same fields, so one body serves both.
      kind: "lock",
      call: `LocksService/AcquireLock + ReleaseLock (${lockLanes} lanes × 1)`,
      protocol: grpc,
      h1: false,
      connections: 1,
      streams: 1,
      callsPerUnit: 2,
      decisionsPerCall: 1,
      headers: grpcHeaders(true),
      methods: ["gatehouse.v1.LocksService/AcquireLock", "gatehouse.v1.LocksService/ReleaseLock"],
      lanes: lockReqs.map((req) => ({
        urls: [baseUrl + path(LocksService, "AcquireLock"), baseUrl + path(LocksService, "ReleaseLock")],
        body: grpcFrame(toBinary(AcquireLockRequestSchema, req)),
      })),
      verify: async () => {
        const locks = createClient(LocksService, grpcTo(baseUrl, true));
        for (const req of lockReqs) {
          const release = create(ReleaseLockRequestSchema, { roomId: req.roomId, target: req.target });
          check(Buffer.from(toBinary(AcquireLockRequestSchema, req)).equals(toBinary(ReleaseLockRequestSchema, release)), "AcquireLock and ReleaseLock bodies alike");
          check((await locks.acquireLock(req)).lock?.target === req.target, "AcquireLock answers the lock");
          await locks.releaseLock(release);
        }
      },
    },
    {
      ...h1,
      kind: "bare-noop",
      call: "bare connect-node Health/Check",
      protocol: connectJson,
      headers: connectHeaders(false),
      lanes: [{ urls: [bareH1 + path(Health, "Check")], body: jsonBody(HealthCheckRequestSchema, health) }],
      verify: async () => check((await createClient(Health, connectTo(bareH1, false)).check(health)).status === HealthCheckResponse_ServingStatus.SERVING, "bare Health/Check over Connect"),
    },
    {
      ...h1,
      kind: "noop",
      call: "Gatehouse Health/Check (no-op)",
      protocol: connectJson,
      headers: connectHeaders(false),
      methods: ["grpc.health.v1.Health/Check"],
      lanes: [{ urls: [baseUrl + path(Health, "Check")], body: jsonBody(HealthCheckRequestSchema, health) }],
      verify: async () => check((await createClient(Health, connectTo(baseUrl, false)).check(health)).status === HealthCheckResponse_ServingStatus.SERVING, "Gatehouse Health/Check over Connect"),
    },
    {
      ...h1,
      kind: "check",
      call: "UsersService/CheckPermission (self, allowed)",
      protocol: connectJson,
      headers: connectHeaders(true),
      methods: ["gatehouse.v1.UsersService/CheckPermission"],
      lanes: [{ urls: [baseUrl + path(UsersService, "CheckPermission")], body: jsonBody(CheckPermissionRequestSchema, checkReq) }],
      verify: async () => check((await createClient(UsersService, connectTo(baseUrl, true)).checkPermission(checkReq)).allowed, "CheckPermission allowed over Connect"),
    },
    {
      ...h1,
      kind: "whoami",
      call: "AuthService/WhoAmI",
      protocol: connectJson,
      headers: connectHeaders(true),
      methods: ["gatehouse.v1.AuthService/WhoAmI"],
      lanes: [{ urls: [baseUrl + path(AuthService, "WhoAmI")], body: jsonBody(WhoAmIRequestSchema, whoAmIReq) }],
      verify: async () => check((await createClient(AuthService, connectTo(baseUrl, true)).whoAmI(whoAmIReq)).user?.username === "bench-user", "WhoAmI over Connect answers the user"),
    },
  ];
  const workloads = allWorkloads.filter((w) => !only || w.kind === "noop" || only.has(w.kind));

  // Each call checked once with a real client, before any load.
  for (const w of workloads) await w.verify();
  console.log(`checked each call once with a real client (gRPC status OK, answer as expected): ${workloads.length} workloads`);

  // Resident memory after start and one call of each.
  const waitMs = gatehouseStarted + rssWaitSeconds * 1000 - Date.now();
  if (waitMs > 0) {
    console.log(`waiting ${(waitMs / 1000).toFixed(0)} s to read Gatehouse's resident memory ${rssWaitSeconds} s after its start…`);
    await sleep(waitMs);
  }
  const rssAfterStart = rssMiB(gh.child.pid!);
  const rssAtSeconds = (Date.now() - gatehouseStarted) / 1000;

  // The loads.
  const bodyFiles = new Map<Lane, string>();
  let fileSeq = 0;
  const bodyFile = (lane: Lane) => {
    if (!bodyFiles.has(lane)) {
      const file = join(work, `body-${fileSeq++}`);
      writeFileSync(file, lane.body);
      bodyFiles.set(lane, file);
    }
    return bodyFiles.get(lane)!;
  };
  /** drive runs a workload's lanes at once (each `n` calls) and merges them. */
  const drive = async (w: Workload, n: number): Promise<H2loadResult[]> => {
    const perLane = Math.max(w.callsPerUnit, Math.ceil(n / w.lanes.length / w.callsPerUnit) * w.callsPerUnit);
    return Promise.all(
      w.lanes.map((lane, i) =>
        runH2load(
          { urls: lane.urls, requests: perLane, connections: w.connections, streams: w.streams, bodyFile: bodyFile(lane), headers: w.headers, h1: w.h1, logFile: join(work, `log-${fileSeq++}-${i}`) },
          runTimeoutMs,
        ),
      ),
    );
  };
  if (memoryMode) {
    // Resident memory over many mixed calls: every Gatehouse gRPC row in turn, in chunks, memory read after each.
    const mixed = workloads.filter((w) => !w.h1 && w.kind !== "bare-noop" && !w.beside);
    const perChunk = Math.ceil(memoryCalls / memorySamples);
    const samples: Array<{ calls: number; mib: number }> = [];
    let done = 0;
    let problems = 0;
    while (done < memoryCalls) {
      for (const w of mixed) {
        const results = await drive(w, Math.ceil(perChunk / mixed.length));
        for (const r of results) {
          done += r.summary.succeeded;
          problems += r.summary.failed + r.summary.errored + r.summary.timeout;
        }
      }
      samples.push({ calls: done, mib: rssMiB(gh.child.pid!) });
      console.log(`${done.toLocaleString("en-US")} calls: ${samples.at(-1)!.mib.toFixed(0)} MiB`);
    }
    const first = samples[0]!.mib;
    const last = samples.at(-1)!.mib;
    const worst = Math.max(...samples.map((x) => Math.abs(x.mib - first) / first));
    console.log(`\n## Resident memory over mixed calls — ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`);
    console.log(`\nmachine: ${availableParallelism()} cores, load average at the end ${loadavg().map((l) => l.toFixed(2)).join(" ")}; node ${process.version}; ${databaseUrl ? "PostgreSQL" : "embedded PGlite"}, ${redisUp ? "three Redis nodes" : "no Redis"}`);
    console.log(`mixed calls: ${mixed.map((w) => w.kind).join(", ")} in turn over gRPC h2c, ${connections} × ${streams} streams (RunMacro × ${macroStreams}, locks ${lockLanes} lanes); ${problems} failed or errored`);
    console.log("\n| after | resident memory (VmRSS) |\n|---|---:|");
    console.log(`| start + ${rssAtSeconds.toFixed(0)} s, one call of each | ${rssAfterStart.toFixed(0)} MiB (${(rssAfterStart * 1.048576).toFixed(0)} MB) |`);
    for (const x of samples) console.log(`| ${x.calls.toLocaleString("en-US")} mixed calls | ${x.mib.toFixed(0)} MiB (${(x.mib * 1.048576).toFixed(0)} MB) |`);
    console.log(
      `\nflat over the mixed calls (every reading within ±10% of the first, after ${samples[0]!.calls.toLocaleString("en-US")} calls): ${worst <= 0.1 ? "met" : "not met"} (largest difference ${(100 * worst).toFixed(1)}%; last ${last.toFixed(0)} MiB, ${(100 * (last / first - 1)).toFixed(1)}% from the first; ${(100 * (last / rssAfterStart - 1)).toFixed(1)}% from the reading at start)`,
    );
    console.log(`memory ≤ 250 MB ${rssAtSeconds.toFixed(0)} s after start: ${rssAfterStart * 1.048576 <= 250 ? "met" : "not met"} (${(rssAfterStart * 1.048576).toFixed(0)} MB)`);
    console.log(`errors Gatehouse logged: ${serverErrorCount}`);
  } else {
    const measured = new Map<Workload, Measured>(
      workloads.map((w) => [w, { answered: 0, seconds: 0, latenciesMs: [], failed: 0, errored: 0, timeout: 0, non2xx: 0, notOk: {}, unseen: 0 }]),
    );
    for (let round = 1; round <= rounds; round++) {
      for (const w of workloads) {
        const stopBeside = w.beside?.();
        let before: Map<string, Map<string, number>> | undefined;
        let results: H2loadResult[];
        try {
          if (stopBeside) await sleep(500); // the runaways under way before any call is measured
          if (warmupCalls > 0) await drive(w, warmupCalls);
          before = w.methods ? await scrapeCalls(baseUrl) : undefined;
          results = await drive(w, calls);
        } finally {
          await stopBeside?.();
        }
        const m = measured.get(w)!;
        for (const r of results) {
          const s = r.summary;
          m.answered += s.succeeded;
          m.failed += s.failed;
          m.errored += s.errored;
          m.timeout += s.timeout;
          m.non2xx += s.status["3xx"] + s.status["4xx"] + s.status["5xx"];
          m.latenciesMs.push(...r.latenciesMs);
        }
        m.seconds += Math.max(...results.map((r) => r.summary.seconds));
        if (before && w.methods) {
          const seen = callsBetween(before, await scrapeCalls(baseUrl), w.methods);
          for (const [k, v] of Object.entries(seen.notOk)) m.notOk[k] = (m.notOk[k] ?? 0) + v;
          const sent = results.reduce((s, r) => s + r.summary.succeeded, 0);
          m.unseen += Math.max(0, sent - seen.ok - Object.values(seen.notOk).reduce((a, b) => a + b, 0));
        }
        const perSecond = results.reduce((s, r) => s + r.summary.succeeded, 0) / Math.max(...results.map((r) => r.summary.seconds));
        console.log(`round ${round}/${rounds}: ${w.call}, ${w.protocol}: ${perSecond.toFixed(0)} calls/s`);
      }
    }
    const rssAfterLoad = rssMiB(gh.child.pid!);

    // The table.
    const rows: Row[] = workloads.map((w) => {
      const m = measured.get(w)!;
      const sorted = m.latenciesMs.sort((a, b) => a - b);
      const notOk = Object.values(m.notOk).reduce((a, b) => a + b, 0);
      return {
        kind: w.kind,
        call: w.call,
        protocol: w.protocol,
        // Calls answered OK: a gRPC error is an HTTP 200 too, so the server's count of non-OK codes is taken off.
        perSecond: Math.max(0, m.answered - notOk) / w.callsPerUnit / m.seconds,
        unit: w.callsPerUnit === 2 ? "round trips/s" : "calls/s",
        decisionsPerCall: w.decisionsPerCall,
        p50Ms: percentile(sorted, 50),
        p99Ms: percentile(sorted, 99),
        problems: m.failed + m.errored + m.timeout + m.non2xx + notOk,
      };
    });
    const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
    console.log(`\n## Measured from outside — ${startedAt.toISOString().slice(0, 16).replace("T", " ")} UTC`);
    console.log(
      `\nmachine: ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB, load average at the end ${loadavg()
        .map((l) => l.toFixed(2))
        .join(" ")}; node ${process.version}; ${h2load}`,
    );
    console.log(
      `Gatehouse: \`node ${serverNodeArgs.join(" ")} --import tsx src/main.ts\` (as \`npm start\`) on ${databaseUrl ? "PostgreSQL (a fresh database on 127.0.0.1:5432, dropped after)" : "embedded PGlite (PostgreSQL on 127.0.0.1:5432 not reachable)"}, ${redisUp ? "three Redis nodes (6379, 6380, 6381)" : "no Redis (a node of 6379/6380/6381 not reachable: embedded mode, in-process locks, limits and revocation)"}`,
    );
    console.log(`rate limits on and counting, raised not to refuse: ${Object.entries(limits).map(([k, v]) => `${k.replace("GATEHOUSE_", "")}=${v}`).join(", ")}; global policy max_runs_per_minute=10000000`);
    console.log(
      `load: h2load, ${rounds} round(s) × ${calls.toLocaleString("en-US")} calls per row (after ${warmupCalls.toLocaleString("en-US")} unmeasured), rows in turn each round; gRPC on h2c: ${connections} connections × ${streams} streams (RunMacro × ${macroStreams}); Connect JSON on HTTP/1.1: ${h1Connections} connections × 1; locks: ${lockLanes} lanes × 1 call in flight, p50/p99 per call; p50/p99 from h2load's per-request log`,
    );
    console.log("");
    console.log(markdownTable(report(rows)));
    console.log(
      `\nresident memory of the Gatehouse process (VmRSS, worker threads included): ${rssAfterStart.toFixed(0)} MiB (${(rssAfterStart * 1.048576).toFixed(0)} MB) ${rssAtSeconds.toFixed(0)} s after start and one call of each (target ≤ 250 MB with PostgreSQL and Redis: ${rssAfterStart * 1.048576 <= 250 ? "met" : "not met"}${databaseUrl && redisUp ? "" : "; this run was not on PostgreSQL and Redis"}); ${rssAfterLoad.toFixed(0)} MiB after the loads`,
    );
    console.log("\nfailed or non-OK calls under load (h2load failed/errored/timeout/non-2xx; gRPC codes other than OK counted by Gatehouse's /metrics):");
    for (const w of workloads) {
      const m = measured.get(w)!;
      const codes = Object.entries(m.notOk).map(([k, v]) => `${k}: ${v}`).join(", ");
      console.log(
        `  ${w.call}, ${w.protocol}: ${m.failed} failed, ${m.errored} errored, ${m.timeout} timeout, ${m.non2xx} non-2xx${w.methods ? `; non-OK codes: ${codes || "none"}${m.unseen ? `; ${m.unseen} answered calls not counted by the server` : ""}` : " (bare server: status checked once before the load)"}`,
      );
    }
    console.log(`\nerrors Gatehouse logged: ${serverErrorCount}${serverErrors.length ? ` (first ${serverErrors.length}):` : ""}`);
    for (const line of serverErrors) console.log(`  ${line}`);
  }
} catch (err) {
  console.error(`bench/outside failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
