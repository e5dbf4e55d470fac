import { beforeEach, describe, expect, it } from "vitest";
import { Level, RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import { checkPermissions, type RoomRoles } from "../../../src/app/users/check-permissions.js";
import { DomainError } from "../../../src/domain/errors.js";
import { testCall } from "../../support/app-call.js";
import { MemoryDirectory } from "../../support/memory-stores/users.js";

const room = "00000000-0000-4000-8000-0000000000aa";

describe("permission checks", () => {
  let dir: MemoryDirectory;
  let lookups: string[];
  let rooms: RoomRoles;
  let other: string;

  beforeEach(() => {
    dir = new MemoryDirectory();
    lookups = [];
    const editor = dir.addRole({ name: "editor", permissions: ["macros.read", "macros.run", "rooms.read"] });
    other = dir.addUser({ username: "other", level: Level.USER, roles: [editor] });
    rooms = {
      roleOf: async (principal, roomId) => {
        lookups.push(`${principal.userId}:${roomId}`);
        return roomId === room ? RoomRole.VIEWER : undefined;
      },
    };
  });

  it("answers the caller's own checks from the session without reading users", async () => {
    const call = testCall({ permissions: new Set(["macros.read"]) });
    let reads = 0;
    const users = { accessOf: async () => (reads++, new Map()) };
    const results = await checkPermissions({ users, rooms }, call, [{ permission: "macros.read" }, { permission: "macros.write" }, { permission: "nope" }]);
    expect(results).toEqual([
      { allowed: true, reason: "" },
      { allowed: false, reason: "PERMISSION_DENIED" },
      { allowed: false, reason: "UNKNOWN_PERMISSION" },
    ]);
    expect(reads).toBe(0);
  });

  it("takes the room role from the checked room, without a second lookup", async () => {
    const call = testCall({ permissions: new Set(["rooms.read", "macros.run"]) }, { roomId: room, role: RoomRole.VIEWER });
    const results = await checkPermissions({ users: dir.users, rooms }, call, [
      { permission: "rooms.read", roomId: room },
      { permission: "macros.run", roomId: room },
    ]);
    expect(results).toEqual([
      { allowed: true, reason: "" },
      { allowed: false, reason: "ROOM_ROLE_REQUIRED" },
    ]);
    expect(lookups).toEqual([]);
  });

  it("checks another user with users.read, looking their room role up once", async () => {
    const call = testCall({ permissions: new Set(["users.read"]) });
    const results = await checkPermissions({ users: dir.users, rooms }, call, [
      { permission: "rooms.read", userId: other, roomId: room },
      { permission: "macros.run", userId: other.toUpperCase(), roomId: room },
      { permission: "users.read", userId: other },
    ]);
    expect(results.map((r) => r.reason)).toEqual(["", "ROOM_ROLE_REQUIRED", "PERMISSION_DENIED"]);
    expect(lookups).toEqual([`${other}:${room}`]);
  });

  it("refuses another user's check without users.read; NOT_FOUND for an unknown user or room; USER_DISABLED", async () => {
    const refused = await checkPermissions({ users: dir.users, rooms }, testCall(), [{ permission: "macros.read", userId: other }]).catch((e: unknown) => e);
    expect((refused as DomainError).reason).toBe("PERMISSION_DENIED");
    const withRead = testCall({ permissions: new Set(["users.read"]) });
    const unknownUser = await checkPermissions({ users: dir.users, rooms }, withRead, [{ permission: "macros.read", userId: "00000000-0000-4000-8000-00000000dead" }]).catch((e: unknown) => e);
    expect((unknownUser as DomainError).reason).toBe("NOT_FOUND");
    const unknownRoom = await checkPermissions({ users: dir.users, rooms }, withRead, [{ permission: "users.read", roomId: "00000000-0000-4000-8000-0000000000bb" }]).catch((e: unknown) => e);
    expect((unknownRoom as DomainError).reason).toBe("NOT_FOUND");
    dir.userRows.get(other)!.disabled = true;
    expect(await checkPermissions({ users: dir.users, rooms }, withRead, [{ permission: "macros.read", userId: other }])).toEqual([{ allowed: false, reason: "USER_DISABLED" }]);
  });
});
