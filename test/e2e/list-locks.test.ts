import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser, refused, type FixtureUser } from "../support/fixtures.js";
import { newMacroTarget } from "../support/lock-targets.js";
import { startTestServer, type TestServer } from "../support/server.js";

const USER = 2;

describe("LocksService.ListLocks", () => {
  let server: TestServer;
  let adminToken: string;
  let alice: FixtureUser;
  let bob: FixtureUser;
  let viewer: FixtureUser;
  let outsider: FixtureUser;
  let roomId: string;
  let otherRoomId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "1" } });
    adminToken = await server.login();
    [alice, bob, viewer, outsider] = await Promise.all([
      createUser(server, { level: USER, roles: ["editor"], prefix: "alice" }),
      createUser(server, { level: USER, roles: ["editor"], prefix: "bob" }),
      createUser(server, { level: USER, roles: ["viewer"], prefix: "viewer" }),
      createUser(server, { level: USER, roles: ["editor"], prefix: "outsider" }),
    ]);
    const admin = server.client({ token: adminToken });
    roomId = (await admin.rooms.createRoom({ name: `list-locks-${randomUUID().slice(0, 8)}` })).room!.roomId;
    otherRoomId = (await admin.rooms.createRoom({ name: `list-locks-other-${randomUUID().slice(0, 8)}` })).room!.roomId;
    for (const [user, role] of [[alice, RoomRole.EDITOR], [bob, RoomRole.EDITOR], [viewer, RoomRole.VIEWER]] as const) {
      await admin.rooms.addRoomMember({ roomId, userId: user.id, role });
    }
    await admin.rooms.addRoomMember({ roomId: otherRoomId, userId: alice.id, role: RoomRole.EDITOR });
  });
  afterAll(async () => {
    await server?.close();
  });

  const listAll = async (token: string, pageSize: number) => {
    const pages: string[][] = [];
    let pageToken = "";
    do {
      const res = await server.client({ token }).locks.listLocks({ roomId, pageSize, pageToken });
      pages.push(res.locks.map((l) => `${l.target} ${l.ownerName}`));
      pageToken = res.nextPageToken;
    } while (pageToken !== "" && pages.length < 20);
    return pages;
  };

  it("lists the held locks of a room by target, in pages, without released, broken or lapsed ones, nor another room's", async () => {
    // AcquireLock takes only targets that exist in the room: six real macros, in target order.
    const admin = server.client({ token: adminToken });
    const t: string[] = [];
    for (let i = 0; i < 6; i++) t.push(await newMacroTarget(admin, roomId));
    t.sort();
    const a = server.client({ token: alice.token }).locks;
    const b = server.client({ token: bob.token }).locks;
    for (const target of [t[0]!, t[1]!, t[2]!]) await a.acquireLock({ roomId, target });
    await b.acquireLock({ roomId, target: t[3]! });
    await a.acquireLock({ roomId, target: t[4]!, ttlSeconds: 1 });
    await b.acquireLock({ roomId, target: t[5]! });
    await a.acquireLock({ roomId: otherRoomId, target: await newMacroTarget(admin, otherRoomId) });
    await a.releaseLock({ roomId, target: t[1]! });
    await server.client({ token: adminToken }).locks.breakLock({ roomId, target: t[5]! });
    await new Promise((r) => setTimeout(r, 1500)); // t[4]'s one-second lease lapses

    const held = [`${t[0]} ${alice.username}`, `${t[2]} ${alice.username}`, `${t[3]} ${bob.username}`];
    const one = await server.client({ token: viewer.token }).locks.listLocks({ roomId });
    expect(one.locks.map((l) => `${l.target} ${l.ownerName}`)).toEqual(held);
    expect(one.nextPageToken).toBe("");
    expect(one.locks[0]!.fencingToken).toBeGreaterThan(0n);
    expect(one.locks[0]!.ownerId).toBe(alice.id);

    const pages = await listAll(viewer.token, 2);
    expect(pages.flat()).toEqual(held);
    expect(pages[0]).toHaveLength(2);
  });

  it("answers PERMISSION_DENIED to a non-member and INVALID_ARGUMENT for a bad page token", async () => {
    await refused(server.client({ token: outsider.token }).locks.listLocks({ roomId }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
    await refused(server.client({ token: viewer.token }).locks.listLocks({ roomId, pageToken: "nope" }), Code.InvalidArgument, "INVALID_ARGUMENT");
    await refused(server.client({ token: viewer.token }).locks.listLocks({ roomId, pageSize: -1 }), Code.InvalidArgument, "INVALID_ARGUMENT");
  });
});
