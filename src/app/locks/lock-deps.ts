import type { Config } from "../../config.js";
import type { Principal } from "../../context.js";
import { isUuid } from "../../domain/ids.js";
import type { LockManager } from "../../locks/lock-manager.js";
import type { LockTarget } from "../../locks/lock-targets.js";
import type { LockHolderRef, LockTargetStore } from "../../store/lock-targets.js";

/** LockDeps is what the lock use cases use: the lease manager, the bookkeeping store and the lease and quota limits. */
export interface LockDeps {
  locks: LockManager;
  lockTargets: LockTargetStore;
  config: Pick<Config, "lockMinTtlSeconds" | "locksPerUser" | "locksPerTenant">;
}

/** LockInput names one lock: a room and a parsed target. */
export interface LockInput {
  roomId: string;
  target: LockTarget;
}

/** holderOf is the caller as lock_targets records it: a user by id, a room token (no uuid) by name only. */
export function holderOf(principal: Principal): LockHolderRef {
  return { id: isUuid(principal.userId) ? principal.userId : null, name: principal.username };
}
