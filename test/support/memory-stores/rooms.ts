import { randomUUID } from "node:crypto";
import type { MemberRecord, RoomRecord, RoomStore } from "../../../src/store/rooms.js";

/**
 * MemoryRoomStore is RoomStore in memory, for use-case tests: one tenant's
 * rooms, members and users, no transactions (the tx argument is ignored).
 */
export interface MemoryRoomStore extends RoomStore {
  rooms: Map<string, RoomRecord & { tokenKey: Buffer }>;
  /** members maps `roomId:userId` to the role. */
  members: Map<string, number>;
  /** users maps user id to username (who may become a member). */
  users: Map<string, string>;
  /** locked lists the rooms locked, in order. */
  locked: string[];
}

/** memoryRoomStore builds an empty MemoryRoomStore. */
export function memoryRoomStore(): MemoryRoomStore {
  const rooms = new Map<string, RoomRecord & { tokenKey: Buffer }>();
  const members = new Map<string, number>();
  const users = new Map<string, string>();
  const locked: string[] = [];
  const view = ({ tokenKey: _key, ...room }: RoomRecord & { tokenKey: Buffer }): RoomRecord => ({ ...room });
  const byName = (a: { name: string }, b: { name: string }) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);
  return {
    rooms,
    members,
    users,
    locked,
    async create(_tx, room) {
      if ([...rooms.values()].some((r) => r.name === room.name)) throw new Error("duplicate room name");
      const made = { id: randomUUID(), tenantId: room.tenantId, name: room.name, createdAt: new Date(), tokenKey: room.tokenKey };
      rooms.set(made.id, made);
      return view(made);
    },
    async get(_tx, roomId) {
      const room = rooms.get(roomId);
      return room ? view(room) : undefined;
    },
    async list(_tx, page) {
      return [...rooms.values()]
        .filter((r) => page.after === undefined || r.name > page.after)
        .sort(byName)
        .slice(0, page.limit)
        .map(view);
    },
    async delete(_tx, roomId) {
      const room = rooms.get(roomId);
      if (!room) return undefined;
      rooms.delete(roomId);
      for (const key of [...members.keys()]) if (key.startsWith(`${roomId}:`)) members.delete(key);
      return { name: room.name };
    },
    async lock(_tx, roomId) {
      locked.push(roomId);
      return rooms.has(roomId);
    },
    async memberRoles(_tx, userId, roomIds) {
      const found = new Map<string, number>();
      for (const roomId of roomIds) {
        const role = members.get(`${roomId}:${userId}`);
        if (role !== undefined) found.set(roomId, role);
      }
      return found;
    },
    async memberRole(_tx, roomId, userId) {
      return members.get(`${roomId}:${userId}`);
    },
    async putMember(_tx, member) {
      if (!rooms.has(member.roomId) || !users.has(member.userId)) throw new Error("foreign key");
      members.set(`${member.roomId}:${member.userId}`, member.role);
    },
    async removeMember(_tx, roomId, userId) {
      return members.delete(`${roomId}:${userId}`);
    },
    async countAdminsExcept(_tx, roomId, userId, adminRole) {
      return [...members.entries()].filter(([key, role]) => key.startsWith(`${roomId}:`) && key !== `${roomId}:${userId}` && role === adminRole).length;
    },
    async listMembers(_tx, roomId, page) {
      const list: MemberRecord[] = [];
      for (const [key, role] of members) {
        const [room, userId] = key.split(":") as [string, string];
        if (room === roomId) list.push({ userId, username: users.get(userId) ?? "", role });
      }
      return list
        .filter((m) => page.after === undefined || m.username > page.after)
        .sort((a, b) => (a.username < b.username ? -1 : 1))
        .slice(0, page.limit);
    },
    async usernameOf(_tx, userId) {
      return users.get(userId);
    },
    async tokenKey(_tx, roomId) {
      const room = rooms.get(roomId);
      return room ? { tenantId: room.tenantId, tokenKey: room.tokenKey } : undefined;
    },
    async access(_tx, roomId, userId) {
      if (!rooms.has(roomId)) return { exists: false, role: undefined };
      return { exists: true, role: members.get(`${roomId}:${userId}`) };
    },
    async tokenRoom(_tx, roomId) {
      const room = rooms.get(roomId);
      return room ? { tenantId: room.tenantId, tokenKey: room.tokenKey, viewerPermissions: undefined, editorPermissions: undefined } : undefined;
    },
  };
}
