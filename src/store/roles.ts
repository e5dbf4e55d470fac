import { LockMode } from "@mikro-orm/core";
import { RoleSchema, type RoleEntity } from "./entities/role.js";
import type { Tx } from "./tx.js";

/**
 * The roles aggregate: a tenant's named sets of permission keys with a
 * default sandbox policy. Grants of roles to users belong to the users store.
 * Reads skip the identity map (see users.ts).
 */

/** RoleRecord is a role row. */
export interface RoleRecord {
  id: string;
  tenantId: string;
  name: string;
  description: string;
  permissions: string[];
  /** defaultPolicy is the stored JSON of the role's default policy, or null. */
  defaultPolicy: unknown;
  builtin: boolean;
  createdAt: Date;
  updatedAt: Date;
}

/** NewRoleRow is what create inserts. */
export interface NewRoleRow {
  tenantId: string;
  name: string;
  description: string;
  permissions: string[];
  defaultPolicy: Record<string, unknown> | null;
}

/** RolesStore owns the rows of `roles`. */
export interface RolesStore {
  get(tx: Tx, id: string, options?: { lock?: boolean }): Promise<RoleRecord | undefined>;
  /** list answers up to `limit` roles ordered by name, after `after`. */
  list(tx: Tx, page: { limit: number; after?: string }): Promise<RoleRecord[]>;
  create(tx: Tx, role: NewRoleRow): Promise<RoleRecord>;
  delete(tx: Tx, id: string): Promise<void>;
  setPermissions(tx: Tx, id: string, permissions: readonly string[]): Promise<RoleRecord>;
  setDefaultPolicy(tx: Tx, id: string, policy: Record<string, unknown> | null): Promise<RoleRecord>;
}

const fresh = { disableIdentityMap: true } as const;

function record(row: RoleEntity): RoleRecord {
  return {
    id: row.id,
    tenantId: row.tenantId,
    name: row.name,
    description: row.description,
    permissions: [...row.permissions],
    defaultPolicy: row.defaultPolicy,
    builtin: row.builtin,
    createdAt: new Date(row.createdAt),
    updatedAt: new Date(row.updatedAt),
  };
}

async function get(tx: Tx, id: string, options: { lock?: boolean } = {}): Promise<RoleRecord | undefined> {
  const row = await tx.findOne(RoleSchema, { id }, options.lock ? { ...fresh, lockMode: LockMode.PESSIMISTIC_WRITE } : fresh);
  return row ? record(row) : undefined;
}

async function mustGet(tx: Tx, id: string): Promise<RoleRecord> {
  const role = await get(tx, id);
  if (!role) throw new Error(`role ${id} vanished inside its transaction`);
  return role;
}

/** ormRolesStore is the RolesStore on MikroORM. */
export const ormRolesStore: RolesStore = {
  get,

  async list(tx, { limit, after }) {
    const rows = await tx.find(RoleSchema, after === undefined ? {} : { name: { $gt: after } }, { ...fresh, orderBy: { name: "asc" }, limit });
    return rows.map(record);
  },

  async create(tx, role) {
    const id = await tx.insert(RoleSchema, { ...role, permissions: [...role.permissions] });
    return mustGet(tx, String(id));
  },

  async delete(tx, id) {
    await tx.nativeDelete(RoleSchema, { id });
  },

  async setPermissions(tx, id, permissions) {
    await tx.nativeUpdate(RoleSchema, { id }, { permissions: [...permissions], updatedAt: new Date() });
    return mustGet(tx, id);
  },

  async setDefaultPolicy(tx, id, policy) {
    await tx.nativeUpdate(RoleSchema, { id }, { defaultPolicy: policy, updatedAt: new Date() });
    return mustGet(tx, id);
  },
};

/**
 * storedGlobalPolicy reads the stored JSON of the global policy layer, fresh
 * in `tx` (a role's default policy is checked against its ceiling as it is
 * now, not as cached). Plain SQL because `global_policy` has no entity on
 * this branch: the policy-layers store owns it and replaces this read.
 */
export async function storedGlobalPolicy(tx: Tx): Promise<unknown> {
  const rows = (await tx.execute("select policy from global_policy where id")) as Array<{ policy: unknown }>;
  return rows[0]?.policy;
}
