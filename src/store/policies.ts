import { LockMode, raw } from "@mikro-orm/core";
import type { PolicyValues } from "../domain/policy.js";
import { policyFromJson, policyToJson } from "../policies/policy-codec.js";
import { MacroPolicySchema } from "./entities/macro-policy.js";
import { GlobalPolicySchema, RoomPolicySchema, UserPolicySchema } from "./entities/policy-layers.js";
import { RoleSchema } from "./entities/role.js";
import { RoomSchema } from "./entities/room.js";
import { UserRoleSchema } from "./entities/user-role.js";
import { UserSchema } from "./entities/user.js";
import type { Tx } from "./tx.js";

/** RoleDefault is a role's default policy (empty when the role has none). */
export interface RoleDefault {
  name: string;
  policy: PolicyValues;
}

/** UserLayer is what the user layer of a user is made of. */
export interface UserLayer {
  /** override is the user's override policy, undefined when they have none. */
  override: PolicyValues | undefined;
  /** roles are the user's roles with their default policies, by name. */
  roles: RoleDefault[];
}

/** StoredMacroLayer is a macro's stored layer with the highest fencing token a write of it stored. */
export interface StoredMacroLayer {
  /** policy is undefined when the macro has no layer row. */
  policy: PolicyValues | undefined;
  fencingToken: bigint;
}

/** LayerWrite is a layer to store, with who writes it (null for a room-token principal). */
export interface LayerWrite {
  tenantId: string;
  policy: PolicyValues;
  updatedBy: string | null;
}

/**
 * PolicyStore is the one home of the stored policy layers: global_policy,
 * room_policies, macro_policies, user_policies, and the default policies of
 * roles (read here; a role's row is written by the roles store). Layers go
 * in and out as PolicyValues (stored as the JSON of policy-codec). Methods
 * take the caller's tenant transaction; `tenantId` arguments repeat the
 * tenant as a filter so that a system transaction reads one tenant too.
 */
export interface PolicyStore {
  /** global answers the global layer (with its override_ceiling). */
  global(tx: Tx): Promise<PolicyValues>;
  /** putGlobal writes the global layer; false when the transaction's tenant may not (row-level security: the platform tenant only). */
  putGlobal(tx: Tx, policy: PolicyValues, updatedBy: string | null): Promise<boolean>;
  /** roomLayer answers a room's layer (empty when unset); undefined when the tenant has no such room. */
  roomLayer(tx: Tx, tenantId: string, roomId: string): Promise<PolicyValues | undefined>;
  putRoomLayer(tx: Tx, roomId: string, layer: LayerWrite): Promise<void>;
  /** macroLayer answers a macro's layer (empty when unset). */
  macroLayer(tx: Tx, tenantId: string, roomId: string, macroId: string): Promise<PolicyValues>;
  /** lockMacroLayer reads a macro's layer row and locks it until the transaction ends. */
  lockMacroLayer(tx: Tx, roomId: string, macroId: string): Promise<StoredMacroLayer>;
  putMacroLayer(tx: Tx, roomId: string, macroId: string, layer: LayerWrite & { fencingToken: bigint }): Promise<void>;
  /** userOverride answers a user's override (undefined when none); undefined as a whole when the tenant has no such user. */
  userOverride(tx: Tx, tenantId: string, userId: string): Promise<{ override: PolicyValues | undefined } | undefined>;
  /** lockUserOverride reads a user's override and locks its row (if any) until the transaction ends. */
  lockUserOverride(tx: Tx, userId: string): Promise<PolicyValues | undefined>;
  putUserOverride(tx: Tx, userId: string, layer: LayerWrite): Promise<void>;
  /** deleteUserOverride removes a user's override and answers what it was. */
  deleteUserOverride(tx: Tx, userId: string): Promise<PolicyValues | undefined>;
  /** userLayer answers a user's override and their roles' default policies by name; undefined when no such user. */
  userLayer(tx: Tx, tenantId: string, userId: string): Promise<UserLayer | undefined>;
  /** roleDefaults answers the default policies of the tenant's roles of these names, by name (unknown names are skipped). */
  roleDefaults(tx: Tx, tenantId: string, names: readonly string[]): Promise<RoleDefault[]>;
}

const stored = (policy: PolicyValues): Record<string, unknown> => policyToJson(policy);

