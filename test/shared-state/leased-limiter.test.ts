import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Redis } from "ioredis";
import { createLeasedLimiter, leaseFraction } from "../../src/shared-state/leased-limiter.js";
import { closeRedis, connectRedis, deletePrefix, ensureRedisNodes, randomPrefix, waitReady } from "../support/redis.js";

/**
 * The per-principal rate limit counted by leases: three limiters, each with
 * its own Redis connection as three replicas have, share one window. The
 * tests count accepted calls and Redis round trips; none measures time.
 */

let clients: Redis[] = [];
const prefixes: string[] = [];

beforeAll(async () => {
  await ensureRedisNodes([6379]);
  clients = await connectRedis([6379, 6379, 6379]);
  await waitReady(clients);
});

afterAll(async () => {
  for (const prefix of prefixes) await deletePrefix(clients.slice(0, 1), prefix);
  await closeRedis(clients);
});

function replicas(points: number) {
  const prefix = randomPrefix("leased");
  prefixes.push(prefix);
  return clients.map((client) => createLeasedLimiter(client, prefix, { name: "user", points, durationSeconds: 60 }));
}

describe("leased rate limiter", () => {
  it("accepts at most the limit from a principal spreading calls over three replicas, with far fewer Redis round trips than calls", async () => {
    const limit = 3000;
    const limiters = replicas(limit);
    let accepted = 0;
    let refused = 0;
    // 9,000 calls in bursts of 300 (100 on each replica at once), as a principal's concurrent callers would send them.
    for (let burst = 0; burst < 30; burst++) {
      const results = await Promise.all(Array.from({ length: 300 }, (_, i) => limiters[i % 3]!.consume("user:t:u")));
      for (const r of results) r.ok ? accepted++ : refused++;
    }
    expect(accepted + refused).toBe(9000);
    expect(accepted).toBeLessThanOrEqual(limit); // the issue allows 1.1×; leases never exceed 1.0×
    // What the replicas leased and did not spend is lost: at most their last leases, a share of what was left.
    expect(accepted).toBeGreaterThanOrEqual(Math.floor(limit * (1 - 3 * leaseFraction)));
    const leases = limiters.reduce((n, l) => n + l.stats.leases, 0);
    console.log(`leased limiter: ${accepted} of 9000 accepted (limit ${limit}), ${leases} Redis round trips`);
    expect(leases).toBeLessThan(9000 / 10);
    // Past the limit every replica refuses without Redis.
    const before = limiters.map((l) => l.stats.leases);
    for (const l of limiters) {
      const r = await l.consume("user:t:u");
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.retryAfterSeconds).toBeGreaterThan(0);
    }
    expect(limiters.map((l) => l.stats.leases)).toEqual(before);
  });

  it("is exact for a small limit called round-robin over three replicas", async () => {
    const limiters = replicas(10);
    const results = [];
    for (let i = 0; i < 30; i++) results.push((await limiters[i % 3]!.consume("user:t:small")).ok);
    expect(results.filter(Boolean)).toHaveLength(10);
    expect(results.slice(0, 10).every(Boolean)).toBe(true);
  });

  it("counts each key on its own", async () => {
    const limiters = replicas(5);
    for (let i = 0; i < 5; i++) expect((await limiters[i % 3]!.consume("user:t:a")).ok).toBe(true);
    expect((await limiters[0]!.consume("user:t:a")).ok).toBe(false);
    expect((await limiters[1]!.consume("user:t:b")).ok).toBe(true);
  });

  it("refuses a blocked key on every replica and accepts it again after reset", async () => {
    const limiters = replicas(100);
    expect((await limiters[0]!.consume("user:t:c")).ok).toBe(true);
    await limiters[0]!.block("user:t:c", 30);
    expect((await limiters[0]!.consume("user:t:c")).ok).toBe(false);
    expect((await limiters[1]!.consume("user:t:c")).ok).toBe(false);
    await limiters[2]!.reset("user:t:c");
    expect((await limiters[2]!.consume("user:t:c")).ok).toBe(true);
  });
});
