import type { StoreEntityManager } from "./orm.js";
import { ormUsersStore, type TargetUser } from "./users.js";

/**
 * Reads of the user a management call acts on, for handlers not yet on use
 * cases (PoliciesService.UpdateUserPolicy/DeleteUserPolicy): the users store
 * owns the query (ormUsersStore.lockTarget).
 */
export type { TargetUser } from "./users.js";

/**
 * lockTargetUser reads a user of the tenant and locks its row until the
 * transaction ends (so a concurrent UpdateUser can't raise its level in
 * between); undefined when there is no such user in the tenant.
 */
export function lockTargetUser(em: StoreEntityManager, userId: string): Promise<TargetUser | undefined> {
  return ormUsersStore.lockTarget(em, userId);
}
