import { LockMode, raw } from "@mikro-orm/core";
import { RoleSchema } from "./entities/role.js";
import { RoomMemberSchema } from "./entities/room-member.js";
import { RoomSchema } from "./entities/room.js";
import { UserSchema } from "./entities/user.js";
import type { Tx } from "./tx.js";

/** RoomRecord is a room as the API shows it (never its token key). */
export interface RoomRecord {
  id: string;
  tenantId: string;
  name: string;
  createdAt: Date;
}

/** MemberRecord is one member of a room with their username. */
export interface MemberRecord {
  userId: string;
  username: string;
  /** role is the RoomRole value (1 viewer, 2 editor, 3 admin). */
  role: number;
}

/** NewRoom is what RoomStore.create needs. */
export interface NewRoom {
  tenantId: string;
  name: string;
  tokenKey: Buffer;
}

/** PageAfter asks for at most `limit` rows ordered by name, after the cursor `after`. */
export interface PageAfter {
  after: string | undefined;
  limit: number;
}

/** RoomAccessRow answers whether a room exists and the user's membership role in it (undefined: no member). */
export interface RoomAccessRow {
  exists: boolean;
  role: number | undefined;
}

/** TokenRoom is what a room token needs of its room, read across tenants. */
export interface TokenRoom {
  tenantId: string;
  tokenKey: Buffer;
  /** viewerPermissions and editorPermissions are the tenant's built-in roles' keys, undefined when the role is missing. */
  viewerPermissions: string[] | undefined;
  editorPermissions: string[] | undefined;
}

/**
 * RoomStore owns `rooms` and `room_members`. Every method takes the caller's
 * tenant transaction (row-level security hides other tenants' rooms) except
 * tokenRoom, which a room token calls as a system read.
 */
export interface RoomStore {
  create(tx: Tx, room: NewRoom): Promise<RoomRecord>;
  get(tx: Tx, roomId: string): Promise<RoomRecord | undefined>;
  /** list answers the tenant's rooms ordered by name. */
  list(tx: Tx, page: PageAfter): Promise<RoomRecord[]>;
  /** delete removes a room (members, policies, macros, repos, records go by their foreign keys) and answers its name. */
  delete(tx: Tx, roomId: string): Promise<{ name: string } | undefined>;
  /** lock takes the room's row lock until the transaction ends (serializes membership changes); false when no such room. */
  lock(tx: Tx, roomId: string): Promise<boolean>;
  /** memberRoles answers the user's membership role in each of `roomIds` where they are a member. */
  memberRoles(tx: Tx, userId: string, roomIds: readonly string[]): Promise<Map<string, number>>;
  memberRole(tx: Tx, roomId: string, userId: string): Promise<number | undefined>;
  /** putMember adds a member or changes their role. */
  putMember(tx: Tx, member: { tenantId: string; roomId: string; userId: string; role: number }): Promise<void>;
  /** removeMember answers whether there was such a member. */
  removeMember(tx: Tx, roomId: string, userId: string): Promise<boolean>;
  /** countAdminsExcept counts the room's ADMIN members other than `userId`. */
  countAdminsExcept(tx: Tx, roomId: string, userId: string, adminRole: number): Promise<number>;
  /** listMembers answers the room's members ordered by username. */
  listMembers(tx: Tx, roomId: string, page: PageAfter): Promise<MemberRecord[]>;
  /** usernameOf answers a user's name, undefined when the tenant has no such user (who may become a member). */
  usernameOf(tx: Tx, userId: string): Promise<string | undefined>;
  /** tokenKey answers the room's token key and tenant. */
  tokenKey(tx: Tx, roomId: string): Promise<{ tenantId: string; tokenKey: Buffer } | undefined>;
  /** access answers, in one query, whether the room exists and the user's membership role in it. */
  access(tx: Tx, roomId: string, userId: string): Promise<RoomAccessRow>;
  /** tokenRoom reads a room by id across tenants (system transaction), with its tenant's built-in viewer/editor permissions. */
  tokenRoom(tx: Tx, roomId: string): Promise<TokenRoom | undefined>;
}

const roomFields = ["id", "tenantId", "name", "createdAt"] as const;

function record(row: { id: string; tenantId: string; name: string; createdAt: Date }): RoomRecord {
  return { id: row.id, tenantId: row.tenantId, name: row.name, createdAt: new Date(row.createdAt) };
}

/**
 * ormRoomStore is RoomStore on MikroORM. Reads skip the identity map and
 * writes are native: the store hands out plain records, so nothing is left
 * managed for a later flush of the call's transaction to write back.
 */
