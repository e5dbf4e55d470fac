/**
 * bench/macros — from one run:
 *  1. a fresh QuickJS runtime + context + tiny eval in-process (p50);
 *  2. RunMacro of a trivial macro through gRPC (p50, p99, calls/s) beside the
 *     bare no-op method (GetJwks), and their ratio (target ≥ 0.33);
 *  3. the no-op method's p99 while two runaway macros run beside it, versus
 *     idle (target ≤ 1.3×).
 *
 * Each comparison alternates its two workloads (A B A B A B, after a warm-up
 * round of each), so both see the same moments of a shared machine.
 *
 * The sandbox pool has its default size and nice value unless BENCH_WORKERS
 * or BENCH_NICE are set; beside the runaways, two nice-19 shell loops are measured the same way
 * as a reference for what any two spinning threads cost this machine.
 *
 * Run: node --import tsx bench/macros.ts   (BENCH_SECONDS, BENCH_ROUNDS, BENCH_CONCURRENCY, BENCH_WORKERS, BENCH_NICE)
 */
import { getQuickJS } from "quickjs-emscripten";
import { alternate, headline, table } from "./lib.js";
import { startBenchServer } from "./server.js";
import { spawn, type ChildProcess } from "node:child_process";
import { availableParallelism } from "node:os";
import { loadConfig } from "../src/config.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 2);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 8);

// 1. Fresh context + tiny eval, in-process.
const quickjs = await getQuickJS();
const samples: number[] = [];
for (let i = 0; i < 2000; i++) {
  const t = performance.now();
  const runtime = quickjs.newRuntime();
  const context = runtime.newContext();
  const result = context.evalCode("1 + 2");
  context.unwrapResult(result).dispose();
  context.dispose();
  runtime.dispose();
  samples.push(performance.now() - t);
}
samples.sort((a, b) => a - b);
const contextP50 = samples[Math.floor(samples.length / 2)]!;

// The pool as configured by default, unless BENCH_WORKERS says otherwise.
const workers = Number(process.env.BENCH_WORKERS ?? loadConfig({}).sandboxWorkers);
const nice = Number(process.env.BENCH_NICE ?? loadConfig({}).sandboxWorkerNice);
const server = await startBenchServer({
  GATEHOUSE_RUNS_PER_SECOND: "1000000",
  GATEHOUSE_SANDBOX_WORKERS: String(workers),
  GATEHOUSE_SANDBOX_WORKER_NICE: String(nice),
});
try {
  const client = server.client(server.adminToken);
  await client.policies.updateGlobalPolicy({ policy: { maxRunsPerMinute: 10_000_000, timeoutMs: 1000 } });
  const roomId = (await client.rooms.createRoom({ name: "bench-macros" })).room!.roomId;
  const [trivial, runaway] = (
    await client.macros.updateMacros({
      roomId,
      macros: [
        { name: "trivial", code: "export default function (input) { return 1; }" },
        { name: "runaway", code: "export default function () { while (true) {} }" },
      ],
    })
  ).macros;

  const noopCall = () => client.auth.getJwks({});
  const [noop, run] = await alternate(
    [
      { name: "GetJwks (no-op)", call: noopCall, concurrency },
      { name: "RunMacro (trivial)", call: () => client.macros.runMacro({ roomId, macroId: trivial!.macroId }), concurrency },
    ],
    { rounds, seconds },
  );
  // Two callers run the runaway macro back to back during each "busy" round.
  let runaways: Promise<void>[] = [];
  let stop = false;
  // Reference, not Gatehouse: two shell loops at nice 19 spinning beside the same calls show
  // what two busy threads cost this machine's tail by themselves.
  let loops: ChildProcess[] = [];
  const [idle, busy, shellLoops] = await alternate(
    [
      { name: "no-op p99, idle", call: noopCall, concurrency: 4 },
      {
        name: "no-op p99, 2 runaway macros submitted back to back",
        call: noopCall,
        concurrency: 4,
        setup: () => {
          stop = false;
          runaways = [0, 1].map(async () => {
            while (!stop) await client.macros.runMacro({ roomId, macroId: runaway!.macroId }).catch(() => undefined);
          });
        },
        teardown: async () => {
          stop = true;
          await Promise.all(runaways);
        },
      },
      {
        name: "reference: no-op p99 beside 2 nice-19 shell loops",
        call: noopCall,
        concurrency: 4,
        setup: () => {
          loops = [0, 1].map(() => spawn("nice", ["-n", "19", "sh", "-c", "while :; do :; done"], { stdio: "ignore" }));
        },
        teardown: () => {
          for (const loop of loops) loop.kill("SIGKILL");
        },
      },
    ],
    { rounds, seconds },
  );

  console.log(`bench/macros — node ${process.version}, ${availableParallelism()} cores, ${workers} sandbox workers at nice ${nice}, gRPC over h2c, ${concurrency} concurrent callers, ${rounds} alternating rounds of ${seconds} s per workload`);
  console.log(`\nfresh QuickJS runtime + context + eval "1 + 2", in-process: p50 ${contextP50.toFixed(3)} ms`);
  table("RunMacro beside the no-op method", [noop, run]);
  console.log(`\nratio RunMacro / no-op calls/s: ${(run.perSecond / noop.perSecond).toFixed(2)} (target ≥ 0.33)`);
  table(`no-op latency idle vs beside two runaway macros (1 s deadline each, back to back; ${workers} running at a time at most)`, [idle, busy, shellLoops]);
  console.log(`\nratio no-op p99 busy / idle: ${(busy.p99Ms / idle.p99Ms).toFixed(2)} (target ≤ 1.3)`);
  console.log(`reference ratio, two nice-19 shell loops / idle: ${(shellLoops.p99Ms / idle.p99Ms).toFixed(2)}`);
  headline("macros: fresh QuickJS context + eval, p50", contextP50, "ms");
  headline("macros: RunMacro (trivial)", run.perSecond, "calls/s", "", `p50 ${run.p50Ms.toFixed(2)} ms, p99 ${run.p99Ms.toFixed(2)} ms`);
  headline("macros: RunMacro / no-op calls/s", run.perSecond / noop.perSecond, "×", "≥ 0.33", "", run.perSecond / noop.perSecond >= 0.33);
  headline(
    "macros: no-op p99 beside 2 runaways / idle",
    busy.p99Ms / idle.p99Ms,
    "×",
    "≤ 1.3",
    `${idle.p99Ms.toFixed(2)} → ${busy.p99Ms.toFixed(2)} ms, ${workers} worker(s) at nice ${nice}; 2 shell loops: ${(shellLoops.p99Ms / idle.p99Ms).toFixed(2)}×`,
    busy.p99Ms / idle.p99Ms <= 1.3,
  );
} finally {
  await server.close();
}
