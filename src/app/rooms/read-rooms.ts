import type { RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import { RoomRole as Roles } from "../../../gen/gatehouse/v1/common_pb.js";
import { notFound } from "../../domain/errors.js";
import type { MemberRecord, RoomRecord } from "../../store/rooms.js";
import type { Call } from "../call.js";
import { outcome, type Outcome } from "../call.js";
import { isUserActor, myRoleOf } from "./room-role.js";
import { pageOfRows, type Page, type PageInput, type RoomContentCounts, type RoomsDeps } from "./rooms-deps.js";

/** RoomView is a room with the caller's role in it. */
export interface RoomView extends RoomRecord {
  myRole: RoomRole;
}

/** RoomDetail is a room with the caller's role, and its contents' counts for who may delete it. */
export interface RoomDetail extends RoomView {
  contents?: RoomContentCounts;
}

/**
 * getRoom answers a room; the caller's role is the one the access rule
 * already checked (call.room). A room ADMIN also gets the counts of what
 * DeleteRoom would take with it (when `deps.contents` is wired), read in
 * the same transaction as the room.
 */
export async function getRoom(deps: Pick<RoomsDeps, "rooms" | "contents">, call: Call, roomId: string): Promise<RoomDetail> {
  const myRole = call.room?.role ?? Roles.UNSPECIFIED;
  return call.inTx(async (tx) => {
    const room = await deps.rooms.get(tx, roomId);
    if (!room) throw notFound("room");
    if (myRole !== Roles.ADMIN || !deps.contents) return { ...room, myRole };
    return { ...room, myRole, contents: await deps.contents.count(tx, roomId) };
  });
}

/** listRooms answers a page of the tenant's rooms by name, each with the caller's role. */
export async function listRooms(deps: Pick<RoomsDeps, "rooms">, call: Call, page: PageInput): Promise<Page<RoomView>> {
  const { rows, roles } = await call.inTx(async (tx) => {
    const rows = await deps.rooms.list(tx, { after: page.after, limit: page.limit + 1 });
    // Membership matters only to a user below tenant ADMIN (myRoleOf).
    const roles = isUserActor(call.principal) && !call.principal.roomToken ? await deps.rooms.memberRoles(tx, call.principal.userId, rows.map((r) => r.id)) : new Map<string, number>();
    return { rows, roles };
  });
  const views = rows.map((row) => ({ ...row, myRole: myRoleOf(call.principal, row.id, roles.get(row.id)) }));
  return pageOfRows(views, page.limit, (room) => room.name);
}

/** listRoomMembers answers a page of a room's members by username. */
export async function listRoomMembers(deps: Pick<RoomsDeps, "rooms">, call: Call, input: { roomId: string } & PageInput): Promise<Page<MemberRecord>> {
  const rows = await call.inTx((tx) => deps.rooms.listMembers(tx, input.roomId, { after: input.after, limit: input.limit + 1 }));
  return pageOfRows(rows, input.limit, (member) => member.username);
}

/** RoomTokenKey is what GetRoomToken derives the editor token from. */
export interface RoomTokenKey {
  tenantId: string;
  roomId: string;
  tokenKey: Buffer;
}

/** getRoomTokenKey answers the room's token key (the handler derives the tokens); audited with the room. */
export async function getRoomTokenKey(deps: Pick<RoomsDeps, "rooms">, call: Call, roomId: string): Promise<Outcome<RoomTokenKey>> {
  const audit = { resource: `room:${roomId}`, roomId };
  const row = await call.inTx((tx) => deps.rooms.tokenKey(tx, roomId));
  if (!row) throw notFound("room");
  return outcome({ tenantId: row.tenantId, roomId, tokenKey: row.tokenKey }, audit);
}
