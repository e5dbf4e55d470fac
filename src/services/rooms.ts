import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { RoomMemberSchema, RoomSchema, RoomsService, type Room, type RoomMember } from "../../gen/gatehouse/v1/rooms_pb.js";
import type { Principal } from "../context.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import { publishRoomChange } from "../rooms/room-access.js";
import { editorRoomToken, newRoomTokenKey, viewerRoomToken } from "../rooms/room-tokens.js";
import { countRoomContents } from "../store/room-contents.js";
import { actorUuid, afterCommit, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, requireText, transactionOf } from "./support.js";

interface RoomRow {
  id: string;
  tenant_id: string;
  name: string;
  created_at: Date;
}

/** MyRoomRow is a room with the caller's membership role. */
interface MyRoomRow extends RoomRow {
  my_role: number | null;
}

interface MemberRow {
  user_id: string;
  username: string;
  role: number;
}

const roomColumns = "id, tenant_id, name, created_at";

function roomMessage(row: RoomRow, myRole: RoomRole): Room {
  return create(RoomSchema, { roomId: row.id, tenantId: row.tenant_id, name: row.name, createdAt: timestampFromDate(new Date(row.created_at)), myRole });
}

/**
 * myRoleOf is the caller's role in a room of their tenant, as RoomAccess
 * answers it (room-access.ts): a room token's role in its one room, ADMIN for
 * a tenant ADMIN or above, else the membership's role (`memberRole`, null
 * when no member); UNSPECIFIED when none.
 */
function myRoleOf(principal: Principal, roomId: string, memberRole: number | null): RoomRole {
  if (principal.roomToken) return principal.roomToken.roomId === roomId ? (principal.roomToken.role as RoomRole) : RoomRole.UNSPECIFIED;
  if (actorUuid(principal) === null) return RoomRole.UNSPECIFIED;
  if (principal.level >= Level.ADMIN) return RoomRole.ADMIN;
  return (memberRole ?? RoomRole.UNSPECIFIED) as RoomRole;
}

/** roomColumnsWithMyRole selects a room (alias r) and the caller's membership role (`my_role`, null when none); its one parameter is the caller's user id. */
const roomColumnsWithMyRole = "r.id, r.tenant_id, r.name, r.created_at, (select m.role from room_members m where m.room_id = r.id and m.user_id::text = ?) as my_role";

function memberMessage(row: MemberRow): RoomMember {
  return create(RoomMemberSchema, { userId: row.user_id, username: row.username, role: row.role });
}

function requireRole(role: RoomRole): RoomRole {
  if (role !== RoomRole.VIEWER && role !== RoomRole.EDITOR && role !== RoomRole.ADMIN) {
    throw invalidArgument("role", "must be ROOM_ROLE_VIEWER, ROOM_ROLE_EDITOR or ROOM_ROLE_ADMIN", RoomRole[role] ?? String(role));
  }
  return role;
}

/** lockRoom takes the room's row lock, serializing membership changes of one room (the last-ADMIN check). */
async function lockRoom(tx: EntityManager, roomId: string): Promise<void> {
  const rows = (await tx.execute("select id from rooms where id = ? for update", [roomId])) as unknown[];
  if (rows.length === 0) throw notFound("room");
}

/** refuseLastAdmin refuses to leave a room without an explicit ADMIN member. */
async function refuseLastAdmin(tx: EntityManager, roomId: string, userId: string): Promise<void> {
  const rows = (await tx.execute("select count(*)::int as admins from room_members where room_id = ? and role = ? and user_id <> ?", [
    roomId,
    RoomRole.ADMIN,
    userId,
  ])) as Array<{ admins: number }>;
  if ((rows[0]?.admins ?? 0) === 0) {
    throw new DomainError("failed_precondition", "LAST_ROOM_ADMIN", "a room keeps at least one ADMIN member", {
      field: "user_id",
      attemptedValue: userId,
      layer: "room",
    });
  }
}

/**
 * createRoomsService implements RoomsService. Room roles are enforced by the
 * authz interceptor (RoomAccess: members, tenant admins as room ADMIN, room
 * tokens for their one room); handlers work inside the caller's tenant, so
 * another tenant's ids answer NOT_FOUND. Membership changes and deletions
 * drop cached room roles on every replica once committed.
 */
