import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createSandboxEngine } from "../../src/sandbox/engine.js";
import { createSandboxPool, type RunResult, type SandboxPool } from "../../src/sandbox/index.js";
import { mib, request, whenIdle } from "./helpers.js";

const MIB = 1024 * 1024;
const MEMORY_LIMIT = 32 * MIB;
const DEADLINE_MS = 2000;

const BOMBS: Record<string, string> = {
  arrays: `export default function () { const a = []; while (true) a.push(new Array(1000).fill(1)); }`,
  strings: `export default function () { const a = []; for (let i = 0; ; i++) a.push("x".repeat(1000) + i); }`,
  objects: `export default function () { const a = []; for (let i = 0; ; i++) a.push({ i, s: [i, i] }); }`,
  doubling: `export default function () { let s = "x"; const keep = []; while (true) { s = s.repeat(2); keep.push(s); } }`,
  "one huge allocation": `export default function () { return "x".repeat(2 ** 29).length; }`,
  "caught and retried": `export default function () { const keep = []; for (;;) { try { while (true) keep.push(new Array(1000).fill(1)); } catch {} } }`,
};

let pool: SandboxPool;

beforeAll(async () => {
  pool = createSandboxPool({ size: 2 });
  await whenIdle(pool);
});

afterAll(async () => {
  await pool.close();
});

/** runSampling runs a request while sampling the process's RSS every few milliseconds. */
async function runSampling(code: string): Promise<{ result: RunResult; elapsed: number; peakRss: number }> {
  let peakRss = process.memoryUsage.rss();
  const sampler = setInterval(() => {
    peakRss = Math.max(peakRss, process.memoryUsage.rss());
  }, 5);
  const started = performance.now();
  try {
    const result = await pool.run(request(code, { limits: { timeoutMs: DEADLINE_MS, memoryLimitBytes: MEMORY_LIMIT } }));
    return { result, elapsed: performance.now() - started, peakRss: Math.max(peakRss, process.memoryUsage.rss()) };
  } finally {
    clearInterval(sampler);
  }
}

async function settledRss(): Promise<number> {
  await whenIdle(pool);
  await sleep(300);
  return process.memoryUsage.rss();
}

describe("memory: a memory bomb is bounded and its memory returned", () => {
  it.each(Object.entries(BOMBS))("answers memory_limit for %s within twice the deadline, RSS bounded", async (name, code) => {
    const before = await settledRss();
    const recycledBefore = pool.stats().recycled;
    const { result, elapsed, peakRss } = await runSampling(code);
    const after = await settledRss();
    console.log(
      `bomb "${name}": ${result.outcome} in ${elapsed.toFixed(0)} ms; RSS before ${mib(before)}, peak +${mib(peakRss - before)}, ` +
        `after recycling ${mib(after)} (${after >= before ? "+" : ""}${mib(after - before)}); reported ${mib(result.memoryUsedBytes)}`,
    );
    expect(result.outcome).toBe("memory_limit");
    expect(result.errorMessage).toMatch(/memory limit/);
    expect(elapsed).toBeLessThan(2 * DEADLINE_MS);
    expect(peakRss - before).toBeLessThan(MEMORY_LIMIT + 64 * MIB);
    expect(pool.stats().recycled).toBe(recycledBefore + 1);
    expect(after - before).toBeLessThan(24 * MIB);
    expect((await pool.run(request(`export default function () { return "fine"; }`))).output).toBe("fine");
  });

  it("lets a run use memory within its limit, and keeps the worker when its heap stays small", async () => {
    const recycledBefore = pool.stats().recycled;
    // memoryUsedBytes is what the run still holds at its end: here, through a global.
    const result = await pool.run(
      request(`export default function () { const a = []; for (let i = 0; i < 100000; i++) a.push({ i }); globalThis.keep = a; return a.length; }`, {
        limits: { memoryLimitBytes: MEMORY_LIMIT },
      }),
    );
    expect(result).toMatchObject({ outcome: "ok", output: 100000 });
    expect(result.memoryUsedBytes).toBeGreaterThan(2 * MIB);
    expect(result.memoryUsedBytes).toBeLessThan(MEMORY_LIMIT);
    expect(pool.stats().recycled).toBe(recycledBefore);
  });
});

describe("memory: the WebAssembly memory's fixed maximum", () => {
  it("bounds the heap even when a run's limit is above it", async () => {
    const engine = await createSandboxEngine({ maxHeapBytes: 40 * MIB, maxHostPayloadBytes: MIB });
    expect(engine.module.getWasmMemory().buffer.byteLength).toBe(16 * MIB);
    const result = await engine.run(
      {
        runId: 1,
        code: BOMBS.arrays!,
        inputJson: "null",
        ctxJson: "null",
        limits: { timeoutMs: 5000, memoryLimitBytes: 1024 * MIB, maxStackBytes: 256 * 1024, maxOutputBytes: 1024, maxHostCalls: 0 },
        allowedImports: [],
      },
      { call: () => Promise.reject(new Error("no host")) },
    );
    console.log(`bomb under a 1 GiB limit in a 40 MiB memory: ${result.outcome}, heap ${mib(result.heapBytes)}`);
    expect(result.outcome).toBe("memory_limit");
    expect(result.heapBytes).toBeLessThanOrEqual(40 * MIB);
    expect(result.tainted).toBe(true);
  });
});
