import { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockedError, LockUnavailableError } from "../../src/locks/errors.js";
import type { FencingCounter } from "../../src/locks/fencing.js";
import type { LockManager } from "../../src/locks/lock-manager.js";
import { createRedisFencingCounter } from "../../src/locks/redis-fencing.js";
import { createRedlockManager } from "../../src/locks/redlock-manager.js";
import { closeRedis, connectRedis, deletePrefix, ensureRedisNodes, pingRedis, randomPrefix, stopRedis, waitReady } from "../support/redis.js";

/**
 * FAULT_PORTS are three Redis masters of this file's own: stopping nodes of
 * the shared trio (6379–6381) would fail the other Redis test files, which
 * vitest runs in parallel. The file starts them if needed, restarts every node
 * it stopped in a `finally`, and stops in afterAll the ones it started.
 * Override with GATEHOUSE_TEST_FAULT_PORTS (three comma-separated ports).
 */
const FAULT_PORTS = (process.env.GATEHOUSE_TEST_FAULT_PORTS ?? "6391,6392,6393").split(",").map(Number);
const [, SECOND, THIRD] = FAULT_PORTS as [number, number, number];

const alice = { id: "u-alice", name: "Alice" };
const bob = { id: "u-bob", name: "Bob" };

describe("createRedlockManager with nodes down", () => {
  const prefix = randomPrefix("locks-faults");
  let startedHere: number[] = [];
  let clients: Redis[];
  let fencing: FencingCounter;
  let locks: LockManager;
  let n = 0;
  const scope = () => `tenant-1/room-${++n}`;

  /** restore restarts every stopped node and waits for the clients to reconnect. */
  async function restore(): Promise<void> {
    await ensureRedisNodes(FAULT_PORTS);
    await waitReady(clients);
  }

  beforeAll(async () => {
    const running = await Promise.all(FAULT_PORTS.map((p) => pingRedis(p)));
    startedHere = FAULT_PORTS.filter((_, i) => !running[i]);
    await ensureRedisNodes(FAULT_PORTS);
    clients = await connectRedis(FAULT_PORTS);
    fencing = createRedisFencingCounter(clients, { prefix, nodeTimeoutMs: 500 });
    locks = createRedlockManager(clients, { prefix, fencing, nodeTimeoutMs: 500 });
  }, 20_000);

  afterAll(async () => {
    try {
      await restore();
      await locks.close();
      await deletePrefix(clients, prefix);
      await closeRedis(clients);
    } finally {
      await Promise.all(startedHere.map((p) => stopRedis(p)));
    }
  }, 20_000);

  it("keeps granting, refreshing, releasing and fencing with one of three nodes stopped", async () => {
    const s = scope();
    const held = await locks.acquire(s, "macro/m1", alice, 60_000);
    try {
      await stopRedis(THIRD);
      expect(await locks.get(s, "macro/m1")).toEqual(held);
      await expect(locks.assertHeld(s, "macro/m1", alice.id)).resolves.toEqual(held);
      const refreshed = await locks.refresh(s, "macro/m1", alice.id, 120_000);
      expect(refreshed.fencingToken).toBe(held.fencingToken);
      await expect(locks.acquire(s, "macro/m1", bob, 60_000)).rejects.toBeInstanceOf(LockedError);
      await locks.release(s, "macro/m1", alice.id);
      expect(await locks.get(s, "macro/m1")).toBeUndefined();
      const next = await locks.acquire(s, "macro/m1", bob, 60_000);
      expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
      expect(await locks.get(s, "macro/m1")).toEqual(next);
      expect(await locks.break(s, "macro/m1")).toEqual(next);
      const other = await locks.acquire(s, "repo/r1", alice, 60_000);
      expect(other.ownerId).toBe(alice.id);
    } finally {
      await restore();
    }
    // The node came back empty; the lease lives on the other two and still blocks.
    expect((await locks.get(s, "repo/r1"))?.ownerId).toBe(alice.id);
    await expect(locks.acquire(s, "repo/r1", bob, 60_000)).rejects.toBeInstanceOf(LockedError);
  }, 20_000);

  it("answers at once, not after a timeout, through offline-queueing clients (the RedisNodes settings)", async () => {
    // src/shared-state/redis-nodes.ts queues commands while a node reconnects.
    const queued = FAULT_PORTS.map((port) => {
      const c = new Redis({ host: "127.0.0.1", port, enableOfflineQueue: true, maxRetriesPerRequest: 1, retryStrategy: (t) => Math.min(50 * t, 1000) });
      c.on("error", () => undefined);
      return c;
    });
    const slowLocks = createRedlockManager(queued, { prefix, fencing: createRedisFencingCounter(queued, { prefix }), nodeTimeoutMs: 2000 });
    const s = scope();
    try {
      await waitReady(queued);
      await stopRedis(THIRD);
      let started = Date.now();
      await slowLocks.acquire(s, "macro/m1", alice, 60_000);
      await slowLocks.release(s, "macro/m1", alice.id);
      expect(Date.now() - started).toBeLessThan(500);
      await stopRedis(SECOND);
      started = Date.now();
      await expect(slowLocks.acquire(s, "macro/m1", alice, 60_000)).rejects.toBeInstanceOf(LockUnavailableError);
      expect(Date.now() - started).toBeLessThan(500);
    } finally {
      await restore();
      await slowLocks.close();
      await closeRedis(queued);
    }
  }, 20_000);

  it("refuses with LockUnavailableError, quickly, when two of three nodes are stopped", async () => {
    const s = scope();
    const held = await locks.acquire(s, "macro/m1", alice, 60_000);
    try {
      await stopRedis(THIRD);
      await stopRedis(SECOND);
      const started = Date.now();
      await expect(locks.acquire(s, "macro/m2", bob, 60_000)).rejects.toBeInstanceOf(LockUnavailableError);
      expect(Date.now() - started).toBeLessThan(1000);
      await expect(locks.acquire(s, "macro/m1", alice, 60_000)).rejects.toBeInstanceOf(LockUnavailableError);
      await expect(locks.refresh(s, "macro/m1", alice.id, 60_000)).rejects.toBeInstanceOf(LockUnavailableError);
      await expect(locks.get(s, "macro/m1")).rejects.toBeInstanceOf(LockUnavailableError);
      await expect(locks.assertHeld(s, "macro/m1", alice.id)).rejects.toBeInstanceOf(LockUnavailableError);
      await expect(locks.release(s, "macro/m1", alice.id)).rejects.toBeInstanceOf(LockUnavailableError);
      await expect(locks.break(s, "macro/m1")).rejects.toBeInstanceOf(LockUnavailableError);
      await expect(fencing.next(s, "macro/m1")).rejects.toBeInstanceOf(LockUnavailableError);
      const err = (await locks.acquire(s, "macro/m3", bob, 60_000).catch((e: unknown) => e)) as LockUnavailableError;
      expect(err.reason).toBe("UNAVAILABLE");
      expect(err.kind).toBe("unavailable");
    } finally {
      await restore();
    }
    // Two nodes came back empty: the lease, on one node of three, is gone (the
    // Redlock caveat for nodes without persistence). The fencing counter kept
    // its value on the surviving node, so the next token is still higher.
    expect(await locks.get(s, "macro/m1")).toBeUndefined();
    const next = await locks.acquire(s, "macro/m1", bob, 60_000);
    expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
  }, 20_000);
});
