/**
 * LockInfo describes one editing lease: who holds which target of a room,
 * under which fencing token, and until when.
 */
export interface LockInfo {
  /** target is the locked resource inside the scope, `macro/<id>` or `repo/<id>`. */
  target: string;
  /** ownerId is the holder's principal id; only it may refresh or release. */
  ownerId: string;
  /** ownerName is the holder's display name, shown to whoever is refused. */
  ownerName: string;
  /**
   * fencingToken is issued at each acquisition, strictly increasing per
   * target; a refresh keeps it. `0n` means the holder has won the lease but
   * is still being issued its token (a few milliseconds; Redis only).
   */
  fencingToken: bigint;
  /** acquiredAt is when this lease was first acquired (refreshes keep it). */
  acquiredAt: Date;
  /** expiresAt is when the lease lapses unless refreshed. */
  expiresAt: Date;
}

/** LockOwner is the principal acquiring a lock. */
export interface LockOwner {
  id: string;
  name: string;
}

/**
 * LockManager grants editing leases on the targets of a room. `scope` is
 * `${tenantId}/${roomId}`; targets of different scopes never meet.
 *
 * Errors: `LockedError` (someone else holds it), `LockRequiredError` (the
 * caller does not hold it), `LockUnavailableError` (the lock store cannot
 * answer, e.g. fewer than a quorum of Redis nodes reachable). TTL limits
 * are the service layer's business: `ttlMs` is taken as given (a positive
 * integer).
 */
export interface LockManager {
  /**
   * acquire takes the lock for `owner`, with a new fencing token. If the owner
   * already holds it, the lease is refreshed instead (same token, same
   * acquiredAt, new expiry). Held by someone else → `LockedError` with the holder.
   */
  acquire(scope: string, target: string, owner: LockOwner, ttlMs: number): Promise<LockInfo>;
  /**
   * refresh extends the owner's lease to `ttlMs` from now. Not held by the
   * owner (never, expired, broken, released) → `LockRequiredError`.
   */
  refresh(scope: string, target: string, ownerId: string, ttlMs: number): Promise<LockInfo>;
  /**
   * release gives the lock up. Only the holder may: held by someone else →
   * `LockedError`; not held at all → `LockRequiredError`.
   */
  release(scope: string, target: string, ownerId: string): Promise<void>;
  /** get answers the current holder, or undefined when the target is free. */
  get(scope: string, target: string): Promise<LockInfo | undefined>;
  /**
   * break removes the lock whoever holds it (room admins; the caller audits)
   * and answers the lease it broke, or undefined when there was none.
   */
  break(scope: string, target: string): Promise<LockInfo | undefined>;
  /**
   * assertHeld answers the caller's lease if it holds the lock now, with its
   * fencing token to store with the write; otherwise `LockRequiredError`
   * (carrying the other holder, if any). Used by the edit methods.
   */
  assertHeld(scope: string, target: string, ownerId: string): Promise<LockInfo>;
  /** close stops background work; the manager must not be used afterwards. It never closes connections it was given. */
  close(): Promise<void>;
}

/**
 * checkTtl refuses a TTL no store can take (Redis PX needs a positive
 * integer). Range limits (600–1800 s) are the service layer's.
 */
export function checkTtl(ttlMs: number): void {
  if (!Number.isSafeInteger(ttlMs) || ttlMs <= 0) throw new RangeError(`ttlMs must be a positive integer, got ${ttlMs}`);
}
