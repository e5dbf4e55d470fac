import { setTimeout as sleep } from "node:timers/promises";
import { describe, expect, it } from "vitest";
import { LockedError, LockUnavailableError } from "../../src/locks/errors.js";
import { createMemoryFencingCounter, type FencingCounter } from "../../src/locks/fencing.js";
import { createMemoryLockManager } from "../../src/locks/memory-manager.js";
import { describeLockManagerContract } from "./lock-manager-contract.js";

describeLockManagerContract("memory", async () => {
  let t = Date.now();
  const manager = createMemoryLockManager({ fencing: createMemoryFencingCounter(), now: () => t });
  return {
    managers: [manager],
    elapse: async (ms) => {
      t += ms;
    },
    close: () => manager.close(),
  };
});

describe("createMemoryLockManager", () => {
  it("does not let a second acquirer overtake one waiting for its fencing token", async () => {
    const counter = createMemoryFencingCounter();
    const slow: FencingCounter = { next: async (scope, target) => (await sleep(30), counter.next(scope, target)) };
    const locks = createMemoryLockManager({ fencing: slow });
    const [a, b] = await Promise.allSettled([
      locks.acquire("t/r", "macro/m", { id: "a", name: "A" }, 60_000),
      locks.acquire("t/r", "macro/m", { id: "b", name: "B" }, 60_000),
    ]);
    expect(a.status).toBe("fulfilled");
    expect(b.status).toBe("rejected");
    const holder = (b as PromiseRejectedResult).reason as LockedError;
    expect(holder).toBeInstanceOf(LockedError);
    expect(holder.holder.fencingToken).toBe(1n);
    await locks.close();
  });

  it("holds nothing when the fencing counter fails", async () => {
    const broken: FencingCounter = { next: () => Promise.reject(new LockUnavailableError("counter down")) };
    const locks = createMemoryLockManager({ fencing: broken });
    await expect(locks.acquire("t/r", "macro/m", { id: "a", name: "A" }, 60_000)).rejects.toBeInstanceOf(LockUnavailableError);
    expect(await locks.get("t/r", "macro/m")).toBeUndefined();
    await locks.close();
  });

  it("refuses every call with LockUnavailableError once closed", async () => {
    const locks = createMemoryLockManager({ fencing: createMemoryFencingCounter() });
    await locks.close();
    await expect(locks.get("t/r", "macro/m")).rejects.toBeInstanceOf(LockUnavailableError);
    await expect(locks.acquire("t/r", "macro/m", { id: "a", name: "A" }, 1000)).rejects.toBeInstanceOf(LockUnavailableError);
  });
});

describe("createMemoryFencingCounter", () => {
  it("counts from 1, strictly increasing, separately per target and scope", async () => {
    const counter = createMemoryFencingCounter();
    expect(await counter.next("t/r", "macro/a")).toBe(1n);
    expect(await counter.next("t/r", "macro/a")).toBe(2n);
    expect(await counter.next("t/r", "macro/b")).toBe(1n);
    expect(await counter.next("t/r2", "macro/a")).toBe(1n);
    expect(await counter.next("t/r", "macro/a")).toBe(3n);
  });
});
