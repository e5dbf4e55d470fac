import { DomainError } from "../domain/errors.js";
import type { LimiterFactory } from "../shared-state/rate-limiters.js";
import { clientNetwork } from "./client-network.js";

/**
 * AuthFailureLimit bounds failed authentication per client network (an IPv4
 * address, an IPv6 /64), counted in Redis when configured so that every
 * replica counts together. Past the limit, calls whose credentials fail (or
 * that carry none where some are needed) answer RESOURCE_EXHAUSTED
 * `AUTH_RATE_LIMITED` instead of UNAUTHENTICATED, and credentials that can
 * only be checked in the database are refused before that lookup. Valid
 * credentials proven without the database (a token's signature, a session
 * cookie's MAC) never consult it.
 */
export interface AuthFailureLimit {
  /**
   * fail counts one failed attempt from `ip` and throws: `error` while the
   * network is within its limit, AUTH_RATE_LIMITED past it.
   */
  fail(ip: string, error: DomainError): Promise<never>;
  /**
   * reserve counts an attempt up front, before a database lookup for a
   * credential that cannot be checked without one, and throws
   * AUTH_RATE_LIMITED past the limit (so no lookup happens). Give the
   * reservation back with `release` when the credential proved valid (or
   * was refused for another reason than being wrong).
   */
  reserve(ip: string): Promise<{ release(): Promise<void> }>;
}

/** authRateLimited is the refusal past the failed-authentication limit. */
export function authRateLimited(retryAfterSeconds: number): DomainError {
  return new DomainError("resource_exhausted", "AUTH_RATE_LIMITED", "too many failed authentication attempts from this address, retry later", { retryAfterSeconds });
}

/**
 * createAuthFailureLimit allows `perMinute` failed attempts per client
 * network per minute (a fixed window, GATEHOUSE_AUTH_FAILURES_PER_MINUTE).
 */
export function createAuthFailureLimit(limiters: LimiterFactory, perMinute: number): AuthFailureLimit {
  const limiter = limiters({ name: "auth-fail", points: perMinute, durationSeconds: 60 });
  const keyOf = (ip: string) => clientNetwork(ip);
  return {
    async fail(ip, error) {
      const counted = await limiter.consume(keyOf(ip));
      if (!counted.ok) throw authRateLimited(counted.retryAfterSeconds);
      throw error;
    },
    async reserve(ip) {
      const key = keyOf(ip);
      const counted = await limiter.consume(key);
      if (!counted.ok) throw authRateLimited(counted.retryAfterSeconds);
      let released = false;
      return {
        async release() {
          if (released) return;
          released = true;
          await limiter.refund(key);
        },
      };
    },
  };
}
