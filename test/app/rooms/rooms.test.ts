import { randomBytes, randomUUID } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { Level, RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import { getRoom, getRoomTokenKey, listRoomMembers, listRooms } from "../../../src/app/rooms/read-rooms.js";
import type { RoomEvents } from "../../../src/app/rooms/rooms-deps.js";
import { addRoomMember, createRoom, deleteRoom, removeRoomMember } from "../../../src/app/rooms/write-rooms.js";
import { DomainError } from "../../../src/domain/errors.js";
import { testCall } from "../../support/app-call.js";
import { memoryRoomStore, type MemoryRoomStore } from "../../support/memory-stores/rooms.js";

/** Rooms use cases over the in-memory store: no server, no database. */

const caller = "00000000-0000-4000-8000-000000000001";
const other = "00000000-0000-4000-8000-000000000002";

function recordingEvents(): RoomEvents & { seen: string[] } {
  const seen: string[] = [];
  return {
    seen,
    memberChanged: async (tenantId, roomId, userId) => void seen.push(`member:${tenantId}:${roomId}:${userId}`),
    roomDeleted: async (tenantId, roomId) => void seen.push(`room:${tenantId}:${roomId}`),
  };
}

async function reason(work: Promise<unknown>): Promise<string> {
  try {
    await work;
  } catch (err) {
    if (err instanceof DomainError) return err.reason;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("rooms use cases", () => {
  let rooms: MemoryRoomStore;
  let events: ReturnType<typeof recordingEvents>;
  let deps: { rooms: MemoryRoomStore; events: RoomEvents };

  beforeEach(() => {
    rooms = memoryRoomStore();
    rooms.users.set(caller, "tester");
    rooms.users.set(other, "zed");
    events = recordingEvents();
    deps = { rooms, events };
  });

  it("creates a room with the caller as its ADMIN member and audits its name", async () => {
    const call = testCall({ level: Level.USER });
    const made = await createRoom(deps, call, { name: "lab", tokenKey: randomBytes(32) });
    expect(made.value).toMatchObject({ name: "lab", myRole: RoomRole.ADMIN });
    expect(made.audit).toEqual({ resource: `room:${made.value.id}`, roomId: made.value.id, details: { name: "lab" } });
    expect(rooms.members.get(`${made.value.id}:${caller}`)).toBe(RoomRole.ADMIN);
  });

  it("makes no member of a room-token caller", async () => {
    const roomId = randomUUID();
    const call = testCall({ userId: `room-token:${roomId}`, roomToken: { roomId, role: RoomRole.EDITOR } });
    const made = await createRoom(deps, call, { name: "by-token", tokenKey: randomBytes(32) });
    expect(made.value.myRole).toBe(RoomRole.UNSPECIFIED);
    expect(rooms.members.size).toBe(0);
  });

  it("answers GetRoom with the role the access rule checked, and NOT_FOUND for a missing room", async () => {
    const made = await createRoom(deps, testCall(), { name: "lab", tokenKey: randomBytes(32) });
    const view = await getRoom(deps, testCall({ level: Level.USER }, { roomId: made.value.id, role: RoomRole.VIEWER }), made.value.id);
    expect(view.myRole).toBe(RoomRole.VIEWER);
    expect(await reason(getRoom(deps, testCall(), randomUUID()))).toBe("NOT_FOUND");
  });

  it("counts a room's contents for a room ADMIN only, when a counter is wired", async () => {
    const made = await createRoom(deps, testCall(), { name: "lab", tokenKey: randomBytes(32) });
    const counted: string[] = [];
    const contents = { count: async (_tx: unknown, roomId: string) => (counted.push(roomId), { members: 1, macros: 2, repos: 3, records: 4n }) };
    const admin = testCall({}, { roomId: made.value.id, role: RoomRole.ADMIN });
    expect((await getRoom({ ...deps, contents }, admin, made.value.id)).contents).toEqual({ members: 1, macros: 2, repos: 3, records: 4n });
    const editor = testCall({ level: Level.USER }, { roomId: made.value.id, role: RoomRole.EDITOR });
    expect((await getRoom({ ...deps, contents }, editor, made.value.id)).contents).toBeUndefined();
    expect((await getRoom(deps, admin, made.value.id)).contents).toBeUndefined();
    expect(counted).toEqual([made.value.id]);
  });

  it("lists rooms by name in pages, each with the caller's own role", async () => {
    const admin = testCall();
    for (const name of ["c", "a", "b"]) await createRoom(deps, admin, { name, tokenKey: randomBytes(32) });
    const [a] = [...rooms.rooms.values()].filter((r) => r.name === "a");
    rooms.members.set(`${a!.id}:${other}`, RoomRole.EDITOR);
    const user = testCall({ userId: other, level: Level.USER });
    const first = await listRooms(deps, user, { limit: 2, after: undefined });
    expect(first.items.map((r) => [r.name, r.myRole])).toEqual([
      ["a", RoomRole.EDITOR],
      ["b", RoomRole.UNSPECIFIED],
    ]);
    expect(first.next).toBe("b");
    const second = await listRooms(deps, user, { limit: 2, after: first.next });
    expect(second.items.map((r) => r.name)).toEqual(["c"]);
    expect(second.next).toBeUndefined();
    expect((await listRooms(deps, admin, { limit: 5, after: undefined })).items.every((r) => r.myRole === RoomRole.ADMIN)).toBe(true);
  });

  it("adds a member, changes their role, audits the previous role and tells the replicas after commit", async () => {
    const call = testCall({ level: Level.USER });
    const room = (await createRoom(deps, call, { name: "lab", tokenKey: randomBytes(32) })).value;
    const added = await addRoomMember(deps, call, { roomId: room.id, userId: other, role: RoomRole.VIEWER });
    expect(added.value).toEqual({ userId: other, username: "zed", role: RoomRole.VIEWER });
    expect(added.audit?.details).toEqual({ userId: other, username: "zed", role: "VIEWER", previousRole: null });
    const changed = await addRoomMember(deps, call, { roomId: room.id, userId: other, role: RoomRole.EDITOR });
    expect(changed.audit).toMatchObject({ resource: `user:${other}`, roomId: room.id, details: { previousRole: "VIEWER", role: "EDITOR" } });
    expect(rooms.locked).toEqual([room.id, room.id]);
    expect(events.seen).toEqual([]);
    await call.commit();
    expect(events.seen).toEqual([`member:${call.principal.tenantId}:${room.id}:${other}`, `member:${call.principal.tenantId}:${room.id}:${other}`]);
    const members = await listRoomMembers(deps, call, { roomId: room.id, limit: 1, after: undefined });
    expect(members.items).toEqual([{ userId: caller, username: "tester", role: RoomRole.ADMIN }]);
    expect(members.next).toBe("tester");
  });

  it("refuses an unspecified role, an unknown user and an unknown room", async () => {
    const call = testCall();
    const room = (await createRoom(deps, call, { name: "lab", tokenKey: randomBytes(32) })).value;
    expect(await reason(addRoomMember(deps, call, { roomId: room.id, userId: other, role: RoomRole.UNSPECIFIED }))).toBe("INVALID_ARGUMENT");
    expect(await reason(addRoomMember(deps, call, { roomId: room.id, userId: randomUUID(), role: RoomRole.VIEWER }))).toBe("NOT_FOUND");
    expect(await reason(addRoomMember(deps, call, { roomId: randomUUID(), userId: other, role: RoomRole.VIEWER }))).toBe("NOT_FOUND");
    expect(await reason(removeRoomMember(deps, call, { roomId: room.id, userId: other }))).toBe("NOT_FOUND");
  });

  it("keeps one ADMIN member: no demotion or removal of the last one", async () => {
    const call = testCall({ level: Level.USER });
    const room = (await createRoom(deps, call, { name: "lab", tokenKey: randomBytes(32) })).value;
    expect(await reason(addRoomMember(deps, call, { roomId: room.id, userId: caller, role: RoomRole.EDITOR }))).toBe("LAST_ROOM_ADMIN");
    expect(await reason(removeRoomMember(deps, call, { roomId: room.id, userId: caller }))).toBe("LAST_ROOM_ADMIN");
    await addRoomMember(deps, call, { roomId: room.id, userId: other, role: RoomRole.ADMIN });
    const removed = await removeRoomMember(deps, call, { roomId: room.id, userId: caller });
    expect(removed.audit).toEqual({ resource: `user:${caller}`, roomId: room.id, details: { userId: caller, previousRole: "ADMIN" } });
    expect(rooms.members.has(`${room.id}:${caller}`)).toBe(false);
  });

  it("deletes a room with its members, audits its name and drops caches after commit", async () => {
    const call = testCall();
    const room = (await createRoom(deps, call, { name: "gone", tokenKey: randomBytes(32) })).value;
    const deleted = await deleteRoom(deps, call, room.id);
    expect(deleted.audit).toEqual({ resource: `room:${room.id}`, roomId: room.id, details: { name: "gone" } });
    expect(rooms.members.size).toBe(0);
    await call.commit();
    expect(events.seen).toEqual([`room:${call.principal.tenantId}:${room.id}`]);
    expect(await reason(deleteRoom(deps, call, room.id))).toBe("NOT_FOUND");
  });

  it("answers the room's token key for the handler to derive tokens from", async () => {
    const key = randomBytes(32);
    const room = (await createRoom(deps, testCall(), { name: "keyed", tokenKey: key })).value;
    const got = await getRoomTokenKey(deps, testCall(), room.id);
    expect(got.value).toEqual({ tenantId: room.tenantId, roomId: room.id, tokenKey: key });
    expect(got.audit).toEqual({ resource: `room:${room.id}`, roomId: room.id });
    expect(await reason(getRoomTokenKey(deps, testCall(), randomUUID()))).toBe("NOT_FOUND");
  });
});
