import { setTimeout as sleep } from "node:timers/promises";
import type { Redis } from "ioredis";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockedError, LockUnavailableError } from "../../src/locks/errors.js";
import type { LockManager } from "../../src/locks/lock-manager.js";
import { fenceKey, lockKey } from "../../src/locks/lock-record.js";
import { createRedisFencingCounter } from "../../src/locks/redis-fencing.js";
import { createRedlockManager } from "../../src/locks/redlock-manager.js";
import { closeRedis, connectRedis, deletePrefix, ensureRedisNodes, LOCK_NODE_PORTS, randomPrefix } from "../support/redis.js";
import { describeLockManagerContract } from "./lock-manager-contract.js";

/** process is one simulated server process: its own connections and manager. */
interface Process {
  clients: Redis[];
  locks: LockManager;
}

async function startProcess(prefix: string): Promise<Process> {
  const clients = await connectRedis(LOCK_NODE_PORTS);
  const locks = createRedlockManager(clients, { prefix, fencing: createRedisFencingCounter(clients, { prefix }) });
  return { clients, locks };
}

async function stopProcess(p: Process): Promise<void> {
  await p.locks.close();
  await closeRedis(p.clients);
}

beforeAll(async () => {
  await ensureRedisNodes(LOCK_NODE_PORTS);
}, 20_000);

describeLockManagerContract("redlock over 3 nodes", async () => {
  const prefix = randomPrefix("locks-contract");
  const processes = [await startProcess(prefix), await startProcess(prefix)];
  return {
    managers: processes.map((p) => p.locks),
    elapse: (ms) => sleep(ms),
    async close() {
      await deletePrefix(processes[0]!.clients, prefix);
      await Promise.all(processes.map(stopProcess));
    },
  };
});

