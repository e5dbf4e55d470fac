import { randomBytes } from "node:crypto";
import { beforeEach, describe, expect, it } from "vitest";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import type { Principal } from "../../src/context.js";
import { createRoomAccess, publishRoomChange } from "../../src/rooms/room-access.js";
import { createLocalBus } from "../../src/shared-state/bus.js";
import type { Database } from "../../src/store/database.js";
import type { Tx } from "../../src/store/tx.js";
import { memoryRoomStore, type MemoryRoomStore } from "../support/memory-stores/rooms.js";

/** RoomAccess over the in-memory room store: the role rules, the cache and its invalidation through the bus. */

const tenantId = "00000000-0000-4000-8000-000000000101";
const userId = "00000000-0000-4000-8000-000000000001";

function principal(overrides: Partial<Principal> = {}): Principal {
  return { userId, username: "u", tenantId, level: Level.USER, sessionId: "s", permissions: new Set(), roles: [], via: "bearer", ...overrides };
}

describe("RoomAccess", () => {
  let rooms: MemoryRoomStore;
  let lookups: number;
  let db: Database;
  let roomId: string;
  let clock: number;

  beforeEach(async () => {
    rooms = memoryRoomStore();
    rooms.users.set(userId, "u");
    lookups = 0;
    db = {
      inTenant: async <T>(_tenant: string, fn: (tx: Tx) => Promise<T>) => {
        lookups += 1;
        return fn(undefined as unknown as Tx);
      },
    } as unknown as Database;
    roomId = (await rooms.create(undefined as unknown as Tx, { tenantId, name: "lab", tokenKey: randomBytes(32) })).id;
    clock = 0;
  });

  it("answers the membership role, ADMIN for a tenant admin, UNSPECIFIED for no member, undefined for no room", async () => {
    const access = createRoomAccess(db, createLocalBus(), { now: () => clock, store: rooms });
    expect(await access.roleOf(principal(), roomId)).toBe(RoomRole.UNSPECIFIED);
    rooms.members.set(`${roomId}:${userId}`, RoomRole.EDITOR);
    clock += 1000;
    expect(await access.roleOf(principal(), roomId)).toBe(RoomRole.EDITOR);
    expect(await access.roleOf(principal({ level: Level.ADMIN }), roomId)).toBe(RoomRole.ADMIN);
    expect(await access.roleOf(principal(), "00000000-0000-4000-8000-00000000dead")).toBeUndefined();
    access.close();
  });

  it("gives a room token its role in its one room only, without a lookup", async () => {
    const access = createRoomAccess(db, createLocalBus(), { store: rooms });
    const token = principal({ userId: `room-token:${roomId}`, roomToken: { roomId, role: RoomRole.VIEWER } });
    expect(await access.roleOf(token, roomId.toUpperCase())).toBe(RoomRole.VIEWER);
    expect(await access.roleOf(token, "00000000-0000-4000-8000-00000000dead")).toBeUndefined();
    expect(lookups).toBe(0);
    access.close();
  });

  it("caches a role for the TTL and drops it at once when the membership or the room changes", async () => {
    const bus = createLocalBus();
    const access = createRoomAccess(db, bus, { now: () => clock, store: rooms });
    rooms.members.set(`${roomId}:${userId}`, RoomRole.VIEWER);
    expect(await access.roleOf(principal(), roomId)).toBe(RoomRole.VIEWER);
    rooms.members.set(`${roomId}:${userId}`, RoomRole.ADMIN);
    expect(await access.roleOf(principal(), roomId)).toBe(RoomRole.VIEWER);
    expect(lookups).toBe(1);
    await publishRoomChange(bus, { kind: "member", tenantId, roomId, userId });
    expect(await access.roleOf(principal(), roomId)).toBe(RoomRole.ADMIN);
    await rooms.delete(undefined as unknown as Tx, roomId);
    await publishRoomChange(bus, { kind: "room", tenantId, roomId });
    expect(await access.roleOf(principal(), roomId)).toBeUndefined();
    expect(lookups).toBe(3);
    access.close();
  });

  it("refuses a room id that is no uuid", async () => {
    const access = createRoomAccess(db, createLocalBus(), { store: rooms });
    await expect(access.roleOf(principal(), "lab")).rejects.toThrow(/uuid/);
    access.close();
  });
});
