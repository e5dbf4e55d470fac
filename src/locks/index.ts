/**
 * Locks: editing leases on a room's macros and repos, with owners, refresh,
 * force-break and fencing tokens (docs/concepts.md). One interface, two
 * implementations: Redlock over the configured Redis masters, or in-process.
 */
export type { LockInfo, LockManager, LockOwner } from "./lock-manager.js";
export { LockedError, LockRequiredError, LockUnavailableError } from "./errors.js";
export { createMemoryFencingCounter, type FencingCounter } from "./fencing.js";
export { createRedisFencingCounter, type RedisFencingCounterOptions } from "./redis-fencing.js";
export { createRedlockManager, type RedlockManagerOptions } from "./redlock-manager.js";
export { createMemoryLockManager, type MemoryLockManagerOptions } from "./memory-manager.js";
