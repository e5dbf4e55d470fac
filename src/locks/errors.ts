import { DomainError } from "../domain/errors.js";
import type { LockInfo } from "./lock-manager.js";

/**
 * LockedError says the target is locked by someone else. It is a
 * FAILED_PRECONDITION domain error with reason `LOCKED` whose facts carry the
 * holder's id, name and expiry, so the error interceptor maps it unchanged.
 */
export class LockedError extends DomainError {
  constructor(
    /** holder is the lease that blocks the caller. */
    readonly holder: LockInfo,
  ) {
    super("failed_precondition", "LOCKED", `${holder.target} is locked by ${holder.ownerName}`, {
      holder: { holderId: holder.ownerId, holderName: holder.ownerName, expiresAt: holder.expiresAt },
    });
    this.name = "LockedError";
  }
}

/**
 * LockRequiredError says the caller does not hold the target's lock (never
 * did, or it expired, was released or broken). FAILED_PRECONDITION with reason
 * `LOCK_REQUIRED`; when someone else holds the lock, `holder` and the facts
 * name them.
 */
export class LockRequiredError extends DomainError {
  constructor(
    /** target is the resource whose lock is required. */
    readonly target: string,
    /** holder is whoever holds the lock instead, if anyone. */
    readonly holder?: LockInfo,
  ) {
    super(
      "failed_precondition",
      "LOCK_REQUIRED",
      holder ? `${target} must be locked by the caller; it is locked by ${holder.ownerName}` : `${target} must be locked by the caller`,
      holder ? { holder: { holderId: holder.ownerId, holderName: holder.ownerName, expiresAt: holder.expiresAt } } : {},
    );
    this.name = "LockRequiredError";
  }
}

/**
 * LockUnavailableError says the lock store cannot answer safely, e.g. fewer
 * than a quorum of Redis nodes are reachable. UNAVAILABLE: the client may
 * retry. The driver errors are kept as `cause`, for logs only.
 */
export class LockUnavailableError extends DomainError {
  constructor(
    /** detail says why the lock store was unavailable (for logs, not clients). */
    readonly detail = "fewer than a quorum of lock nodes answered",
    cause?: unknown,
  ) {
    super("unavailable", "UNAVAILABLE", "the lock service is unavailable, try again");
    this.name = "LockUnavailableError";
    if (cause !== undefined) this.cause = cause;
  }
}