/** ormPolicyStore is PolicyStore on MikroORM (native reads and writes: nothing is left managed). */
export const ormPolicyStore: PolicyStore = {
  async global(tx) {
    const row = await tx.findOne(GlobalPolicySchema, { id: true }, { fields: ["id", "policy"], disableIdentityMap: true });
    return policyFromJson(row?.policy);
  },

  async putGlobal(tx, policy, updatedBy) {
    const updated = await tx.nativeUpdate(GlobalPolicySchema, { id: true }, { policy: stored(policy), updatedAt: raw("now()"), updatedBy });
    return updated > 0;
  },

  async roomLayer(tx, tenantId, roomId) {
    const rows = await tx
      .createQueryBuilder(RoomSchema, "r")
      .select(["r.id", "p.policy"])
      .leftJoin(tx.createQueryBuilder(RoomPolicySchema, "p0").select(["p0.roomId", "p0.policy"]), "p", { "p.room_id": raw("r.id") } as never)
      .where({ id: roomId, tenantId })
      .execute<Array<{ id: string; policy: unknown }>>("all", false);
    if (rows.length === 0) return undefined;
    return policyFromJson(rows[0]!.policy);
  },

  async putRoomLayer(tx, roomId, layer) {
    await tx
      .createQueryBuilder(RoomPolicySchema)
      .insert({ tenantId: layer.tenantId, roomId, policy: stored(layer.policy), updatedBy: layer.updatedBy })
      .onConflict(["roomId"])
      .merge({ policy: stored(layer.policy), updatedAt: raw("now()"), updatedBy: layer.updatedBy })
      .execute();
  },

  async macroLayer(tx, tenantId, roomId, macroId) {
    const row = await tx.findOne(MacroPolicySchema, { roomId, macroId, tenantId }, { fields: ["roomId", "macroId", "policy"], disableIdentityMap: true });
    return policyFromJson(row?.policy);
  },

  async lockMacroLayer(tx, roomId, macroId) {
    const rows = await tx
      .createQueryBuilder(MacroPolicySchema, "m")
      .select(["m.policy", "m.fencingToken"])
      .where({ roomId, macroId })
      .setLockMode(LockMode.PESSIMISTIC_WRITE)
      .execute<Array<{ policy: unknown; fencing_token: string | number | bigint }>>("all", false);
    const row = rows[0];
    return row ? { policy: policyFromJson(row.policy), fencingToken: BigInt(row.fencing_token) } : { policy: undefined, fencingToken: 0n };
  },

  async putMacroLayer(tx, roomId, macroId, layer) {
    const token = layer.fencingToken;
    await tx
      .createQueryBuilder(MacroPolicySchema)
      .insert({ tenantId: layer.tenantId, roomId, macroId, policy: stored(layer.policy), fencingToken: token, updatedBy: layer.updatedBy })
      .onConflict(["roomId", "macroId"])
      .merge({ policy: stored(layer.policy), fencingToken: token, updatedAt: raw("now()"), updatedBy: layer.updatedBy })
      .execute();
  },

  async userOverride(tx, tenantId, userId) {
    const rows = await tx
      .createQueryBuilder(UserSchema, "u")
      .select(["u.id", "p.policy"])
      .leftJoin(tx.createQueryBuilder(UserPolicySchema, "p0").select(["p0.userId", "p0.policy"]), "p", { "p.user_id": raw("u.id") } as never)
      .where({ id: userId, tenantId })
      .execute<Array<{ id: string; policy: unknown }>>("all", false);
    if (rows.length === 0) return undefined;
    const policy = rows[0]!.policy;
    return { override: policy === null || policy === undefined ? undefined : policyFromJson(policy) };
  },

  async lockUserOverride(tx, userId) {
    const rows = await tx
      .createQueryBuilder(UserPolicySchema, "p")
      .select(["p.policy"])
      .where({ userId })
      .setLockMode(LockMode.PESSIMISTIC_WRITE)
      .execute<Array<{ policy: unknown }>>("all", false);
    return rows[0] ? policyFromJson(rows[0].policy) : undefined;
  },

  async putUserOverride(tx, userId, layer) {
    await tx
      .createQueryBuilder(UserPolicySchema)
      .insert({ tenantId: layer.tenantId, userId, policy: stored(layer.policy), updatedBy: layer.updatedBy })
      .onConflict(["userId"])
      .merge({ policy: stored(layer.policy), updatedAt: raw("now()"), updatedBy: layer.updatedBy })
      .execute();
  },

  async deleteUserOverride(tx, userId) {
    const before = await ormPolicyStore.lockUserOverride(tx, userId);
    if (before === undefined) return undefined;
    await tx.nativeDelete(UserPolicySchema, { userId });
    return before;
  },

  async userLayer(tx, tenantId, userId) {
    const found = await ormPolicyStore.userOverride(tx, tenantId, userId);
    if (!found) return undefined;
    const roles = await tx
      .createQueryBuilder(RoleSchema, "r")
      .select(["r.name", "r.defaultPolicy"])
      .join(tx.createQueryBuilder(UserRoleSchema, "ur0").select(["ur0.roleId"]).where({ userId }), "ur", { "ur.role_id": raw("r.id") } as never)
      .orderBy({ name: "asc" })
      .execute<Array<{ name: string; default_policy: unknown }>>("all", false);
    return { override: found.override, roles: roles.map((role) => ({ name: role.name, policy: policyFromJson(role.default_policy) })) };
  },

  async roleDefaults(tx, tenantId, names) {
    if (names.length === 0) return [];
    const rows = await tx.find(RoleSchema, { tenantId, name: { $in: [...names] } }, { fields: ["id", "name", "defaultPolicy"], orderBy: { name: "asc" }, disableIdentityMap: true });
    return rows.map((row) => ({ name: row.name, policy: policyFromJson(row.defaultPolicy) }));
  },
};
