import { LockMode } from "@mikro-orm/core";
import { RoleSchema } from "./entities/role.js";
import { TenantSchema } from "./entities/tenant.js";
import { UserRoleSchema } from "./entities/user-role.js";
import { UserSchema } from "./entities/user.js";
import { normalizeUuid } from "./tenant-scope.js";
import type { Tx } from "./tx.js";

/**
 * The users aggregate: users and the roles granted to them (`user_roles`).
 * Every function runs in a tenant-scoped transaction (row-level security hides
 * other tenants' rows), except findInTenantNamed, which runs as the system.
 * Reads skip the identity map: a row changed by a native update earlier in
 * the same transaction must be read as it is now.
 */

/** UserRecord is a user without secrets, with the roles granted to it (ordered by role name). */
export interface UserRecord {
  id: string;
  tenantId: string;
  username: string;
  level: number;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
  roleIds: string[];
  roleNames: string[];
}

/** UserGrants are a user's roles (by name) and the union of their permission keys: the user's effective permissions. */
export interface UserGrants {
  roleIds: string[];
  roleNames: string[];
  permissions: ReadonlySet<string>;
}

/** UserAccess is what a permission decision needs of a user: level, disabled flag and effective permissions. */
export interface UserAccess {
  userId: string;
  level: number;
  disabled: boolean;
  permissions: ReadonlySet<string>;
}

/** LockedUser is a user row locked until the transaction ends. */
export interface LockedUser {
  id: string;
  username: string;
  level: number;
  disabled: boolean;
}

/** TargetUser is the user a management call acts on, with its tenant's name (lockouts are keyed by it). */
export interface TargetUser {
  id: string;
  username: string;
  level: number;
  tenantName: string;
}

/** Credentials are what a password check needs. */
export interface Credentials {
  id: string;
  passwordHash: string;
  disabled: boolean;
}

/** NewUserRow is what create inserts. */
export interface NewUserRow {
  tenantId: string;
  username: string;
  passwordHash: string;
  level: number;
}

/** GrantedRole is a role as a grant needs it: id, name and keys. */
export interface GrantedRole {
  id: string;
  name: string;
  permissions: string[];
}

/** UsersStore owns the rows of `users` and `user_roles`. */
export interface UsersStore {
  /** get answers a user with its roles, or undefined. */
  get(tx: Tx, id: string): Promise<UserRecord | undefined>;
  /** list answers up to `limit` users ordered by username, after `after`. */
  list(tx: Tx, page: { limit: number; after?: string }): Promise<UserRecord[]>;
  /** credentialsByUsername answers the login facts of a user, or undefined. */
  credentialsByUsername(tx: Tx, username: string): Promise<Credentials | undefined>;
  /** lockCredentials reads a user's login facts and locks the row. */
  lockCredentials(tx: Tx, id: string): Promise<Credentials | undefined>;
  /** lock reads a user and locks its row until the transaction ends. */
  lock(tx: Tx, id: string): Promise<LockedUser | undefined>;
  /** lockTarget is lock plus the name of the user's tenant. */
  lockTarget(tx: Tx, id: string): Promise<TargetUser | undefined>;
  /** accessOf answers the level, disabled flag and effective permissions of each user found. */
  accessOf(tx: Tx, ids: readonly string[]): Promise<Map<string, UserAccess>>;
  /** grantsOf answers each user's roles and effective permissions (users with no role get empty grants). */
  grantsOf(tx: Tx, userIds: readonly string[]): Promise<Map<string, UserGrants>>;
  /** rolesByIds reads the tenant's roles with these ids (only those found). */
  rolesByIds(tx: Tx, ids: readonly string[]): Promise<GrantedRole[]>;
  /** roleIdsOf answers the ids of the roles granted to a user. */
  roleIdsOf(tx: Tx, userId: string): Promise<string[]>;
  /** create inserts a user and answers its id. */
  create(tx: Tx, user: NewUserRow): Promise<string>;
  /** update sets level and disabled flag. */
  update(tx: Tx, id: string, change: { level: number; disabled: boolean }): Promise<void>;
  /** touch marks a user changed (its roles changed). */
  touch(tx: Tx, id: string): Promise<void>;
  /** setPasswordHash replaces a user's password hash. */
  setPasswordHash(tx: Tx, id: string, passwordHash: string): Promise<void>;
  /** delete removes a user; sessions, grants and memberships cascade. */
  delete(tx: Tx, id: string): Promise<void>;
  /** grant gives a user roles of its tenant. */
  grant(tx: Tx, tenantId: string, userId: string, roleIds: readonly string[]): Promise<void>;
  /** revoke takes roles from a user. */
  revoke(tx: Tx, userId: string, roleIds: readonly string[]): Promise<void>;
  /** findInTenantNamed finds a user by tenant name and username across tenants (system transaction only). */
  findInTenantNamed(tx: Tx, tenantName: string, username: string): Promise<{ tenantId: string; userId: string } | undefined>;
}

