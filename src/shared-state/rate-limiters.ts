import { RateLimiterMemory, RateLimiterRedis, RateLimiterRes, type RateLimiterAbstract } from "rate-limiter-flexible";
import type { RedisNodes } from "./redis-nodes.js";
import { createLeasedLimiter } from "./leased-limiter.js";

export type { Limiter, LimiterFactory, LimiterSpec, LimitResult } from "./limiter.js";
import type { Limiter, LimiterFactory, LimiterSpec, LimitResult } from "./limiter.js";

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
