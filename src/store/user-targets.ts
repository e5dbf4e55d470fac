import type { StoreEntityManager } from "./orm.js";

/**
 * Reads of the user a management call acts on (UsersService.UnlockUser,
 * PoliciesService.UpdateUserPolicy/DeleteUserPolicy): enough to apply the
 * level rule and to name the account. Run in the caller's tenant-scoped
 * transaction; row-level security hides other tenants' users.
 */

/** TargetUser is the user a management call acts on. */
export interface TargetUser {
  id: string;
  username: string;
  level: number;
  /** tenantName is the name of the user's tenant (the login guard keys lockouts by it). */
  tenantName: string;
}

/**
 * lockTargetUser reads a user of the tenant and locks its row until the
 * transaction ends (so a concurrent UpdateUser can't raise its level in
 * between); undefined when there is no such user in the tenant.
 */
export async function lockTargetUser(em: StoreEntityManager, userId: string): Promise<TargetUser | undefined> {
  const rows = (await em.execute(
    "select u.id, u.username, u.level, t.name as tenant_name from users u join tenants t on t.id = u.tenant_id where u.id = ? for update of u",
    [userId],
  )) as Array<{ id: string; username: string; level: number; tenant_name: string }>;
  const row = rows[0];
  return row && { id: row.id, username: row.username, level: row.level, tenantName: row.tenant_name };
}
