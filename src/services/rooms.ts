import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { RoomMemberSchema, RoomSchema, RoomsService, type Room, type RoomMember } from "../../gen/gatehouse/v1/rooms_pb.js";
import type { RoomView } from "../app/rooms/read-rooms.js";
import { getRoom, getRoomTokenKey, listRoomMembers, listRooms } from "../app/rooms/read-rooms.js";
import type { RoomEvents, RoomsDeps } from "../app/rooms/rooms-deps.js";
import { addRoomMember, createRoom, deleteRoom, removeRoomMember } from "../app/rooms/write-rooms.js";
import type { Deps } from "../deps.js";
import { publishRoomChange } from "../rooms/room-access.js";
import { editorRoomToken, newRoomTokenKey, viewerRoomToken } from "../rooms/room-tokens.js";
import type { MemberRecord } from "../store/rooms.js";
import { answer, callOf } from "./call.js";
import { requestFacts } from "./request-facts.js";
import { pageOf, pageToken, requireText } from "./support.js";

function roomMessage(room: RoomView): Room {
  return create(RoomSchema, { roomId: room.id, tenantId: room.tenantId, name: room.name, createdAt: timestampFromDate(room.createdAt), myRole: room.myRole });
}

function memberMessage(member: MemberRecord): RoomMember {
  return create(RoomMemberSchema, { userId: member.userId, username: member.username, role: member.role });
}

/** roomEventsOver tells the replicas through the bus, and the macro cache, what a rooms write changed. */
export function roomEventsOver(deps: Pick<Deps, "bus" | "macroCache">): RoomEvents {
  return {
    memberChanged: (tenantId, roomId, userId) => publishRoomChange(deps.bus, { kind: "member", tenantId, roomId, userId }),
    roomDeleted: async (tenantId, roomId) => {
      await Promise.all([publishRoomChange(deps.bus, { kind: "room", tenantId, roomId }), deps.macroCache.roomChanged(tenantId, roomId)]);
    },
  };
}

/**
 * createRoomsService implements RoomsService over the rooms use cases
 * (src/app/rooms/). Room roles are enforced by the authz interceptor
 * (RoomAccess: members, tenant admins as room ADMIN, room tokens for their
 * one room); handlers work inside the caller's tenant, so another tenant's
 * ids answer NOT_FOUND.
 */
export function createRoomsService(deps: RoomsDeps): ServiceImpl<typeof RoomsService> {
  return {
    async createRoom(req, ctx) {
      const name = requireText("name", req.name, 200);
      return { room: roomMessage(answer(ctx, await createRoom(deps, callOf(ctx), { name, tokenKey: newRoomTokenKey() }))) };
    },

    async getRoom(req, ctx) {
      const detail = await getRoom(deps, callOf(ctx), req.roomId.toLowerCase());
      const counts = detail.contents;
      return {
        room: roomMessage(detail),
        contents: counts && { memberCount: counts.members, macroCount: counts.macros, repoCount: counts.repos, recordCount: counts.records },
      };
    },

    async listRooms(req, ctx) {
      const page = await listRooms(deps, callOf(ctx), pageOf(req));
      return { rooms: page.items.map(roomMessage), nextPageToken: pageToken(page.next) };
    },

    async deleteRoom(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      requestFacts(ctx, { resource: `room:${roomId}`, roomId });
      answer(ctx, await deleteRoom(deps, callOf(ctx), roomId));
      return {};
    },

    async addRoomMember(req, ctx) {
      const input = { roomId: req.roomId.toLowerCase(), userId: req.userId.toLowerCase(), role: req.role };
      requestFacts(ctx, { resource: `user:${input.userId}`, roomId: input.roomId });
      return { member: memberMessage(answer(ctx, await addRoomMember(deps, callOf(ctx), input))) };
    },

    async removeRoomMember(req, ctx) {
      const input = { roomId: req.roomId.toLowerCase(), userId: req.userId.toLowerCase() };
      requestFacts(ctx, { resource: `user:${input.userId}`, roomId: input.roomId });
      answer(ctx, await removeRoomMember(deps, callOf(ctx), input));
      return {};
    },

    async listRoomMembers(req, ctx) {
      const page = await listRoomMembers(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), ...pageOf(req) });
      return { members: page.items.map(memberMessage), nextPageToken: pageToken(page.next) };
    },

    async getRoomToken(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      requestFacts(ctx, { resource: `room:${roomId}`, roomId });
      const key = answer(ctx, await getRoomTokenKey(deps, callOf(ctx), roomId));
      return { editorToken: editorRoomToken(key.tokenKey, key.tenantId, key.roomId), viewerToken: viewerRoomToken };
    },
  };
}
