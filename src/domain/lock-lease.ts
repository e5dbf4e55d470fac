import { DomainError, invalidArgument } from "./errors.js";

/** maxTtlSeconds is the longest lock lease (the shortest is config.lockMinTtlSeconds). */
export const maxTtlSeconds = 1800;

/** defaultTtlSeconds is the lease of an AcquireLock or RefreshLock that leaves ttl_seconds unset. */
export const defaultTtlSeconds = 900;

/** leaseMs answers a requested lease in milliseconds, refusing one outside minTtlSeconds..maxTtlSeconds. */
export function leaseMs(ttlSeconds: number | undefined, minTtlSeconds: number): number {
  const seconds = ttlSeconds ?? defaultTtlSeconds;
  if (seconds < minTtlSeconds || seconds > maxTtlSeconds) {
    throw invalidArgument("ttl_seconds", `must be from ${minTtlSeconds} to ${maxTtlSeconds}`, String(seconds));
  }
  return seconds * 1000;
}

/**
 * lockQuotaExceeded is RESOURCE_EXHAUSTED `LOCK_QUOTA` with the limit reached
 * and, as `layer`, which one: `user` (GATEHOUSE_LOCKS_PER_USER) or `tenant`
 * (GATEHOUSE_LOCKS_PER_TENANT).
 */
export function lockQuotaExceeded(layer: "user" | "tenant", limit: number): DomainError {
  const whose = layer === "user" ? "you hold" : "this tenant holds";
  return new DomainError("resource_exhausted", "LOCK_QUOTA", `${whose} ${limit} locks, the most allowed; release one first`, { layer, limit });
}