const fresh = { disableIdentityMap: true } as const;
const userFields = ["id", "tenantId", "username", "level", "disabled", "createdAt", "updatedAt"] as const;

interface UserRow {
  id: string;
  tenantId: string;
  username: string;
  level: number;
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const noGrants: UserGrants = { roleIds: [], roleNames: [], permissions: new Set() };

/**
 * grantColumns selects the effective permissions of the user whose id is the
 * SQL expression `userId`: the ids and names of the roles granted (ordered
 * by role name) and the union of their keys. It is THE one definition:
 * grantsOf and the session read (sessions.ts) both select it. Plain SQL:
 * array aggregation over unnest() the query builder cannot say, and the
 * session read needs it in its one query (read through the ORM as session,
 * user, grants and roles, one uncached session read took ~4x the node CPU:
 * 4.3-7.3 ms against 1.0-2.7 ms on a busy two-core machine).
 */
export function grantColumns(userId: string): string {
  const held = `from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = ${userId}`;
  return `coalesce((select array_agg(r.id order by r.name) ${held}), '{}') as role_ids,
       coalesce((select array_agg(r.name order by r.name) ${held}), '{}') as role_names,
       coalesce((select array_agg(distinct p) from user_roles ur join roles r on r.id = ur.role_id, unnest(r.permissions) p where ur.user_id = ${userId}), '{}') as permissions`;
}

/** GrantRow is what grantColumns selects. */
export interface GrantRow {
  role_ids: string[] | null;
  role_names: string[] | null;
  permissions: string[] | null;
}

/** grantsOfRow turns the columns of grantColumns into UserGrants. */
export function grantsOfRow(row: GrantRow): UserGrants {
  return { roleIds: row.role_ids ?? [], roleNames: row.role_names ?? [], permissions: new Set(row.permissions ?? []) };
}

/** uuidArray writes a Postgres array literal of uuids (each checked, so nothing else can be spliced in). */
function uuidArray(ids: readonly string[]): string {
  return `{${ids.map((id) => normalizeUuid(id, "user_id")).join(",")}}`;
}

/** grantsOf answers each user's roles and effective permissions, in one query (see grantColumns). */
async function grantsOf(tx: Tx, userIds: readonly string[]): Promise<Map<string, UserGrants>> {
  const result = new Map<string, UserGrants>();
  if (userIds.length === 0) return result;
  // Plain SQL: grantColumns (see there).
  const rows = (await tx.execute(`select x.id as user_id, ${grantColumns("x.id")} from unnest(?::uuid[]) as x(id)`, [uuidArray(userIds)])) as Array<
    GrantRow & { user_id: string }
  >;
  for (const row of rows) result.set(row.user_id, grantsOfRow(row));
  // Ids as given (the caller's spelling) answer too.
  for (const id of userIds) if (!result.has(id)) result.set(id, result.get(id.toLowerCase()) ?? noGrants);
  return result;
}

function withGrants(row: UserRow, grants: UserGrants | undefined): UserRecord {
  return {
    id: row.id,
    tenantId: row.tenantId,
    username: row.username,
    level: row.level,
    disabled: row.disabled,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
    roleIds: grants?.roleIds ?? [],
    roleNames: grants?.roleNames ?? [],
  };
}

async function lock(tx: Tx, id: string): Promise<LockedUser | undefined> {
  const row = await tx.findOne(
    UserSchema,
    { id },
    { ...fresh, lockMode: LockMode.PESSIMISTIC_WRITE, fields: ["id", "username", "level", "disabled", "tenantId"] },
  );
  return row ? { id: row.id, username: row.username, level: row.level, disabled: row.disabled } : undefined;
}

/** ormUsersStore is the UsersStore on MikroORM. */
export const ormUsersStore: UsersStore = {
  async get(tx, id) {
    const row = await tx.findOne(UserSchema, { id }, { ...fresh, fields: [...userFields] });
    if (!row) return undefined;
    return withGrants(row, (await grantsOf(tx, [row.id])).get(row.id));
  },

  async list(tx, { limit, after }) {
    const rows = await tx.find(UserSchema, after === undefined ? {} : { username: { $gt: after } }, {
      ...fresh,
      fields: [...userFields],
      orderBy: { username: "asc" },
      limit,
    });
    const grants = await grantsOf(tx, rows.map((r) => r.id));
    return rows.map((row) => withGrants(row, grants.get(row.id)));
  },

  async credentialsByUsername(tx, username) {
    const row = await tx.findOne(UserSchema, { username }, { ...fresh, fields: ["id", "passwordHash", "disabled"] });
    return row ? { id: row.id, passwordHash: row.passwordHash, disabled: row.disabled } : undefined;
  },

  async lockCredentials(tx, id) {
    const row = await tx.findOne(UserSchema, { id }, { ...fresh, lockMode: LockMode.PESSIMISTIC_WRITE, fields: ["id", "passwordHash", "disabled"] });
    return row ? { id: row.id, passwordHash: row.passwordHash, disabled: row.disabled } : undefined;
  },

  lock,

  async lockTarget(tx, id) {
    const row = await tx.findOne(UserSchema, { id }, { ...fresh, lockMode: LockMode.PESSIMISTIC_WRITE, fields: ["id", "username", "level", "tenantId"] });
    if (!row) return undefined;
    const tenant = await tx.findOne(TenantSchema, { id: row.tenantId }, { ...fresh, fields: ["id", "name"] });
    return { id: row.id, username: row.username, level: row.level, tenantName: tenant?.name ?? "" };
  },

  async accessOf(tx, ids) {
    const rows = ids.length === 0 ? [] : await tx.find(UserSchema, { id: { $in: [...ids] } }, { ...fresh, fields: ["id", "level", "disabled"] });
    const grants = await grantsOf(tx, rows.map((r) => r.id));
    return new Map(
      rows.map((r) => [r.id, { userId: r.id, level: r.level, disabled: r.disabled, permissions: grants.get(r.id)?.permissions ?? new Set<string>() }]),
    );
  },

  grantsOf,

  async rolesByIds(tx, ids) {
    if (ids.length === 0) return [];
    const rows = await tx.find(RoleSchema, { id: { $in: [...ids] } }, { ...fresh, fields: ["id", "name", "permissions"] });
    return rows.map((r) => ({ id: r.id, name: r.name, permissions: [...r.permissions] }));
  },

  async roleIdsOf(tx, userId) {
    const rows = await tx.find(UserRoleSchema, { userId }, fresh);
    return rows.map((r) => r.roleId);
  },

  async create(tx, user) {
    const id = await tx.insert(UserSchema, { ...user });
    return String(id);
  },

  async update(tx, id, change) {
    await tx.nativeUpdate(UserSchema, { id }, { level: change.level, disabled: change.disabled, updatedAt: new Date() });
  },

  async touch(tx, id) {
    await tx.nativeUpdate(UserSchema, { id }, { updatedAt: new Date() });
  },

  async setPasswordHash(tx, id, passwordHash) {
    await tx.nativeUpdate(UserSchema, { id }, { passwordHash, updatedAt: new Date() });
  },

  async delete(tx, id) {
    await tx.nativeDelete(UserSchema, { id });
  },

  async grant(tx, tenantId, userId, roleIds) {
    if (roleIds.length === 0) return;
    await tx.insertMany(UserRoleSchema, roleIds.map((roleId) => ({ tenantId, userId, roleId })));
  },

  async revoke(tx, userId, roleIds) {
    if (roleIds.length === 0) return;
    await tx.nativeDelete(UserRoleSchema, { userId, roleId: { $in: [...roleIds] } });
  },

  async findInTenantNamed(tx, tenantName, username) {
    const tenant = await tx.findOne(TenantSchema, { name: tenantName }, { ...fresh, fields: ["id"] });
    if (!tenant) return undefined;
    const user = await tx.findOne(UserSchema, { tenantId: tenant.id, username }, { ...fresh, fields: ["id"] });
    return user ? { tenantId: tenant.id, userId: user.id } : undefined;
  },
};
