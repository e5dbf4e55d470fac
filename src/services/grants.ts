import type { Principal } from "../context.js";
import { callerNow as callerNowIn } from "../app/users/caller.js";
import type { CallerNow } from "../domain/grant-rules.js";
import type { Tx } from "../store/tx.js";
import { ormUsersStore } from "../store/users.js";

/**
 * The level and grant rules for handlers not yet moved to use cases
 * (PoliciesService): the rules live in src/domain/grant-rules.ts, the
 * caller's effective permissions come from the users store.
 */
export { isSupergod, requireAssignableLevel, requireHeld, requireOutranks, type CallerNow } from "../domain/grant-rules.js";
export { requireUserPrincipal } from "../app/users/caller.js";

/** callerNow reads the caller's level and effective permissions in the call's transaction. */
export function callerNow(tx: Tx, principal: Principal): Promise<CallerNow> {
  return callerNowIn(ormUsersStore, tx, principal);
}
