import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { RedisNodes } from "./redis-nodes.js";
import { createLeasedLimiter } from "./leased-limiter.js";

/** LimiterSpec describes one fixed-window limit. */
export interface LimiterSpec {
  /** name prefixes the keys of this limiter. */
  name: string;
  points: number;
  durationSeconds: number;
  /** blockSeconds blocks the key this long once the points are spent. */
  blockSeconds?: number;
  /**
   * leased counts in Redis by leases of many points (leased-limiter.ts): no
   * round trip per call, never more than `points` accepted per window over
   * all replicas. For limits checked on every call; not with blockSeconds.
   */
  leased?: boolean;
}

/** LimitResult tells whether a consume passed and when to retry if not. */
export type LimitResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/** Limiter counts events per key, shared across replicas when Redis is configured. */
export interface Limiter {
  consume(key: string, points?: number): Promise<LimitResult>;
  /** refund gives back points consumed by a call that was refused for another reason. */
  refund(key: string, points?: number): Promise<void>;
  /** penalty adds points without refusing (login failures). */
  penalty(key: string, points?: number): Promise<LimitResult>;
  /** get answers the current state without consuming. */
  get(key: string): Promise<{ consumed: number; retryAfterSeconds: number } | undefined>;
  reset(key: string): Promise<void>;
  /** block refuses the key for `seconds` from now. */
  block(key: string, seconds: number): Promise<void>;
}

/** LimiterFactory makes limiters over the configured store. */
export type LimiterFactory = (spec: LimiterSpec) => Limiter;

/**
 * createLimiterFactory builds limiters on rate-limiter-flexible: Redis-backed
 * (with an in-memory insurance limiter while Redis is unreachable) when nodes
 * are given, in-memory otherwise. Two limiters of the same spec share their
 * counts, in memory as they do in Redis (the login guard's lockout is cleared
 * by UsersService.UnlockUser through a limiter of its own).
 */
export function createLimiterFactory(nodes: RedisNodes | undefined, prefix: string): LimiterFactory {
  const made = new Map<string, Limiter>();
  return (spec) => {
    const id = `${spec.name}\u0000${spec.points}\u0000${spec.durationSeconds}\u0000${spec.blockSeconds ?? 0}\u0000${spec.leased ? 1 : 0}`;
    let limiter = made.get(id);
    if (!limiter) {
      limiter = build(spec);
      made.set(id, limiter);
    }
    return limiter;
  };

  function build(spec: LimiterSpec): Limiter {
    if (nodes && spec.leased && !spec.blockSeconds) return createLeasedLimiter(nodes.primary, prefix, spec);
    const base = {
      keyPrefix: `${prefix}rl:${spec.name}`,
      points: spec.points,
      duration: spec.durationSeconds,
      blockDuration: spec.blockSeconds ?? 0,
    };
    const limiter: RateLimiterAbstract = nodes
      ? new RateLimiterRedis({
          ...base,
          storeClient: nodes.primary,
          rejectIfRedisNotReady: true,
          insuranceLimiter: new RateLimiterMemory(base),
        })
      : new RateLimiterMemory(base);
    return wrap(limiter);
  }
}

function wrap(limiter: RateLimiterAbstract): Limiter {
  const refused = (res: RateLimiterRes): LimitResult => ({ ok: false, retryAfterSeconds: Math.max(1, Math.ceil(res.msBeforeNext / 1000)) });
  return {
    async consume(key, points = 1) {
      try {
        const res = await limiter.consume(key, points);
        return { ok: true, remaining: res.remainingPoints };
      } catch (err) {
        if (err instanceof RateLimiterRes) return refused(err);
        throw err;
      }
    },
    async refund(key, points = 1) {
      await limiter.reward(key, points);
    },
    async penalty(key, points = 1) {
      const res = await limiter.penalty(key, points);
      return res.remainingPoints > 0 ? { ok: true, remaining: res.remainingPoints } : refused(res);
    },
    async get(key) {
      const res = await limiter.get(key);
      if (!res) return undefined;
      return { consumed: res.consumedPoints, retryAfterSeconds: Math.max(0, Math.ceil(res.msBeforeNext / 1000)) };
    },
    async reset(key) {
      await limiter.delete(key);
    },
    async block(key, seconds) {
      await limiter.block(key, seconds);
    },
  };
}
