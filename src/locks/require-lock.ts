import type { Principal } from "../context.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import type { LockManager } from "./lock-manager.js";
import { lockScope } from "./lock-targets.js";

/**
 * writeToken checks that the caller holds `target`'s lock now and answers
 * the fencing token its write must carry: the one the client sent (a client
 * that cached its token proves which lease it acts under) or the held lock's.
 * Not held → FAILED_PRECONDITION LOCK_REQUIRED (from assertHeld).
 */
export async function writeToken(locks: LockManager, principal: Principal, roomId: string, target: string, sent?: bigint): Promise<bigint> {
  const held = await locks.assertHeld(lockScope(principal.tenantId, roomId), target, principal.userId);
  if (sent === undefined) return held.fencingToken;
  if (sent > held.fencingToken) throw invalidArgument("fencing_token", `is newer than the lock's token ${held.fencingToken}`, sent.toString());
  return sent;
}

/** staleToken is the error of a write whose token is lower than the one stored. */
export function staleToken(target: string, sent: bigint, stored: bigint): DomainError {
  return new DomainError("failed_precondition", "STALE_FENCING_TOKEN", `${target} was written under a newer lock (token ${stored}); this write's token ${sent} is stale`, {
    field: "fencing_token",
    attemptedValue: sent.toString(),
    parentValue: stored.toString(),
  });
}
