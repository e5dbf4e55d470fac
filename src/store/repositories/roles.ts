import { RoleSchema, type RoleEntity } from "../entities/role.js";
import { UserRoleSchema } from "../entities/user-role.js";
import { NotFoundError } from "../errors.js";
import type { StoreEntityManager } from "../orm.js";
import { normalizeUuid } from "../tenant-scope.js";

/** Role queries; every function takes the tenant id and filters by it. */

/** NewRole is what createRole needs. */
export interface NewRole {
  name: string;
  description?: string;
  permissions?: string[];
  defaultPolicy?: Record<string, unknown> | null;
  builtin?: boolean;
}

/** createRole inserts a role in `tenantId` and answers it with its generated id. */
export async function createRole(em: StoreEntityManager, tenantId: string, role: NewRole): Promise<RoleEntity> {
  const entity = em.create(RoleSchema, { ...role, tenantId: normalizeUuid(tenantId, "tenant_id") });
  await em.flush();
  return entity;
}

/** findRoleById answers the tenant's role with `roleId`, or null. */
export function findRoleById(em: StoreEntityManager, tenantId: string, roleId: string): Promise<RoleEntity | null> {
  return em.findOne(RoleSchema, { tenantId: normalizeUuid(tenantId, "tenant_id"), id: normalizeUuid(roleId, "role_id") });
}

/** getRole is findRoleById that throws NotFoundError. */
export async function getRole(em: StoreEntityManager, tenantId: string, roleId: string): Promise<RoleEntity> {
  const role = await findRoleById(em, tenantId, roleId);
  if (!role) throw new NotFoundError("role not found");
  return role;
}

/** findRoleByName answers the tenant's role called `name`, or null. */
export function findRoleByName(em: StoreEntityManager, tenantId: string, name: string): Promise<RoleEntity | null> {
  return em.findOne(RoleSchema, { tenantId: normalizeUuid(tenantId, "tenant_id"), name });
}

/** listRoles answers every role of the tenant, by name. */
export function listRoles(em: StoreEntityManager, tenantId: string): Promise<RoleEntity[]> {
  return em.find(RoleSchema, { tenantId: normalizeUuid(tenantId, "tenant_id") }, { orderBy: { name: "asc" } });
}

/** listRolesOfUser answers the roles a user of the tenant holds, by name. */
export async function listRolesOfUser(em: StoreEntityManager, tenantId: string, userId: string): Promise<RoleEntity[]> {
  const tenant = normalizeUuid(tenantId, "tenant_id");
  const grants = await em.find(UserRoleSchema, { tenantId: tenant, userId: normalizeUuid(userId, "user_id") });
  if (grants.length === 0) return [];
  return em.find(
    RoleSchema,
    { tenantId: tenant, id: { $in: grants.map((grant) => grant.roleId) } },
    { orderBy: { name: "asc" } },
  );
}