export const ormRoomStore: RoomStore = {
  async create(tx, room) {
    // A native insert: the id and created_at come back from the database's defaults.
    const result = await tx.createQueryBuilder(RoomSchema).insert({ tenantId: room.tenantId, name: room.name, tokenKey: room.tokenKey }).execute("run");
    const row = result.row as { id: string; created_at: Date | string };
    return { id: row.id, tenantId: room.tenantId, name: room.name, createdAt: new Date(row.created_at) };
  },

  async get(tx, roomId) {
    const row = await tx.findOne(RoomSchema, { id: roomId }, { fields: [...roomFields], disableIdentityMap: true });
    return row ? record(row) : undefined;
  },

  async list(tx, page) {
    const rows = await tx.find(RoomSchema, page.after === undefined ? {} : { name: { $gt: page.after } }, {
      fields: [...roomFields],
      disableIdentityMap: true,
      orderBy: { name: "asc" },
      limit: page.limit,
    });
    return rows.map(record);
  },

  async delete(tx, roomId) {
    const row = await tx.findOne(RoomSchema, { id: roomId }, { fields: ["id", "name"], disableIdentityMap: true });
    if (!row) return undefined;
    const deleted = await tx.nativeDelete(RoomSchema, { id: roomId });
    return deleted === 0 ? undefined : { name: row.name };
  },

  async lock(tx, roomId) {
    const rows = await tx.createQueryBuilder(RoomSchema, "r").select("r.id").where({ id: roomId }).setLockMode(LockMode.PESSIMISTIC_WRITE).execute("all");
    return rows.length > 0;
  },

  async memberRoles(tx, userId, roomIds) {
    if (roomIds.length === 0) return new Map();
    const rows = await tx.find(RoomMemberSchema, { userId, roomId: { $in: [...roomIds] } }, { fields: ["roomId", "userId", "role"], disableIdentityMap: true });
    return new Map(rows.map((row) => [row.roomId, row.role]));
  },

  async memberRole(tx, roomId, userId) {
    const row = await tx.findOne(RoomMemberSchema, { roomId, userId }, { fields: ["roomId", "userId", "role"], disableIdentityMap: true });
    return row?.role;
  },

  async putMember(tx, member) {
    await tx
      .createQueryBuilder(RoomMemberSchema)
      .insert({ tenantId: member.tenantId, roomId: member.roomId, userId: member.userId, role: member.role })
      .onConflict(["roomId", "userId"])
      .merge({ role: member.role, updatedAt: raw("now()") })
      .execute();
  },

  async removeMember(tx, roomId, userId) {
    return (await tx.nativeDelete(RoomMemberSchema, { roomId, userId })) > 0;
  },

  async countAdminsExcept(tx, roomId, userId, adminRole) {
    return tx.count(RoomMemberSchema, { roomId, role: adminRole, userId: { $ne: userId } });
  },

  async listMembers(tx, roomId, page) {
    const rows = await tx
      .createQueryBuilder(RoomMemberSchema, "m")
      .select(["m.userId", "m.role", "u.username"])
      // Users joined as a subquery: the query builder joins only relations or subqueries (the planner flattens it).
      .join(tx.createQueryBuilder(UserSchema, "u0").select(["u0.id", "u0.username"]), "u", { "u.id": raw("m.user_id") } as never)
      .where({ roomId, ...(page.after === undefined ? {} : { "u.username": { $gt: page.after } }) } as never)
      .orderBy({ "u.username": "asc" } as never)
      .limit(page.limit)
      .execute<Array<{ userId: string; role: number; username: string }>>("all");
    return rows.map((row) => ({ userId: row.userId, username: row.username, role: row.role }));
  },

  async usernameOf(tx, userId) {
    const row = await tx.findOne(UserSchema, { id: userId }, { fields: ["id", "username"], disableIdentityMap: true });
    return row?.username;
  },

  async tokenKey(tx, roomId) {
    const row = await tx.findOne(RoomSchema, { id: roomId }, { fields: ["id", "tenantId", "tokenKey"], disableIdentityMap: true });
    return row ? { tenantId: row.tenantId, tokenKey: Buffer.from(row.tokenKey) } : undefined;
  },

  async access(tx, roomId, userId) {
    const rows = await tx
      .createQueryBuilder(RoomSchema, "r")
      .select(["r.id", "m.role"])
      .leftJoin(tx.createQueryBuilder(RoomMemberSchema, "m0").select(["m0.roomId", "m0.role"]).where({ userId }), "m", { "m.room_id": raw("r.id") } as never)
      .where({ id: roomId })
      .execute<Array<{ id: string; role: number | null }>>("all", false);
    if (rows.length === 0) return { exists: false, role: undefined };
    return { exists: true, role: rows[0]!.role ?? undefined };
  },

  async tokenRoom(tx, roomId) {
    const room = await tx.findOne(RoomSchema, { id: roomId }, { fields: ["id", "tenantId", "tokenKey"], disableIdentityMap: true });
    if (!room) return undefined;
    const roles = await tx.find(RoleSchema, { tenantId: room.tenantId, builtin: true, name: { $in: ["viewer", "editor"] } }, { fields: ["id", "name", "permissions"], disableIdentityMap: true });
    const permissionsOf = (name: string) => roles.find((role) => role.name === name)?.permissions;
    return { tenantId: room.tenantId, tokenKey: Buffer.from(room.tokenKey), viewerPermissions: permissionsOf("viewer"), editorPermissions: permissionsOf("editor") };
  },
};
