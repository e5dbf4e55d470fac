import { LockedError, LockRequiredError, LockUnavailableError } from "./errors.js";
import type { FencingCounter } from "./fencing.js";
import { checkTtl, type LockInfo, type LockManager } from "./lock-manager.js";

/** MemoryLockManagerOptions configure createMemoryLockManager. */
export interface MemoryLockManagerOptions {
  /** fencing issues the token of each new acquisition. */
  fencing: FencingCounter;
  /** now is the clock in epoch milliseconds (default Date.now); tests pass a fake one. */
  now?: () => number;
  /** sweepIntervalMs is how often expired leases are dropped from memory (default 60 s). */
  sweepIntervalMs?: number;
}

/** Entry is one lease held in memory. */
interface Entry {
  ownerId: string;
  ownerName: string;
  fencingToken: bigint;
  acquiredAt: number;
  expiresAt: number;
}

/**
 * createMemoryLockManager keeps leases in process memory, for embedded mode
 * (no Redis configured): one process, same semantics as the Redlock manager.
 * A lease whose expiry has passed on the clock is gone. Operations on one
 * target run one after another, so an acquisition waiting for its fencing
 * token is never overtaken; reads are not queued.
 */
export function createMemoryLockManager(opts: MemoryLockManagerOptions): LockManager {
  const now = opts.now ?? Date.now;
  const { fencing } = opts;
  const leases = new Map<string, Entry>();
  const queues = new Map<string, Promise<void>>();
  let closed = false;
  const sweeper = setInterval(() => {
    const t = now();
    for (const [key, entry] of leases) if (entry.expiresAt <= t) leases.delete(key);
  }, opts.sweepIntervalMs ?? 60_000);
  sweeper.unref();

  function ensureOpen(): void {
    if (closed) throw new LockUnavailableError("the lock manager is closed");
  }

  /** serialize runs `fn` after every earlier operation on the same key. */
  function serialize<T>(key: string, fn: () => Promise<T> | T): Promise<T> {
    const previous = queues.get(key) ?? Promise.resolve();
    const run = previous.then(fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    queues.set(key, tail);
    void tail.then(() => {
      if (queues.get(key) === tail) queues.delete(key);
    });
    return run;
  }

  /** live answers the key's lease unless it has expired (then drops it). */
  function live(key: string): Entry | undefined {
    const entry = leases.get(key);
    if (entry && entry.expiresAt <= now()) {
      leases.delete(key);
      return undefined;
    }
    return entry;
  }

  return {
    async acquire(scope, target, owner, ttlMs) {
      ensureOpen();
      checkTtl(ttlMs);
      const key = keyOf(scope, target);
      return serialize(key, async () => {
        const current = live(key);
        if (current && current.ownerId === owner.id) {
          current.expiresAt = now() + ttlMs;
          return infoOf(target, current);
        }
        if (current) throw new LockedError(infoOf(target, current));
        const fencingToken = await fencing.next(scope, target);
        const t = now();
        const entry: Entry = { ownerId: owner.id, ownerName: owner.name, fencingToken, acquiredAt: t, expiresAt: t + ttlMs };
        leases.set(key, entry);
        return infoOf(target, entry);
      });
    },

    async refresh(scope, target, ownerId, ttlMs) {
      ensureOpen();
      checkTtl(ttlMs);
      const key = keyOf(scope, target);
      return serialize(key, () => {
        const current = live(key);
        if (!current || current.ownerId !== ownerId) throw new LockRequiredError(target, current && infoOf(target, current));
        current.expiresAt = now() + ttlMs;
        return infoOf(target, current);
      });
    },

    async release(scope, target, ownerId) {
      ensureOpen();
      const key = keyOf(scope, target);
      return serialize(key, () => {
        const current = live(key);
        if (!current) throw new LockRequiredError(target);
        if (current.ownerId !== ownerId) throw new LockedError(infoOf(target, current));
        leases.delete(key);
      });
    },

    async get(scope, target) {
      ensureOpen();
      const current = live(keyOf(scope, target));
      return current && infoOf(target, current);
    },

    async break(scope, target) {
      ensureOpen();
      const key = keyOf(scope, target);
      return serialize(key, () => {
        const current = live(key);
        leases.delete(key);
        return current && infoOf(target, current);
      });
    },

    async assertHeld(scope, target, ownerId) {
      ensureOpen();
      const current = live(keyOf(scope, target));
      if (!current || current.ownerId !== ownerId) throw new LockRequiredError(target, current && infoOf(target, current));
      return infoOf(target, current);
    },

    async close() {
      closed = true;
      clearInterval(sweeper);
    },
  };
}

function keyOf(scope: string, target: string): string {
  return `${scope}\u0000${target}`;
}

function infoOf(target: string, entry: Entry): LockInfo {
  return {
    target,
    ownerId: entry.ownerId,
    ownerName: entry.ownerName,
    fencingToken: entry.fencingToken,
    acquiredAt: new Date(entry.acquiredAt),
    expiresAt: new Date(entry.expiresAt),
  };
}
