import { RateLimiterMemory, RateLimiterRes } from "rate-limiter-flexible";
import type { Redis } from "ioredis";
import type { Limiter, LimiterSpec, LimitResult } from "./limiter.js";

/**
 * A leased limiter counts a fixed window per key in Redis, but not one call
 * at a time: a replica leases a block of the window's points (a share of
 * what is left) in one round trip and spends it locally, then leases again.
 * The points leased by all replicas never exceed the limit, so a principal
 * spreading calls over any number of replicas gets at most its limit
 * accepted; leased points a replica does not spend before the window ends
 * are lost, so the least accepted is the limit minus the replicas' last
 * leases (each at most a `leaseFraction` of what was left). Small limits
 * (what is left under 1 / leaseFraction) lease one point at a time: exact.
 *
 * A window the limit is spent in is refused locally until its end, without
 * Redis. When Redis fails, an in-memory limiter of the same spec stands in.
 */

/** leaseFraction is the share of the window's remaining points one lease takes (beyond the points asked for). */
export const leaseFraction = 1 / 16;

// KEYS[1] count, KEYS[2] block; ARGV: limit, window ms, points wanted, fraction.
// Answers { granted, window ms left, used after the grant }: what is asked plus a share of
// the rest, or all that is left when that is less; granted 0 refuses.
const leaseScript = `
local limit = tonumber(ARGV[1])
local windowMs = tonumber(ARGV[2])
local want = tonumber(ARGV[3])
local fraction = tonumber(ARGV[4])
local blocked = redis.call('PTTL', KEYS[2])
if blocked > 0 then return {0, blocked, limit} end
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
local left = redis.call('PTTL', KEYS[1])
if left == -2 then used = 0; left = windowMs end
if left == -1 then redis.call('PEXPIRE', KEYS[1], windowMs); left = windowMs end
local remaining = limit - used
if remaining <= 0 then return {0, left, used} end
local grant = math.min(remaining, want + math.floor(math.max(0, remaining - want) * fraction))
used = redis.call('INCRBY', KEYS[1], grant)
if used == grant then redis.call('PEXPIRE', KEYS[1], windowMs) end
return {grant, left, used}
`;

interface LeaseRedis extends Redis {
  gatehouseLease(count: string, block: string, limit: number, windowMs: number, want: number, fraction: number): Promise<[number, number, number]>;
}

interface KeyState {
  /** points leased and not yet spent. */
  points: number;
  /** windowEndsAt (local clock) ends the lease and any local refusal. */
  windowEndsAt: number;
  /** refused: the window's points are spent (or the key blocked) until windowEndsAt. */
  refused: boolean;
  /** waiting is the points asked by calls waiting for the lease in flight. */
  waiting: number;
  leasing?: Promise<void>;
}

/** LeasedLimiterStats counts what a leased limiter did (tests count round trips with it). */
export interface LeasedLimiterStats {
  /** leases is the round trips to Redis for leases. */
  leases: number;
  /** local is the consumes answered without Redis. */
  local: number;
}