describe("createRedlockManager", () => {
  const prefix = randomPrefix("locks-redlock");
  const alice = { id: "u-alice", name: "Alice" };
  const bob = { id: "u-bob", name: "Bob" };
  let one: Process;
  let two: Process;
  let n = 0;
  /** scope answers a fresh room scope per call. */
  const scope = () => `tenant-1/room-${++n}`;

  beforeAll(async () => {
    [one, two] = await Promise.all([startProcess(prefix), startProcess(prefix)]);
  });
  afterAll(async () => {
    await deletePrefix(one.clients, prefix);
    await Promise.all([stopProcess(one), stopProcess(two)]);
  });

  it("stores a JSON record naming owner, token and times on every node", async () => {
    const s = scope();
    const info = await one.locks.acquire(s, "macro/m1", alice, 60_000);
    for (const client of one.clients) {
      const raw = await client.get(lockKey(prefix, s, "macro/m1"));
      expect(JSON.parse(raw!)).toMatchObject({
        ownerId: alice.id,
        ownerName: alice.name,
        fencingToken: info.fencingToken.toString(),
        acquiredAt: info.acquiredAt.getTime(),
        expiresAt: info.expiresAt.getTime(),
      });
      const pttl = await client.pttl(lockKey(prefix, s, "macro/m1"));
      expect(pttl).toBeGreaterThan(59_000);
      expect(pttl).toBeLessThanOrEqual(60_000);
    }
  });

  it("shows one lock to two processes with their own connections", async () => {
    const s = scope();
    const held = await one.locks.acquire(s, "repo/r1", alice, 60_000);
    expect(await two.locks.get(s, "repo/r1")).toEqual(held);
    await expect(two.locks.acquire(s, "repo/r1", bob, 60_000)).rejects.toBeInstanceOf(LockedError);
    // The holder may refresh and release through the other process.
    const refreshed = await two.locks.refresh(s, "repo/r1", alice.id, 120_000);
    expect(refreshed.fencingToken).toBe(held.fencingToken);
    expect((await one.locks.get(s, "repo/r1"))?.expiresAt).toEqual(refreshed.expiresAt);
    await two.locks.release(s, "repo/r1", alice.id);
    expect(await one.locks.get(s, "repo/r1")).toBeUndefined();
  });

  it("gives exactly one of 50 acquirers spread over five processes the lock", async () => {
    const more = await Promise.all([startProcess(prefix), startProcess(prefix), startProcess(prefix)]);
    try {
      const managers = [one, two, ...more].map((p) => p.locks);
      for (let round = 0; round < 5; round++) {
        const s = scope();
        const results = await Promise.allSettled(
          Array.from({ length: 50 }, (_, i) => managers[i % managers.length]!.acquire(s, "macro/hot", { id: `u-${i}`, name: `U${i}` }, 60_000)),
        );
        const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        expect(won).toHaveLength(1);
        for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(LockedError);
        for (const m of managers) expect((await m.get(s, "macro/hot"))?.ownerId).toBe(won[0]!.ownerId);
      }
    } finally {
      await Promise.all(more.map(stopProcess));
    }
  });

  it("resolves a three-way split vote by retrying: one winner, no stray records", async () => {
    const s = scope();
    const key = lockKey(prefix, s, "macro/split");
    // Contender i reaches node j first when (j - i) mod 3 = 0: each wins one node of three.
    const managers = [0, 1, 2].map((i) =>
      createRedlockManager(
        one.clients.map((client, j) => delayFirstScript(client, ((j - i + 3) % 3) * 40)),
        { prefix, fencing: createRedisFencingCounter(one.clients, { prefix }) },
      ),
    );
    const results = await Promise.allSettled(managers.map((m, i) => m.acquire(s, "macro/split", { id: `u-${i}`, name: `U${i}` }, 60_000)));
    const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
    expect(won).toHaveLength(1);
    for (const r of results) if (r.status === "rejected") expect(r.reason).toBeInstanceOf(LockedError);
    // The losers rolled back: every node holds the winner's lease (a quorum at least) or nothing.
    const stored = await Promise.all(one.clients.map(async (c) => c.get(key)));
    const owners = stored.map((raw) => (raw === null ? null : (JSON.parse(raw) as { ownerId: string }).ownerId));
    expect(owners.filter((o) => o !== null && o !== won[0]!.ownerId)).toEqual([]);
    expect(owners.filter((o) => o === won[0]!.ownerId).length).toBeGreaterThanOrEqual(2);
    await Promise.all(managers.map((m) => m.close()));
  });

  it("believes the majority: a stray record on one node neither shows nor blocks", async () => {
    const s = scope();
    const key = lockKey(prefix, s, "macro/m1");
    const stray = { nonce: "stray", ownerId: "u-mallory", ownerName: "Mallory", fencingToken: "999", acquiredAt: Date.now(), expiresAt: Date.now() + 60_000 };
    await one.clients[2]!.set(key, JSON.stringify(stray), "PX", 60_000);
    expect(await one.locks.get(s, "macro/m1")).toBeUndefined();
    const held = await one.locks.acquire(s, "macro/m1", alice, 60_000);
    expect(held.ownerId).toBe(alice.id);
    expect(await two.locks.get(s, "macro/m1")).toEqual(held);
    await expect(one.locks.assertHeld(s, "macro/m1", alice.id)).resolves.toEqual(held);
    await one.locks.release(s, "macro/m1", alice.id);
    expect(await one.locks.get(s, "macro/m1")).toBeUndefined();
  });

  it("keeps a lease that one node lost, refuses others, and heals that node on re-acquire", async () => {
    const s = scope();
    const key = lockKey(prefix, s, "macro/m1");
    const held = await one.locks.acquire(s, "macro/m1", alice, 60_000);
    await one.clients[0]!.del(key); // as if node 1 restarted empty
    expect(await two.locks.get(s, "macro/m1")).toEqual(held);
    const err = await two.locks.acquire(s, "macro/m1", bob, 60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).holder.ownerId).toBe(alice.id);
    expect(await one.clients[0]!.get(key)).toBeNull(); // bob's partial win was rolled back
    const again = await one.locks.acquire(s, "macro/m1", alice, 60_000);
    expect(again.fencingToken).toBe(held.fencingToken);
    const healed = JSON.parse((await one.clients[0]!.get(key))!);
    expect(healed).toMatchObject({ ownerId: alice.id, fencingToken: held.fencingToken.toString() });
  });

  it("refuses a fresh owner while another is still being issued its token", async () => {
    const s = scope();
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const counter = createRedisFencingCounter(one.clients, { prefix });
    const locks = createRedlockManager(one.clients, {
      prefix,
      fencing: { next: async (sc, t) => (await gate, counter.next(sc, t)) },
    });
    const slow = locks.acquire(s, "macro/m1", alice, 60_000);
    await sleep(30);
    const err = await two.locks.acquire(s, "macro/m1", bob, 60_000).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(LockedError);
    expect((err as LockedError).holder).toMatchObject({ ownerId: alice.id, fencingToken: 0n });
    release();
    const held = await slow;
    expect(held.fencingToken).toBeGreaterThan(0n);
    expect(await two.locks.get(s, "macro/m1")).toEqual(held);
    await locks.close();
  });

  it("takes nothing when the fencing counter fails", async () => {
    const s = scope();
    const locks = createRedlockManager(one.clients, {
      prefix,
      fencing: { next: () => Promise.reject(new LockUnavailableError("counter down")) },
    });
    await expect(locks.acquire(s, "macro/m1", alice, 60_000)).rejects.toBeInstanceOf(LockUnavailableError);
    expect(await one.locks.get(s, "macro/m1")).toBeUndefined();
    for (const c of one.clients) expect(await c.exists(lockKey(prefix, s, "macro/m1"))).toBe(0);
    await locks.close();
  });

  it("refuses every call with LockUnavailableError once closed, leaving the connections open", async () => {
    const locks = createRedlockManager(one.clients, { prefix, fencing: createRedisFencingCounter(one.clients, { prefix }) });
    await locks.close();
    await expect(locks.get(scope(), "macro/m1")).rejects.toBeInstanceOf(LockUnavailableError);
    expect(one.clients.every((c) => c.status === "ready")).toBe(true);
  });
});

