import { describe, expect, it } from "vitest";
import { createLocalBus } from "../../src/shared-state/bus.js";
import { createMacroCache } from "../../src/macros/macro-cache.js";
import type { MacroRecord } from "../../src/store/macros.js";

const row = (id: string, code: string): MacroRecord => ({
  id, tenantId: "t", roomId: "r", name: id, code, version: 1, sourceKind: "manual", sourceRepoId: null, sourceCommit: null,
  sourcePath: null, fencingToken: 0n, createdBy: null, updatedBy: null, createdAt: new Date(0), updatedAt: new Date(0),
});

describe("macro cache", () => {
  it("answers a cached row until its TTL or a change of its room", async () => {
    let t = 0;
    const cache = createMacroCache(createLocalBus(), { ttlMs: 1000, now: () => t });
    cache.set(row("m1", "a"), cache.epoch("t", "r"));
    expect(cache.get("t", "r", "m1")?.code).toBe("a");
    t = 1000;
    expect(cache.get("t", "r", "m1")).toBeUndefined();
    cache.set(row("m1", "b"), cache.epoch("t", "r"));
    await cache.roomChanged("t", "r");
    expect(cache.get("t", "r", "m1")).toBeUndefined();
  });

  it("does not cache a row loaded before a change that raced it", async () => {
    const bus = createLocalBus();
    const cache = createMacroCache(bus);
    const epoch = cache.epoch("t", "r");
    await bus.publish("macros", "t:r"); // another replica changed the room while we loaded
    cache.set(row("m1", "stale"), epoch);
    expect(cache.get("t", "r", "m1")).toBeUndefined();
  });
});
