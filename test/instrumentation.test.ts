import { afterAll, describe, expect, it } from "vitest";
import { instrumentLocks, instrumentSandbox } from "../src/instrumentation.js";
import { LockedError } from "../src/locks/errors.js";
import { createMemoryFencingCounter } from "../src/locks/fencing.js";
import { createMemoryLockManager } from "../src/locks/memory-manager.js";
import { createMetrics } from "../src/metrics.js";
import { createSandboxPool } from "../src/sandbox/index.js";
import { request } from "./sandbox/helpers.js";

/** sample answers the value of one series line of the exposition text, or undefined. */
async function sample(metrics: ReturnType<typeof createMetrics>, series: string): Promise<number | undefined> {
  const text = await metrics.registry.metrics();
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("instrumentLocks", () => {
  it("counts granted acquisitions and conflicts with another holder", async () => {
    const metrics = createMetrics();
    const locks = instrumentLocks(createMemoryLockManager({ fencing: createMemoryFencingCounter() }), metrics);
    await locks.acquire("t/r", "macro/m", { id: "a", name: "A" }, 60_000);
    await locks.acquire("t/r", "macro/m", { id: "a", name: "A" }, 60_000);
    await expect(locks.acquire("t/r", "macro/m", { id: "b", name: "B" }, 60_000)).rejects.toBeInstanceOf(LockedError);
    expect(await sample(metrics, "gatehouse_lock_acquisitions_total")).toBe(2);
    expect(await sample(metrics, "gatehouse_lock_conflicts_total")).toBe(1);
    // The other methods still reach the manager.
    expect((await locks.get("t/r", "macro/m"))?.ownerId).toBe("a");
    await locks.close();
  });
});

describe("instrumentSandbox", () => {
  const metrics = createMetrics();
  const pool = instrumentSandbox(createSandboxPool({ size: 1 }), metrics);
  afterAll(() => pool.close());

  it("counts and times runs by outcome and exports the pool's saturation", async () => {
    expect((await pool.run(request("export default () => 1 + 1"))).outcome).toBe("ok");
    expect((await pool.run(request("export default () => { throw new Error('no') }"))).outcome).toBe("error");
    expect(await sample(metrics, 'gatehouse_macro_runs_total{outcome="ok"}')).toBe(1);
    expect(await sample(metrics, 'gatehouse_macro_runs_total{outcome="error"}')).toBe(1);
    expect(await sample(metrics, 'gatehouse_macro_run_duration_seconds_count{outcome="ok"}')).toBe(1);
    expect(await sample(metrics, "gatehouse_sandbox_workers")).toBe(1);
    expect(await sample(metrics, "gatehouse_sandbox_workers_busy")).toBe(0);
    expect(await sample(metrics, "gatehouse_sandbox_queue_length")).toBe(0);
  });
});