describe("createRedisFencingCounter", () => {
  const prefix = randomPrefix("locks-fence");
  let clients: Redis[];
  beforeAll(async () => {
    clients = await connectRedis(LOCK_NODE_PORTS);
  });
  afterAll(async () => {
    await deletePrefix(clients, prefix);
    await closeRedis(clients);
  });

  it("counts from 1, strictly increasing, separately per target", async () => {
    const counter = createRedisFencingCounter(clients, { prefix });
    expect(await counter.next("t/r", "macro/a")).toBe(1n);
    expect(await counter.next("t/r", "macro/a")).toBe(2n);
    expect(await counter.next("t/r", "macro/b")).toBe(1n);
    expect(await counter.next("t/r", "macro/a")).toBe(3n);
  });

  it("keeps increasing when nodes lose or diverge on their counters", async () => {
    const counter = createRedisFencingCounter(clients, { prefix });
    const key = fenceKey(prefix, "t/r", "macro/c");
    let last = 0n;
    const next = async () => {
      const token = await counter.next("t/r", "macro/c");
      expect(token).toBeGreaterThan(last);
      last = token;
      return token;
    };
    await next();
    await next();
    await clients[0]!.del(key); // node 1 restarted empty
    await next();
    await clients[1]!.set(key, "1000"); // node 2 ran ahead while the others were unreachable
    expect(await next()).toBe(1001n);
    // The write-back put 1001 on every node, so node 2 may now lose its counter.
    expect(await Promise.all(clients.map((c) => c.get(key)))).toEqual(["1001", "1001", "1001"]);
    await clients[1]!.del(key);
    expect(await next()).toBe(1002n);
  });
});

/**
 * delayFirstScript wraps a client so that its first EVALSHA waits `ms`
 * (the acquisition script of the first attempt); everything else is unchanged.
 */
function delayFirstScript(client: Redis, ms: number): Redis {
  let first = true;
  return new Proxy(client, {
    get(target, prop) {
      const value: unknown = Reflect.get(target, prop, target);
      if (prop === "evalsha" && first) {
        return async (...args: Parameters<Redis["evalsha"]>) => {
          if (first) {
            first = false;
            await sleep(ms);
          }
          return target.evalsha(...args);
        };
      }
      return typeof value === "function" ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
