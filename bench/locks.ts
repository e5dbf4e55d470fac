/**
 * bench/locks measures lock round trips (acquire + release, one at a time)
 * through the Redlock lock manager over three Redis nodes, beside a raw
 * ioredis `SET NX PX` + `DEL` on one node, and their ratio. For reference it
 * also times the `redlock` package's own acquire + release over the same
 * nodes (no owner, no holder, no fencing token).
 *
 * It measures the LockManager directly: LocksService is not wired yet, so
 * the figure through the RPC (issue 5) is still to come and will be lower.
 *
 * Run: node --import tsx bench/locks.ts
 * Env: BENCH_MS (per case, default 3000), BENCH_REDIS_PORTS (default 6379,6380,6381).
 */
import { randomBytes } from "node:crypto";
import { Redis } from "ioredis";
import { createMemoryFencingCounter } from "../src/locks/fencing.js";
import { createRedisFencingCounter } from "../src/locks/redis-fencing.js";
import { createRedlockManager } from "../src/locks/redlock-manager.js";

import { headline } from "./lib.js";
import { startBenchServer } from "./server.js";

const measureMs = Number(process.env.BENCH_MS ?? 3000);
const ports = (process.env.BENCH_REDIS_PORTS ?? "6379,6380,6381").split(",").map(Number);
const prefix = `bench:locks:${randomBytes(4).toString("hex")}:`;

/** Result is one case's figures. */
interface Result {
  name: string;
  ops: number;
  perSecond: number;
  meanMs: number;
  p50Ms: number;
  p99Ms: number;
}

/** measure runs `op` one at a time for measureMs (after a short warm-up) and times each call. */
async function measure(name: string, op: (i: number) => Promise<unknown>): Promise<Result> {
  for (let i = 0; i < 200; i++) await op(i);
  const samples: number[] = [];
  const start = process.hrtime.bigint();
  const end = start + BigInt(measureMs) * 1_000_000n;
  let now = start;
  for (let i = 0; now < end; i++) {
    await op(i);
    const t = process.hrtime.bigint();
    samples.push(Number(t - now) / 1e6);
    now = t;
  }
  const totalMs = Number(now - start) / 1e6;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return {
    name,
    ops: samples.length,
    perSecond: (samples.length / totalMs) * 1000,
    meanMs: totalMs / samples.length,
    p50Ms: at(0.5),
    p99Ms: at(0.99),
  };
}

const clients = ports.map((port) => new Redis({ host: "127.0.0.1", port, enableOfflineQueue: false, lazyConnect: true }));
await Promise.all(clients.map((c) => c.connect()));
const version = (await clients[0]!.info("server")).match(/redis_version:(\S+)/)?.[1] ?? "?";

const owner = { id: "u-bench", name: "Bench" };
const scope = "tenant-bench/room-bench";
const raw = clients[0]!;
const rawKey = `${prefix}raw`;
const withMemoryToken = createRedlockManager(clients, { prefix, fencing: createMemoryFencingCounter() });
const withRedisToken = createRedlockManager(clients, { prefix, fencing: createRedisFencingCounter(clients, { prefix }) });

// Not `import Redlock from "redlock"`: tsx applies tsconfig `paths`, which map
// "redlock" to its .d.ts for the type checker, and loads that as a class with
// no methods. Import the ESM build by file URL instead.
const { default: Redlock } = (await import(
  new URL("../node_modules/redlock/dist/esm/index.js", import.meta.url).href
)) as typeof import("redlock");
const redlock = new Redlock(clients, { retryCount: 0 });

const results: Result[] = [];
try {
  results.push(
    await measure("raw SET NX PX + DEL, 1 node", async () => {
      if ((await raw.set(rawKey, "x", "PX", 60_000, "NX")) !== "OK") throw new Error("raw key was taken");
      await raw.del(rawKey);
    }),
  );
  results.push(
    await measure(`redlock package, ${ports.length} nodes (reference)`, async () => {
      const lock = await redlock.acquire([`${prefix}redlock`], 60_000);
      await lock.release();
    }),
  );
  results.push(
    await measure(`manager, ${ports.length} nodes, in-memory tokens`, async () => {
      await withMemoryToken.acquire(scope, "macro/a", owner, 60_000);
      await withMemoryToken.release(scope, "macro/a", owner.id);
    }),
  );
  results.push(
    await measure(`manager, ${ports.length} nodes, Redis tokens`, async () => {
      await withRedisToken.acquire(scope, "macro/b", owner, 60_000);
      await withRedisToken.release(scope, "macro/b", owner.id);
    }),
  );
  // Through the RPC: AcquireLock + ReleaseLock over gRPC, Postgres fencing
  // tokens, audit records, the whole interceptor chain.
  const server = await startBenchServer();
  try {
    const admin = server.client(server.adminToken);
    const room = await admin.rooms.createRoom({ name: "bench-locks" });
    const roomId = room.room!.roomId;
    // A lock target is a macro or repo of the room.
    const [macro] = (await admin.macros.updateMacros({ roomId, macros: [{ name: "lock-target", code: "export default function () { return null; }" }] })).macros;
    const target = `macro/${macro!.macroId}`;
    results.push(
      await measure(`AcquireLock + ReleaseLock via gRPC, ${ports.length} nodes`, async () => {
        await admin.locks.acquireLock({ roomId, target });
        await admin.locks.releaseLock({ roomId, target });
      }),
    );
  } finally {
    await server.close();
  }
} finally {
  await withMemoryToken.close();
  await withRedisToken.close();
  for (const c of clients) {
    const keys = await c.keys(`${prefix}*`);
    if (keys.length > 0) await c.del(...keys);
  }
  await Promise.all(clients.map((c) => c.quit()));
}

const base = results[0]!.perSecond;
console.log(`bench/locks — acquire+release round trips, sequential (one in flight), ${measureMs} ms per case`);
console.log(`through the LockManager directly and through the RPC (last row)`);
console.log(`node ${process.version}, redis ${version}, ports ${ports.join(",")}\n`);
const rows = results.map((r) => [
  r.name,
  r.perSecond.toFixed(0),
  r.meanMs.toFixed(3),
  r.p50Ms.toFixed(3),
  r.p99Ms.toFixed(3),
  (r.perSecond / base).toFixed(2),
]);
const header = ["case", "round trips/s", "mean ms", "p50 ms", "p99 ms", "vs raw"];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => row[i]!.length)));
const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
console.log(line(header));
console.log(widths.map((w) => "-".repeat(w)).join("  "));
for (const row of rows) console.log(line(row));
const rpc = results.find((r) => r.name.startsWith("AcquireLock"));
const manager = results.find((r) => r.name.includes("Redis tokens"));
if (manager) headline("locks: lock manager acquire+release, 3 nodes", manager.perSecond, "round trips/s", "", `${(manager.perSecond / base).toFixed(2)} × raw SET NX + DEL`);
if (rpc) headline("locks: AcquireLock + ReleaseLock via gRPC", rpc.perSecond, "round trips/s", "", `p99 ${rpc.p99Ms.toFixed(2)} ms; ${(rpc.perSecond / base).toFixed(2)} × raw`);