export function createRoomsService(deps: Deps): ServiceImpl<typeof RoomsService> {
  return {
    async createRoom(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rooms.create";
      const name = requireText("name", req.name, 200);
      const tx = transactionOf(ctx);
      const [row] = (await tx.execute(`insert into rooms (tenant_id, name, token_key) values (?, ?, ?) returning ${roomColumns}`, [
        principal.tenantId,
        name,
        newRoomTokenKey(),
      ])) as RoomRow[];
      if (actorUuid(principal) !== null) {
        await tx.execute("insert into room_members (tenant_id, room_id, user_id, role) values (?, ?, ?, ?)", [
          principal.tenantId,
          row!.id,
          principal.userId,
          RoomRole.ADMIN,
        ]);
      }
      note.resource = `room:${row!.id}`;
      note.roomId = row!.id;
      note.details = { name };
      return { room: roomMessage(row!, myRoleOf(principal, row!.id, actorUuid(principal) === null ? null : RoomRole.ADMIN)) };
    },

    async getRoom(req, ctx) {
      const principal = principalOf(ctx);
      const id = req.roomId.toLowerCase();
      const { row, myRole, counts } = await inCallerTenant(ctx, deps, async (em) => {
        const rows = (await em.execute(`select ${roomColumnsWithMyRole} from rooms r where r.id = ?`, [principal.userId, id])) as MyRoomRow[];
        if (!rows[0]) throw notFound("room");
        const role = myRoleOf(principal, id, rows[0].my_role);
        // Only who may delete the room gets the counts its confirmation names.
        return { row: rows[0], myRole: role, counts: role === RoomRole.ADMIN ? await countRoomContents(em, id) : undefined };
      });
      return {
        room: roomMessage(row, myRole),
        contents: counts && { memberCount: counts.members, macroCount: counts.macros, repoCount: counts.repos, recordCount: counts.records },
      };
    },

    async listRooms(req, ctx) {
      const principal = principalOf(ctx);
      const { limit, after } = pageOf(req);
      const rows = await inCallerTenant(ctx, deps, async (em) =>
        (await em.execute(
          `select ${roomColumnsWithMyRole} from rooms r ${after === undefined ? "" : "where r.name > ?"} order by r.name limit ?`,
          after === undefined ? [principal.userId, limit + 1] : [principal.userId, after, limit + 1],
        )) as MyRoomRow[],
      );
      const page = rows.slice(0, limit);
      return {
        rooms: page.map((row) => roomMessage(row, myRoleOf(principal, row.id, row.my_role))),
        nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!.name) : "",
      };
    },

    async deleteRoom(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rooms.delete";
      const id = req.roomId.toLowerCase();
      note.resource = `room:${id}`;
      note.roomId = id;
      const tx = transactionOf(ctx);
      // Members, policies (and, by their foreign keys, macros, repos and
      // records) go with the room; its audit events stay.
      const rows = (await tx.execute("delete from rooms where id = ? returning name", [id])) as Array<{ name: string }>;
      if (!rows[0]) throw notFound("room");
      note.details = { name: rows[0].name };
      afterCommit(ctx, () => publishRoomChange(deps.bus, { kind: "room", tenantId: principal.tenantId, roomId: id }));
      afterCommit(ctx, () => deps.macroCache.roomChanged(principal.tenantId, id));
      return {};
    },

    async addRoomMember(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rooms.add_member";
      const roomId = req.roomId.toLowerCase();
      const userId = req.userId.toLowerCase();
      note.resource = `user:${userId}`;
      note.roomId = roomId;
      const role = requireRole(req.role);
      const tx = transactionOf(ctx);
      await lockRoom(tx, roomId);
      const users = (await tx.execute("select username from users where id = ?", [userId])) as Array<{ username: string }>;
      if (!users[0]) throw notFound("user");
      const current = (await tx.execute("select role from room_members where room_id = ? and user_id = ?", [roomId, userId])) as Array<{ role: number }>;
      const previous = current[0]?.role;
      if (previous === RoomRole.ADMIN && role !== RoomRole.ADMIN) await refuseLastAdmin(tx, roomId, userId);
      await tx.execute(
        `insert into room_members (tenant_id, room_id, user_id, role) values (?, ?, ?, ?)
         on conflict (room_id, user_id) do update set role = excluded.role, updated_at = now()`,
        [principal.tenantId, roomId, userId, role],
      );
      note.details = { userId, username: users[0].username, role: RoomRole[role], previousRole: previous === undefined ? null : RoomRole[previous] };
      afterCommit(ctx, () => publishRoomChange(deps.bus, { kind: "member", tenantId: principal.tenantId, roomId, userId }));
      return { member: memberMessage({ user_id: userId, username: users[0].username, role }) };
    },

    async removeRoomMember(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rooms.remove_member";
      const roomId = req.roomId.toLowerCase();
      const userId = req.userId.toLowerCase();
      note.resource = `user:${userId}`;
      note.roomId = roomId;
      const tx = transactionOf(ctx);
      await lockRoom(tx, roomId);
      const current = (await tx.execute("select role from room_members where room_id = ? and user_id = ?", [roomId, userId])) as Array<{ role: number }>;
      if (!current[0]) throw notFound("member");
      if (current[0].role === RoomRole.ADMIN) await refuseLastAdmin(tx, roomId, userId);
      await tx.execute("delete from room_members where room_id = ? and user_id = ?", [roomId, userId]);
      note.details = { userId, previousRole: RoomRole[current[0].role] };
      afterCommit(ctx, () => publishRoomChange(deps.bus, { kind: "member", tenantId: principal.tenantId, roomId, userId }));
      return {};
    },

    async listRoomMembers(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      const { limit, after } = pageOf(req);
      const rows = await inCallerTenant(ctx, deps, async (em) =>
        (await em.execute(
          `select m.user_id, u.username, m.role from room_members m join users u on u.id = m.user_id
            where m.room_id = ? ${after === undefined ? "" : "and u.username > ?"} order by u.username limit ?`,
          after === undefined ? [roomId, limit + 1] : [roomId, after, limit + 1],
        )) as MemberRow[],
      );
      const page = rows.slice(0, limit);
      return { members: page.map(memberMessage), nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!.username) : "" };
    },

    async getRoomToken(req, ctx) {
      const note = auditNoteOf(ctx);
      note.action = "rooms.get_token";
      const roomId = req.roomId.toLowerCase();
      note.resource = `room:${roomId}`;
      note.roomId = roomId;
      const rows = await inCallerTenant(ctx, deps, async (em) =>
        (await em.execute("select tenant_id, token_key from rooms where id = ?", [roomId])) as Array<{ tenant_id: string; token_key: Buffer }>,
      );
      if (!rows[0]) throw notFound("room");
      return { editorToken: editorRoomToken(rows[0].token_key, rows[0].tenant_id, roomId), viewerToken: viewerRoomToken };
    },
  };
}
