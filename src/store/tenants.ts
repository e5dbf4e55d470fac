import { builtInRoles } from "../domain/permissions.js";
import { RoleSchema } from "./entities/role.js";
import { TenantSchema } from "./entities/tenant.js";
import { UserRoleSchema } from "./entities/user-role.js";
import { UserSchema } from "./entities/user.js";
import { TENANT_SETTING } from "./tenant-scope.js";
import type { Tx } from "./tx.js";

/** TenantRow is a tenant as listed. */
export interface TenantRow {
  id: string;
  name: string;
  createdAt: Date;
}

/** NewTenant is a tenant to make with its first user. */
export interface NewTenant {
  name: string;
  adminUsername: string;
  adminPasswordHash: string;
  adminLevel: number;
  /** adminRole is the built-in role the first user gets. */
  adminRole: string;
  /** createdBy is the SUPERGOD creating it from their tenant; unset at bootstrap (a system transaction). */
  createdBy?: string;
}

/** ProvisionedAdmin is the first user of a new tenant, as the API shows users. */
export interface ProvisionedAdmin {
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

/** ProvisionedTenant is what provision made. */
export interface ProvisionedTenant {
  tenant: TenantRow;
  admin: ProvisionedAdmin;
}

/**
 * TenantStore owns the `tenants` rows and a new tenant's first rows. Finding,
 * listing and bootstrapping cross the tenant wall: they run in a system
 * transaction (Database.asSystem). CreateTenant provisions from the SUPERGOD
 * caller's tenant-scoped transaction through the SECURITY DEFINER function.
 */
export interface TenantStore {
  /** findIdByName answers the id of the tenant called `name`, or undefined. System only. */
  findIdByName(tx: Tx, name: string): Promise<string | undefined>;
  /** list answers up to `limit` tenants by name, after `afterName`. System only. */
  list(tx: Tx, page: { limit: number; afterName?: string }): Promise<TenantRow[]>;
  /**
   * provision makes a tenant, its built-in roles and its first user (with the
   * given level and role). With `createdBy` the tenant row comes from
   * gatehouse_create_tenant (migrations/0003-create-tenant.ts), which checks
   * that `createdBy` is an enabled SUPERGOD of the transaction's tenant;
   * without it (bootstrap, a system transaction) it is inserted directly.
   * Either way the transaction is left scoped to the new tenant.
   */
  provision(tx: Tx, input: NewTenant): Promise<ProvisionedTenant>;
  /** scopeTo scopes the rest of the transaction to `tenantId` (row-level security). */
  scopeTo(tx: Tx, tenantId: string): Promise<void>;
  /** passwordHashOf answers the password hash of `username` of the tenant called `tenantName`, if both exist. System only. */
  passwordHashOf(tx: Tx, tenantName: string, username: string): Promise<string | undefined>;
}

/** ormTenantStore is the TenantStore on MikroORM. */
export const ormTenantStore: TenantStore = {
  async findIdByName(tx, name) {
    const row = await tx.findOne(TenantSchema, { name }, { fields: ["id"], disableIdentityMap: true });
    return row?.id;
  },

  async list(tx, page) {
    const rows = await tx.find(TenantSchema, page.afterName === undefined ? {} : { name: { $gt: page.afterName } }, {
      orderBy: { name: "asc" },
      limit: page.limit,
      disableIdentityMap: true,
    });
    return rows.map((r) => ({ id: r.id, name: r.name, createdAt: r.createdAt }));
  },

  async provision(tx, input) {
    let tenantId: string;
    if (input.createdBy === undefined) {
      tenantId = (await tx.insert(TenantSchema, { name: input.name })) as string;
    } else {
      // Plain SQL: the tenant-creation function (SECURITY DEFINER) is the only way a tenant-scoped caller may add a tenant.
      const [row] = (await tx.execute("select tenant_id as id from gatehouse_create_tenant(?, ?)", [input.name, input.createdBy])) as Array<{ id: string }>;
      tenantId = row!.id;
    }
    // Rows of the new tenant are written under its own RLS scope.
    await ormTenantStore.scopeTo(tx, tenantId);
    const tenant = await tx.findOneOrFail(TenantSchema, { id: tenantId }, { disableIdentityMap: true });
    const roleIds = new Map<string, string>();
    for (const role of builtInRoles) {
      const id = await tx.insert(RoleSchema, { tenantId, name: role.name, description: role.description, permissions: [...role.permissions], builtin: true });
      roleIds.set(role.name, id as string);
    }
    const adminRoleId = roleIds.get(input.adminRole)!;
    const adminId = (await tx.insert(UserSchema, {
      tenantId,
      username: input.adminUsername,
      passwordHash: input.adminPasswordHash,
      level: input.adminLevel,
    })) as string;
    await tx.insert(UserRoleSchema, { tenantId, userId: adminId, roleId: adminRoleId });
    const admin = await tx.findOneOrFail(UserSchema, { id: adminId }, { disableIdentityMap: true });
    return {
      tenant: { id: tenant.id, name: tenant.name, createdAt: tenant.createdAt },
      admin: {
        id: admin.id,
        tenantId,
        username: admin.username,
        level: admin.level,
        disabled: admin.disabled,
        createdAt: admin.createdAt,
        updatedAt: admin.updatedAt,
        roleIds: [adminRoleId],
        roleNames: [input.adminRole],
      },
    };
  },

  async scopeTo(tx, tenantId) {
    // Plain SQL: a row-level security setting, which the ORM cannot express.
    await tx.execute(`select set_config('${TENANT_SETTING}', ?, true)`, [tenantId]);
  },

  async passwordHashOf(tx, tenantName, username) {
    const tenantId = await ormTenantStore.findIdByName(tx, tenantName);
    if (tenantId === undefined) return undefined;
    const user = await tx.findOne(UserSchema, { tenantId, username }, { fields: ["passwordHash"], disableIdentityMap: true });
    return user?.passwordHash;
  },
};
