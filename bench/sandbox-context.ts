/**
 * bench/sandbox-context measures the macro sandbox: a fresh QuickJS runtime + context + tiny eval
 * + dispose in-process (the floor of a run), a whole in-process engine run of a trivial macro
 * (module loading, the seal, JSON in and out), and a trivial macro through the worker pool, one
 * at a time (latency) and with every worker busy (throughput), with and without a host call.
 *
 * Run: node --import tsx bench/sandbox-context.ts
 * Env: BENCH_MS (per case, default 2000), BENCH_POOL_SIZE (default: cores, at least 2).
 */
import { availableParallelism } from "node:os";
import { createSandboxEngine } from "../src/sandbox/engine.js";
import { createSandboxPool, type RunRequest, type SandboxLimits } from "../src/sandbox/index.js";
import { headline } from "./lib.js";

const measureMs = Number(process.env.BENCH_MS ?? 2000);
const poolSize = Number(process.env.BENCH_POOL_SIZE ?? Math.max(2, availableParallelism()));

const LIMITS: SandboxLimits = {
  timeoutMs: 1000,
  memoryLimitBytes: 32 * 1024 * 1024,
  maxStackBytes: 512 * 1024,
  maxOutputBytes: 64 * 1024,
  maxHostCalls: 1000,
};
const TRIVIAL = `export default function (input, ctx) { return { n: input.n + 1, caller: ctx.caller.id }; }`;
const WITH_HOST_CALL = `import { get } from "gatehouse:store";
export default async function (input) { const doc = await get("c", String(input.n)); return doc.n; }`;

/** Result is one case's figures. */
interface Result {
  name: string;
  ops: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
}

/** measure runs `op` with `concurrency` in flight for measureMs (after a warm-up) and times each call. */
async function measure(name: string, op: (i: number) => unknown, concurrency = 1): Promise<Result> {
  for (let i = 0; i < 50; i++) await op(i);
  const samples: number[] = [];
  const start = performance.now();
  const end = start + measureMs;
  let next = 0;
  const lane = async (): Promise<void> => {
    while (performance.now() < end) {
      const t = performance.now();
      await op(next++);
      samples.push(performance.now() - t);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, lane));
  const totalMs = performance.now() - start;
  samples.sort((a, b) => a - b);
  const at = (q: number) => samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
  return { name, ops: samples.length, perSecond: (samples.length / totalMs) * 1000, p50Ms: at(0.5), p99Ms: at(0.99) };
}

function print(results: Result[]): void {
  console.log(`${"case".padEnd(58)} ${"ops".padStart(7)} ${"ops/s".padStart(9)} ${"p50 ms".padStart(8)} ${"p99 ms".padStart(8)}`);
  for (const r of results) {
    console.log(
      `${r.name.padEnd(58)} ${String(r.ops).padStart(7)} ${r.perSecond.toFixed(0).padStart(9)} ` +
        `${r.p50Ms.toFixed(3).padStart(8)} ${r.p99Ms.toFixed(3).padStart(8)}`,
    );
  }
}

const results: Result[] = [];

const engine = await createSandboxEngine({ maxHeapBytes: 256 * 1024 * 1024, maxHostPayloadBytes: 1024 * 1024 });
results.push(
  await measure("in-process: fresh runtime+context, eval 1+1, dispose", () => {
    const runtime = engine.module.newRuntime();
    runtime.setMemoryLimit(LIMITS.memoryLimitBytes);
    runtime.setMaxStackSize(LIMITS.maxStackBytes);
    const context = runtime.newContext();
    const result = context.evalCode("1 + 1");
    context.unwrapResult(result).dispose();
    context.dispose();
    runtime.dispose();
  }),
);
results.push(
  await measure("in-process: engine run of a trivial macro", (i) =>
    engine.run(
      {
        runId: i,
        code: TRIVIAL,
        inputJson: JSON.stringify({ n: i }),
        ctxJson: JSON.stringify({ caller: { id: "u1" } }),
        limits: LIMITS,
        allowedImports: [],
      },
      { call: () => Promise.resolve({ ok: true, json: "null" }) },
    ),
  ),
);

const pool = createSandboxPool({ size: poolSize });
const request = (code: string, i: number): RunRequest => ({
  code,
  input: { n: i },
  ctx: { caller: { id: "u1" } },
  limits: LIMITS,
  allowedImports: ["gatehouse:store"],
  hostCall: async (_module, _fn, args) => ({ n: Number(args[1]) }),
});
const check = async (code: string, i: number): Promise<void> => {
  const result = await pool.run(request(code, i));
  if (result.outcome !== "ok") throw new Error(`bench run failed: ${result.outcome} ${result.errorMessage}`);
};
results.push(await measure("pool: trivial macro, one at a time", (i) => check(TRIVIAL, i)));
results.push(await measure(`pool: trivial macro, ${poolSize * 2} in flight (${poolSize} workers)`, (i) => check(TRIVIAL, i), poolSize * 2));
results.push(await measure("pool: macro with one store.get, one at a time", (i) => check(WITH_HOST_CALL, i)));
results.push(
  await measure(`pool: macro with one store.get, ${poolSize * 2} in flight`, (i) => check(WITH_HOST_CALL, i), poolSize * 2),
);
await pool.close();

console.log(`node ${process.version}, ${availableParallelism()} cores, ${measureMs} ms per case`);
print(results);
const single = results.find((r) => r.name === "pool: trivial macro, one at a time");
const busy = results.find((r) => r.name.startsWith("pool: trivial macro,") && r.name.includes("in flight"));
if (single) headline("sandbox: pool run of a trivial macro, one at a time, p50", single.p50Ms, "ms");
if (busy) headline(`sandbox: pool throughput, trivial macro (${poolSize} workers)`, busy.perSecond, "runs/s");