/** createLeasedLimiter builds a leased limiter of `spec` on `redis`, keys under `keyPrefix`. */
export function createLeasedLimiter(redis: Redis, keyPrefix: string, spec: LimiterSpec, now: () => number = Date.now): Limiter & { stats: LeasedLimiterStats } {
  const client = redis as LeaseRedis;
  if (typeof client.gatehouseLease !== "function") client.defineCommand("gatehouseLease", { numberOfKeys: 2, lua: leaseScript });
  const windowMs = spec.durationSeconds * 1000;
  const countKey = (key: string) => `${keyPrefix}rll:${spec.name}:${key}`;
  const blockKey = (key: string) => `${keyPrefix}rll:${spec.name}:${key}:block`;
  const insurance = new RateLimiterMemory({ keyPrefix: `${keyPrefix}rll:${spec.name}`, points: spec.points, duration: spec.durationSeconds });
  const states = new Map<string, KeyState>();
  const stats: LeasedLimiterStats = { leases: 0, local: 0 };
  const refusal = (state: KeyState): LimitResult => ({ ok: false, retryAfterSeconds: Math.max(1, Math.ceil((state.windowEndsAt - now()) / 1000)) });

  /** sweep forgets keys whose window ended, now and then, so idle principals hold no memory. */
  let sweepAt = 0;
  const sweep = (t: number) => {
    if (t < sweepAt) return;
    sweepAt = t + windowMs;
    for (const [key, state] of states) if (state.windowEndsAt <= t && !state.leasing) states.delete(key);
  };

  const lease = (key: string, state: KeyState): Promise<void> => {
    state.leasing ??= (async () => {
      try {
        // Every point asked while the lease was on its way is asked in this one.
        await Promise.resolve();
        const want = Math.max(1, state.waiting);
        stats.leases++;
        const [granted, leftMs] = await client.gatehouseLease(countKey(key), blockKey(key), spec.points, windowMs, want, leaseFraction);
        const t = now();
        if (t >= state.windowEndsAt) state.points = 0; // a lease of an earlier window is spent or gone
        state.windowEndsAt = t + Number(leftMs);
        state.points += Number(granted);
        state.refused = Number(granted) === 0;
      } finally {
        state.leasing = undefined;
      }
    })();
    return state.leasing;
  };

  const consume = async (key: string, points: number): Promise<LimitResult> => {
    const t = now();
    sweep(t);
    let state = states.get(key);
    if (!state) {
      state = { points: 0, windowEndsAt: 0, refused: false, waiting: 0 };
      states.set(key, state);
    }
    for (;;) {
      if (now() >= state.windowEndsAt) {
        state.points = 0;
        state.refused = false;
      }
      if (state.refused) return refusal(state);
      if (state.points >= points) {
        state.points -= points;
        stats.local++;
        return { ok: true, remaining: state.points };
      }
      state.waiting += points;
      try {
        await lease(key, state);
      } finally {
        state.waiting -= points;
      }
      if (state.refused && state.points < points) return refusal(state);
    }
  };

  const viaInsurance = async (key: string, points: number): Promise<LimitResult> => {
    try {
      const res = await insurance.consume(key, points);
      return { ok: true, remaining: res.remainingPoints };
    } catch (err) {
      if (err instanceof RateLimiterRes) return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(err.msBeforeNext / 1000)) };
      throw err;
    }
  };

  return {
    stats,
    async consume(key, points = 1) {
      if (redis.status !== "ready") return viaInsurance(key, points);
      try {
        return await consume(key, points);
      } catch {
        return viaInsurance(key, points);
      }
    },
    async refund(key, points = 1) {
      // Given back to this replica's lease: the window's count in Redis keeps them, so the bound holds.
      const state = states.get(key);
      if (state && now() < state.windowEndsAt) state.points += points;
    },
    async penalty(key, points = 1) {
      const used = await redis.incrby(countKey(key), points);
      if (used === points) await redis.pexpire(countKey(key), windowMs);
      if (used < spec.points) return { ok: true, remaining: spec.points - used };
      const ttl = await redis.pttl(countKey(key));
      return { ok: false, retryAfterSeconds: Math.max(1, Math.ceil(ttl / 1000)) };
    },
    async get(key) {
      const [used, ttl] = await Promise.all([redis.get(countKey(key)), redis.pttl(countKey(key))]);
      if (used === null) return undefined;
      return { consumed: Number(used), retryAfterSeconds: Math.max(0, Math.ceil(ttl / 1000)) };
    },
    async reset(key) {
      states.delete(key);
      await redis.del(countKey(key), blockKey(key));
    },
    async block(key, seconds) {
      await redis.set(blockKey(key), "1", "PX", seconds * 1000);
      const state = states.get(key);
      if (state) {
        state.points = 0;
        state.refused = true;
        state.windowEndsAt = Math.max(state.windowEndsAt, now() + seconds * 1000);
      }
    },
  };
}
