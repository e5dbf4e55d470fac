import type { Database } from "../store/database.js";
import type { FencingCounter } from "./fencing.js";

/**
 * createPostgresFencingCounter issues fencing tokens from the `lock_targets`
 * table: durable, strictly increasing per target across restarts and Redis
 * failures. `scope` is `<tenantId>/<roomId>`. Inside a unit of work it joins
 * the call's transaction.
 */
export function createPostgresFencingCounter(db: Database): FencingCounter {
  return {
    async next(scope, target) {
      const [tenantId, roomId] = scope.split("/");
      if (!tenantId || !roomId) throw new Error(`bad lock scope ${scope}`);
      return db.inTenant(tenantId, async (em) => {
        const rows = (await em.execute(
          `insert into lock_targets (tenant_id, room_id, target, last_token) values (?, ?, ?, 1)
           on conflict (tenant_id, room_id, target) do update set last_token = lock_targets.last_token + 1
           returning last_token`,
          [tenantId, roomId, target],
        )) as Array<{ last_token: string | number }>;
        return BigInt(rows[0]!.last_token);
      });
    },
  };
}
