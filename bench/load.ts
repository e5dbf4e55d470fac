/**
 * bench/load — the service under a mixed workload, then a soak:
 *  1. for BENCH_SECONDS (default 10), at once: CheckPermission and WhoAmI
 *     (reads), RunMacro (a trivial macro and one making a store call), lock
 *     churn (AcquireLock + ReleaseLock), and logins (argon2id) — each from
 *     its own concurrent callers over gRPC; calls/s, p50/p99 and errors per
 *     method, and the total;
 *  2. BENCH_RUNS (default 10,000) macro runs, 8 at a time, printing the
 *     process RSS every 1,000 runs: it must stay flat (target: the last
 *     reading within 10% of the one after the first 2,000 runs, which warm
 *     up the workers and caches).
 *
 * The server runs in this process (RSS covers it, its sandbox worker threads
 * and the load generator together) on the local PostgreSQL and Redis nodes.
 *
 * Run: node --import tsx bench/load.ts   (BENCH_SECONDS, BENCH_RUNS)
 */
import { Level, RoomRole } from "../gen/gatehouse/v1/common_pb.js";
import { drive, headline, table, type LoadResult } from "./lib.js";
import { startBenchServer } from "./server.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const runs = Number(process.env.BENCH_RUNS ?? 10_000);
const mib = (bytes: number) => bytes / 1024 / 1024;

const server = await startBenchServer({ GATEHOUSE_RUNS_PER_SECOND: "1000000", GATEHOUSE_SANDBOX_WORKERS: "2" });
try {
  const admin = server.client(server.adminToken);
  await admin.policies.updateGlobalPolicy({ policy: { maxRunsPerMinute: 10_000_000, timeoutMs: 1000 } });
  const roomId = (await admin.rooms.createRoom({ name: "bench-load" })).room!.roomId;
  const [trivial, storeCall] = (
    await admin.macros.updateMacros({
      roomId,
      macros: [
        { name: "trivial", code: "export default function (input) { return input; }" },
        { name: "store-get", code: 'import { get } from "gatehouse:store";\nexport default async function (input) { await get("bench", "k"); return input; }' },
      ],
    })
  ).macros;
  const roles = (await admin.roles.listRoles({})).roles;
  const password = "bench-user-password-1";
  const created = await admin.users.createUser({ username: "bench-user", password, level: Level.USER, roleIds: [roles.find((r) => r.name === "editor")!.roleId] });
  await admin.rooms.addRoomMember({ roomId, userId: created.user!.userId, role: RoomRole.EDITOR });
  const user = server.client((await server.client().auth.login({ tenant: "default", username: "bench-user", password })).accessToken);

  // 1. The mixed workload: every kind at once, each with its own callers.
  let lockSeq = 0;
  const opts = (concurrency: number) => ({ seconds, concurrency, warmupSeconds: 1 });
  const mixed: LoadResult[] = await Promise.all([
    drive("CheckPermission", () => user.users.checkPermission({ permission: "macros.run", roomId }), opts(6)),
    drive("WhoAmI", () => user.auth.whoAmI({}), opts(6)),
    drive("RunMacro (trivial)", () => user.macros.runMacro({ roomId, macroId: trivial!.macroId }), opts(3)),
    drive("RunMacro (store.get)", () => user.macros.runMacro({ roomId, macroId: storeCall!.macroId }), opts(2)),
    drive(
      "AcquireLock + ReleaseLock",
      async () => {
        const target = `macro/00000000-0000-4000-8000-${String(lockSeq++ % 64).padStart(12, "0")}`;
        await user.locks.acquireLock({ roomId, target });
        await user.locks.releaseLock({ roomId, target });
      },
      opts(2),
    ),
    drive("Login (argon2id)", () => server.client().auth.login({ tenant: "default", username: "bench-user", password }), opts(1)),
  ]);
  // Lock churn makes two calls per round trip.
  const calls = mixed.reduce((n, r) => n + r.calls * (r.name.startsWith("AcquireLock") ? 2 : 1), 0);
  const errors = mixed.reduce((n, r) => n + r.errors, 0);
  const elapsed = Math.max(...mixed.map((r) => r.seconds));
  console.log(`bench/load — node ${process.version}, gRPC over h2c, in-process server, ${seconds} s of everything at once`);
  table("mixed workload (each row its own concurrent callers, all running together)", mixed);
  console.log(`\ntotal: ${(calls / elapsed).toFixed(0)} calls/s, ${errors} errors`);

  // 2. The soak: RSS across many macro runs.
  console.log(`\nsoak: ${runs.toLocaleString("en-US")} RunMacro calls, 8 at a time (trivial and store.get alternating)`);
  console.log("| runs | RSS MiB | heap used MiB | sandbox workers killed/recycled |");
  console.log("|---:|---:|---:|---:|");
  const readings: Array<{ runs: number; rss: number }> = [];
  let done = 0;
  let soakErrors = 0;
  const soakStarted = performance.now();
  await Promise.all(
    Array.from({ length: 8 }, async (_, lane) => {
      while (done < runs) {
        const n = ++done;
        try {
          await user.macros.runMacro({ roomId, macroId: (n + lane) % 2 === 0 ? trivial!.macroId : storeCall!.macroId, input: n });
        } catch {
          soakErrors++;
        }
        if (n % 1000 === 0) {
          const { rss, heapUsed } = process.memoryUsage();
          const stats = server.gatehouse.deps.sandbox.stats();
          readings.push({ runs: n, rss });
          console.log(`| ${n} | ${mib(rss).toFixed(1)} | ${mib(heapUsed).toFixed(1)} | ${stats.killed}/${stats.recycled} |`);
        }
      }
    }),
  );
  const soakSeconds = (performance.now() - soakStarted) / 1000;
  const baseline = readings.find((r) => r.runs >= Math.min(2000, runs)) ?? readings[0];
  const last = readings[readings.length - 1];
  const growth = baseline && last ? (last.rss - baseline.rss) / baseline.rss : 0;
  console.log(
    `\nsoak: ${(runs / soakSeconds).toFixed(0)} runs/s, ${soakErrors} errors; RSS ${baseline ? mib(baseline.rss).toFixed(1) : "?"} MiB at ${baseline?.runs ?? "?"} runs → ${last ? mib(last.rss).toFixed(1) : "?"} MiB at ${last?.runs ?? "?"} (${(growth * 100).toFixed(1)}%, target within ±10%)`,
  );

  headline("load: mixed workload, total", calls / elapsed, "calls/s", "", `${errors} errors`);
  for (const r of mixed) headline(`load: ${r.name} p99`, r.p99Ms, "ms", "", `${r.perSecond.toFixed(0)} calls/s`);
  headline("load: errors in the mixed workload", errors, "", "= 0", "", errors === 0);
  headline(`load: RSS growth over ${runs.toLocaleString("en-US")} macro runs`, growth * 100, "%", "≤ 10%", `${soakErrors} errors`, Math.abs(growth) <= 0.1 && soakErrors === 0);
} finally {
  await server.close();
}
