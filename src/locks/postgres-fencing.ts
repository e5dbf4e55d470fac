import type { Database } from "../store/database.js";
import type { LockTargetStore } from "../store/lock-targets.js";
import type { FencingCounter } from "./fencing.js";

/**
 * createPostgresFencingCounter issues fencing tokens from the `lock_targets`
 * table: durable, strictly increasing per target across restarts and Redis
 * failures. `scope` is `<tenantId>/<roomId>`. Inside a unit of work it joins
 * the call's transaction.
 */
export function createPostgresFencingCounter(db: Database, lockTargets: LockTargetStore): FencingCounter {
  return {
    async next(scope, target) {
      const [tenantId, roomId] = scope.split("/");
      if (!tenantId || !roomId) throw new Error(`bad lock scope ${scope}`);
      return db.inTenant(tenantId, (tx) => lockTargets.nextFencingToken(tx, tenantId, roomId, target));
    },
  };
}
