import { UserRoleSchema } from "../entities/user-role.js";
import { UserSchema, type UserEntity } from "../entities/user.js";
import { NotFoundError } from "../errors.js";
import type { StoreEntityManager } from "../orm.js";
import { normalizeUuid } from "../tenant-scope.js";

/**
 * User queries. Every function takes the tenant id and filters by it, even
 * though row-level security would hide other tenants' rows anyway: two walls.
 */

/** NewUser is what createUser needs. */
export interface NewUser {
  username: string;
  passwordHash: string;
  level: number;
  disabled?: boolean;
}

/** createUser inserts a user in `tenantId` and answers it with its generated id. */
export async function createUser(em: StoreEntityManager, tenantId: string, user: NewUser): Promise<UserEntity> {
  const entity = em.create(UserSchema, { ...user, tenantId: normalizeUuid(tenantId, "tenant_id") });
  await em.flush();
  return entity;
}

/** findUserById answers the tenant's user with `userId`, or null (also for another tenant's id). */
export function findUserById(em: StoreEntityManager, tenantId: string, userId: string): Promise<UserEntity | null> {
  return em.findOne(UserSchema, { tenantId: normalizeUuid(tenantId, "tenant_id"), id: normalizeUuid(userId, "user_id") });
}

/** getUser is findUserById that throws NotFoundError. */
export async function getUser(em: StoreEntityManager, tenantId: string, userId: string): Promise<UserEntity> {
  const user = await findUserById(em, tenantId, userId);
  if (!user) throw new NotFoundError("user not found");
  return user;
}

/** findUserByUsername answers the tenant's user called `username`, or null. */
export function findUserByUsername(
  em: StoreEntityManager,
  tenantId: string,
  username: string,
): Promise<UserEntity | null> {
  return em.findOne(UserSchema, { tenantId: normalizeUuid(tenantId, "tenant_id"), username });
}

/** listUsers answers up to `limit` of the tenant's users ordered by username, after `afterUsername`. */
export function listUsers(
  em: StoreEntityManager,
  tenantId: string,
  page: { limit: number; afterUsername?: string },
): Promise<UserEntity[]> {
  const tenant = normalizeUuid(tenantId, "tenant_id");
  return em.find(
    UserSchema,
    page.afterUsername === undefined ? { tenantId: tenant } : { tenantId: tenant, username: { $gt: page.afterUsername } },
    { orderBy: { username: "asc" }, limit: page.limit },
  );
}

/** listUserRoleIds answers the ids of the roles a user holds. */
export async function listUserRoleIds(em: StoreEntityManager, tenantId: string, userId: string): Promise<string[]> {
  const rows = await em.find(UserRoleSchema, {
    tenantId: normalizeUuid(tenantId, "tenant_id"),
    userId: normalizeUuid(userId, "user_id"),
  });
  return rows.map((row) => row.roleId).sort();
}

/**
 * setUserRoles replaces a user's roles with `roleIds`. A role of another tenant
 * fails the composite foreign key (ForeignKeyError).
 */
export async function setUserRoles(
  em: StoreEntityManager,
  tenantId: string,
  userId: string,
  roleIds: readonly string[],
): Promise<void> {
  const tenant = normalizeUuid(tenantId, "tenant_id");
  const user = normalizeUuid(userId, "user_id");
  const wanted = [...new Set(roleIds.map((id) => normalizeUuid(id, "role_id")))];
  await em.nativeDelete(UserRoleSchema, { tenantId: tenant, userId: user, roleId: { $nin: wanted } });
  if (wanted.length > 0) {
    await em
      .createQueryBuilder(UserRoleSchema)
      .insert(wanted.map((roleId) => ({ tenantId: tenant, userId: user, roleId })))
      .onConflict(["userId", "roleId"])
      .ignore()
      .execute();
  }
}
