import { RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import { DomainError, notFound } from "../../domain/errors.js";
import type { RoomStore } from "../../store/rooms.js";
import type { Tx } from "../../store/tx.js";
import type { Call, Outcome } from "../call.js";
import { outcome } from "../call.js";
import type { RoomView } from "./read-rooms.js";
import { isUserActor, myRoleOf, requireMemberRole } from "./room-role.js";
import type { RoomsDeps } from "./rooms-deps.js";

/**
 * createRoom creates a room of the caller's tenant with a fresh token key;
 * a user who creates it becomes its ADMIN member (a room-token caller cannot
 * be a member).
 */
export async function createRoom(deps: Pick<RoomsDeps, "rooms">, call: Call, input: { name: string; tokenKey: Buffer }): Promise<Outcome<RoomView>> {
  const { principal } = call;
  const room = await call.inTx(async (tx) => {
    const room = await deps.rooms.create(tx, { tenantId: principal.tenantId, name: input.name, tokenKey: input.tokenKey });
    if (isUserActor(principal)) await deps.rooms.putMember(tx, { tenantId: principal.tenantId, roomId: room.id, userId: principal.userId, role: RoomRole.ADMIN });
    return room;
  });
  const myRole = myRoleOf(principal, room.id, isUserActor(principal) ? RoomRole.ADMIN : undefined);
  return outcome({ ...room, myRole }, { resource: `room:${room.id}`, roomId: room.id, details: { name: input.name } });
}

/**
 * deleteRoom deletes a room; its members and policies (and, by their foreign
 * keys, macros, repos and records) go with it, its audit events stay. Cached
 * room roles and macros are dropped on every replica once committed.
 */
export async function deleteRoom(deps: RoomsDeps, call: Call, roomId: string): Promise<Outcome<void>> {
  const deleted = await call.inTx((tx) => deps.rooms.delete(tx, roomId));
  if (!deleted) throw notFound("room");
  const tenantId = call.principal.tenantId;
  call.afterCommit(() => deps.events.roomDeleted(tenantId, roomId));
  return outcome(undefined, { resource: `room:${roomId}`, roomId, details: { name: deleted.name } });
}

/** lockRoom takes the room's row lock, serializing membership changes of one room (the last-ADMIN check). */
async function lockRoom(rooms: RoomStore, tx: Tx, roomId: string): Promise<void> {
  if (!(await rooms.lock(tx, roomId))) throw notFound("room");
}

/** refuseLastAdmin refuses to leave a room without an explicit ADMIN member. */
async function refuseLastAdmin(rooms: RoomStore, tx: Tx, roomId: string, userId: string): Promise<void> {
  if ((await rooms.countAdminsExcept(tx, roomId, userId, RoomRole.ADMIN)) === 0) {
    throw new DomainError("failed_precondition", "LAST_ROOM_ADMIN", "a room keeps at least one ADMIN member", {
      field: "user_id",
      attemptedValue: userId,
      layer: "room",
    });
  }
}

/** AddedMember is a member as AddRoomMember answers it. */
export interface AddedMember {
  userId: string;
  username: string;
  role: RoomRole;
}

/**
 * addRoomMember adds a user of the tenant to a room or changes their role;
 * demoting the last ADMIN is refused (LAST_ROOM_ADMIN).
 */
export async function addRoomMember(deps: RoomsDeps, call: Call, input: { roomId: string; userId: string; role: RoomRole }): Promise<Outcome<AddedMember>> {
  const { roomId, userId } = input;
  const role = requireMemberRole(input.role);
  const { username, previous } = await call.inTx(async (tx) => {
    await lockRoom(deps.rooms, tx, roomId);
    const username = await deps.rooms.usernameOf(tx, userId);
    if (username === undefined) throw notFound("user");
    const previous = await deps.rooms.memberRole(tx, roomId, userId);
    if (previous === RoomRole.ADMIN && role !== RoomRole.ADMIN) await refuseLastAdmin(deps.rooms, tx, roomId, userId);
    await deps.rooms.putMember(tx, { tenantId: call.principal.tenantId, roomId, userId, role });
    return { username, previous };
  });
  const tenantId = call.principal.tenantId;
  call.afterCommit(() => deps.events.memberChanged(tenantId, roomId, userId));
  return outcome(
    { userId, username, role },
    {
      resource: `user:${userId}`,
      roomId,
      details: { userId, username, role: RoomRole[role], previousRole: previous === undefined ? null : RoomRole[previous] },
    },
  );
}

/** removeRoomMember removes a member; removing the last ADMIN is refused (LAST_ROOM_ADMIN). */
export async function removeRoomMember(deps: RoomsDeps, call: Call, input: { roomId: string; userId: string }): Promise<Outcome<void>> {
  const { roomId, userId } = input;
  const previous = await call.inTx(async (tx) => {
    await lockRoom(deps.rooms, tx, roomId);
    const previous = await deps.rooms.memberRole(tx, roomId, userId);
    if (previous === undefined) throw notFound("member");
    if (previous === RoomRole.ADMIN) await refuseLastAdmin(deps.rooms, tx, roomId, userId);
    await deps.rooms.removeMember(tx, roomId, userId);
    return previous;
  });
  const tenantId = call.principal.tenantId;
  call.afterCommit(() => deps.events.memberChanged(tenantId, roomId, userId));
  return outcome(undefined, { resource: `user:${userId}`, roomId, details: { userId, previousRole: RoomRole[previous] } });
}
