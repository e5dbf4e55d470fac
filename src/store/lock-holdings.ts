import { ormLockTargetStore } from "./lock-targets.js";
import type { Tx } from "./tx.js";

/**
 * releaseDeletedTarget marks a deleted macro's or repo's lock as no longer
 * held, so it stops counting against the quotas. Kept for the macros service
 * until it takes the LockTargetStore (src/store/lock-targets.ts) itself.
 */
export function releaseDeletedTarget(tx: Tx, roomId: string, target: string): Promise<void> {
  return ormLockTargetStore.markReleased(tx, roomId, target);
}
