import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Level, PolicySchema, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { auditRows, createTenant, createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

describe("RoomsService", () => {
  let server: TestServer;
  let adminToken: string;
  let tenantId: string;
  /** owner holds the `admin` role (rooms.write) at LEVEL_USER: a room admin only where a member. */
  let owner: FixtureUser;
  let editor: FixtureUser;
  let viewer: FixtureUser;
  /** tenantAdmin is LEVEL_ADMIN: room ADMIN of every room of the tenant. */
  let tenantAdmin: FixtureUser;

  const rooms = (token: string) => server.client({ token }).rooms;
  const newRoom = async (token: string, name = `room-${Math.random().toString(36).slice(2, 8)}`) => (await rooms(token).createRoom({ name })).room!;

  beforeAll(async () => {
    server = await startTestServer();
    adminToken = await server.login();
    tenantId = await tenantIdOf(server);
    [owner, editor, viewer, tenantAdmin] = await Promise.all([
      createUser(server, { level: Level.USER, roles: ["admin"], prefix: "owner" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "editor" }),
      createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "viewer" }),
      createUser(server, { level: Level.ADMIN, roles: ["admin"], prefix: "tadmin" }),
    ]);
  });

  afterAll(async () => {
    await server?.close();
  });

  describe("CreateRoom", () => {
    it("creates a room in the caller's tenant and makes the caller its first ADMIN member", async () => {
      const room = await newRoom(owner.token, "quarterly-report");
      expect(room).toMatchObject({ name: "quarterly-report", tenantId });
      const members = await rooms(owner.token).listRoomMembers({ roomId: room.roomId });
      expect(members.members.map((m) => ({ userId: m.userId, role: m.role }))).toEqual([{ userId: owner.id, role: RoomRole.ADMIN }]);
    });

    it("answers INVALID_ARGUMENT naming `name` for an empty or overlong name", async () => {
      expect((await refused(rooms(owner.token).createRoom({ name: "  " }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("name");
      expect((await refused(rooms(owner.token).createRoom({ name: "x".repeat(201) }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("name");
    });

    it("answers ALREADY_EXISTS for a name the tenant already uses", async () => {
      await newRoom(owner.token, "taken-name");
      await refused(rooms(owner.token).createRoom({ name: "taken-name" }), Code.AlreadyExists, "ALREADY_EXISTS");
    });

    it("answers PERMISSION_DENIED naming rooms.write to a caller without it", async () => {
      const detail = await refused(rooms(viewer.token).createRoom({ name: "nope" }), Code.PermissionDenied, "PERMISSION_DENIED");
      expect(detail.permission).toBe("rooms.write");
    });
  });

  describe("GetRoom", () => {
    it("answers members, and tenant admins who are no members", async () => {
      const room = await newRoom(owner.token);
      expect((await rooms(owner.token).getRoom({ roomId: room.roomId })).room?.roomId).toBe(room.roomId);
      expect((await rooms(tenantAdmin.token).getRoom({ roomId: room.roomId })).room?.name).toBe(room.name);
    });

    it("answers ROOM_ROLE_REQUIRED to a tenant user who is no member", async () => {
      const room = await newRoom(owner.token);
      const detail = await refused(rooms(viewer.token).getRoom({ roomId: room.roomId }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
      expect(detail).toMatchObject({ layer: "room", attemptedValue: "UNSPECIFIED", parentValue: "VIEWER" });
    });

    it("answers NOT_FOUND for an unknown room and INVALID_ARGUMENT for a malformed id", async () => {
      await refused(rooms(owner.token).getRoom({ roomId: "00000000-0000-4000-8000-000000000000" }), Code.NotFound, "NOT_FOUND");
      expect((await refused(rooms(owner.token).getRoom({ roomId: "not-a-uuid" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("room_id");
    });
  });

  describe("my_role", () => {
    it("answers the caller's own room role on GetRoom: member role, ADMIN for a tenant admin", async () => {
      const room = await newRoom(owner.token);
      await rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: editor.id, role: RoomRole.EDITOR });
      await rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: viewer.id, role: RoomRole.VIEWER });
      expect((await rooms(owner.token).getRoom({ roomId: room.roomId })).room?.myRole).toBe(RoomRole.ADMIN);
      expect((await rooms(editor.token).getRoom({ roomId: room.roomId })).room?.myRole).toBe(RoomRole.EDITOR);
      expect((await rooms(viewer.token).getRoom({ roomId: room.roomId })).room?.myRole).toBe(RoomRole.VIEWER);
      expect((await rooms(tenantAdmin.token).getRoom({ roomId: room.roomId })).room?.myRole).toBe(RoomRole.ADMIN);
    });

    it("answers ADMIN on the room CreateRoom made", async () => {
      expect((await newRoom(owner.token)).myRole).toBe(RoomRole.ADMIN);
    });

    it("answers each room's own role on ListRooms, UNSPECIFIED where the caller is no member, and follows a role change", async () => {
      const prefix = `myrole-${Math.random().toString(36).slice(2, 7)}`;
      const asEditor = await newRoom(owner.token, `${prefix}-a`);
      const asViewer = await newRoom(owner.token, `${prefix}-b`);
      const none = await newRoom(owner.token, `${prefix}-c`);
      await rooms(owner.token).addRoomMember({ roomId: asEditor.roomId, userId: viewer.id, role: RoomRole.EDITOR });
      await rooms(owner.token).addRoomMember({ roomId: asViewer.roomId, userId: viewer.id, role: RoomRole.VIEWER });
      const rolesOf = async (token: string) => {
        const listed = (await rooms(token).listRooms({ pageSize: 1000 })).rooms;
        return Object.fromEntries(listed.filter((r) => r.name.startsWith(prefix)).map((r) => [r.name, r.myRole]));
      };
      expect(await rolesOf(viewer.token)).toEqual({
        [`${prefix}-a`]: RoomRole.EDITOR,
        [`${prefix}-b`]: RoomRole.VIEWER,
        [`${prefix}-c`]: RoomRole.UNSPECIFIED,
      });
      expect(await rolesOf(owner.token)).toEqual({ [`${prefix}-a`]: RoomRole.ADMIN, [`${prefix}-b`]: RoomRole.ADMIN, [`${prefix}-c`]: RoomRole.ADMIN });
      expect(Object.values(await rolesOf(tenantAdmin.token))).toEqual([RoomRole.ADMIN, RoomRole.ADMIN, RoomRole.ADMIN]);
      await rooms(owner.token).addRoomMember({ roomId: none.roomId, userId: viewer.id, role: RoomRole.VIEWER });
      await rooms(owner.token).removeRoomMember({ roomId: asEditor.roomId, userId: viewer.id });
      expect(await rolesOf(viewer.token)).toEqual({
        [`${prefix}-a`]: RoomRole.UNSPECIFIED,
        [`${prefix}-b`]: RoomRole.VIEWER,
        [`${prefix}-c`]: RoomRole.VIEWER,
      });
    });
  });

  describe("ListRooms", () => {
    it("lists the tenant's rooms by name, a page at a time", async () => {
      await newRoom(owner.token, "list-a");
      await newRoom(owner.token, "list-b");
      const names: string[] = [];
      let pageToken = "";
      do {
        const page = await rooms(viewer.token).listRooms({ pageSize: 2, pageToken });
        expect(page.rooms.length).toBeLessThanOrEqual(2);
        names.push(...page.rooms.map((r) => r.name));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(names).toEqual([...names].sort());
      expect(names).toEqual(expect.arrayContaining(["list-a", "list-b"]));
    });
  });

  describe("AddRoomMember and RemoveRoomMember", () => {
    it("grants a role at once (cached roles are dropped), and replaces it when added again", async () => {
      const room = await newRoom(owner.token);
      await refused(rooms(editor.token).getRoom({ roomId: room.roomId }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
      const added = await rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: editor.id, role: RoomRole.VIEWER });
      expect(added.member).toMatchObject({ userId: editor.id, username: editor.username, role: RoomRole.VIEWER });
      expect((await rooms(editor.token).getRoom({ roomId: room.roomId })).room?.roomId).toBe(room.roomId);
      await rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: editor.id, role: RoomRole.EDITOR });
      const members = await rooms(editor.token).listRoomMembers({ roomId: room.roomId });
      expect(members.members.find((m) => m.userId === editor.id)?.role).toBe(RoomRole.EDITOR);
      await rooms(owner.token).removeRoomMember({ roomId: room.roomId, userId: editor.id });
      await refused(rooms(editor.token).getRoom({ roomId: room.roomId }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
    });

    it("answers INVALID_ARGUMENT naming `role` for an unspecified role, NOT_FOUND for an unknown user", async () => {
      const room = await newRoom(owner.token);
      const detail = await refused(
        rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: editor.id, role: RoomRole.UNSPECIFIED }),
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
      );
      expect(detail.field).toBe("role");
      await refused(
        rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: "00000000-0000-4000-8000-000000000001", role: RoomRole.VIEWER }),
        Code.NotFound,
        "NOT_FOUND",
      );
      await refused(rooms(owner.token).removeRoomMember({ roomId: room.roomId, userId: viewer.id }), Code.NotFound, "NOT_FOUND");
    });

    it("refuses to remove or demote the room's last ADMIN", async () => {
      const room = await newRoom(owner.token);
      await refused(rooms(owner.token).removeRoomMember({ roomId: room.roomId, userId: owner.id }), Code.FailedPrecondition, "LAST_ROOM_ADMIN");
      await refused(
        rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: owner.id, role: RoomRole.EDITOR }),
        Code.FailedPrecondition,
        "LAST_ROOM_ADMIN",
      );
      await rooms(tenantAdmin.token).addRoomMember({ roomId: room.roomId, userId: tenantAdmin.id, role: RoomRole.ADMIN });
      await rooms(owner.token).removeRoomMember({ roomId: room.roomId, userId: owner.id });
    });

    it("answers ROOM_ROLE_REQUIRED to a room EDITOR holding rooms.write", async () => {
      const room = await newRoom(tenantAdmin.token);
      await rooms(tenantAdmin.token).addRoomMember({ roomId: room.roomId, userId: owner.id, role: RoomRole.EDITOR });
      const detail = await refused(
        rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: viewer.id, role: RoomRole.VIEWER }),
        Code.PermissionDenied,
        "ROOM_ROLE_REQUIRED",
      );
      expect(detail).toMatchObject({ attemptedValue: "EDITOR", parentValue: "ADMIN" });
    });
  });

  describe("DeleteRoom", () => {
    it("deletes the room with its members; the room then answers NOT_FOUND", async () => {
      const room = await newRoom(owner.token);
      await rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: viewer.id, role: RoomRole.VIEWER });
      await rooms(viewer.token).getRoom({ roomId: room.roomId });
      await rooms(owner.token).deleteRoom({ roomId: room.roomId });
      await refused(rooms(viewer.token).getRoom({ roomId: room.roomId }), Code.NotFound, "NOT_FOUND");
      await refused(rooms(owner.token).deleteRoom({ roomId: room.roomId }), Code.NotFound, "NOT_FOUND");
      const left = (await server.gatehouse.deps.db.asSystem((em) => em.execute("select count(*)::int as n from room_members where room_id = ?", [room.roomId]))) as Array<{ n: number }>;
      expect(left[0]!.n).toBe(0);
    });
  });

  describe("GetRoomToken", () => {
    it("answers room admins an editor token (base64url HMAC) and the viewer token `0`, and audits the call without the token", async () => {
      const room = await newRoom(owner.token);
      const tokens = await rooms(owner.token).getRoomToken({ roomId: room.roomId });
      expect(tokens.viewerToken).toBe("0");
      expect(tokens.editorToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
      expect((await rooms(tenantAdmin.token).getRoomToken({ roomId: room.roomId })).editorToken).toBe(tokens.editorToken);
      const events = (await auditRows(server, tenantId, "rooms.get_token")).filter((e) => e.room_id === room.roomId);
      expect(events.map((e) => e.outcome)).toEqual(["ALLOWED", "ALLOWED"]);
      expect(JSON.stringify(events)).not.toContain(tokens.editorToken);
    });

    it("answers ROOM_ROLE_REQUIRED to a room EDITOR", async () => {
      const room = await newRoom(tenantAdmin.token);
      await rooms(tenantAdmin.token).addRoomMember({ roomId: room.roomId, userId: owner.id, role: RoomRole.EDITOR });
      await refused(rooms(owner.token).getRoomToken({ roomId: room.roomId }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
    });
  });

  describe("room tokens (x-room-token)", () => {
    let open: { roomId: string; editorToken: string };
    let closed: { roomId: string; editorToken: string };
    const withToken = (token: string) => server.client({ headers: { "x-room-token": token } });

    beforeAll(async () => {
      // Room tokens are off by default: the platform permits them, one room opts in, one opts out.
      await server.client({ token: adminToken }).policies.updateGlobalPolicy({ policy: create(PolicySchema, { allowRoomTokens: true }) });
      const a = await newRoom(owner.token, "token-open");
      const b = await newRoom(owner.token, "token-closed");
      await server.client({ token: owner.token }).policies.updateRoomPolicy({ roomId: a.roomId, policy: create(PolicySchema, { allowRoomTokens: true }) });
      await server.client({ token: owner.token }).policies.updateRoomPolicy({ roomId: b.roomId, policy: create(PolicySchema, { allowRoomTokens: false }) });
      open = { roomId: a.roomId, editorToken: (await rooms(owner.token).getRoomToken({ roomId: a.roomId })).editorToken };
      closed = { roomId: b.roomId, editorToken: (await rooms(owner.token).getRoomToken({ roomId: b.roomId })).editorToken };
    });

    it("lets the editor token act as room EDITOR of its room, with the built-in editor role's permissions", async () => {
      const client = withToken(open.editorToken);
      expect((await client.rooms.getRoom({ roomId: open.roomId })).room).toMatchObject({ name: "token-open", myRole: RoomRole.EDITOR });
      expect((await withToken("0").rooms.getRoom({ roomId: open.roomId })).room?.myRole).toBe(RoomRole.VIEWER);
      // An EDITOR-only method with an editor-role permission (macros.write).
      const made = await client.macros.updateMacros({ roomId: open.roomId, macros: [{ name: "by-token", code: "export default function () { return 1; }" }] });
      expect(made.macros[0]?.name).toBe("by-token");
      const detail = await refused(
        client.rooms.addRoomMember({ roomId: open.roomId, userId: viewer.id, role: RoomRole.VIEWER }),
        Code.PermissionDenied,
        "PERMISSION_DENIED",
      );
      expect(detail.permission).toBe("rooms.write");
      const [event] = (await auditRows(server, tenantId, "macros.update")).filter((e) => e.room_id === open.roomId);
      expect(event).toMatchObject({ actor_name: `room-token:${open.roomId}`, actor_id: null, outcome: "ALLOWED" });
    });

    it("lets the viewer token `0` read its room but not edit", async () => {
      const client = withToken("0");
      expect((await client.rooms.getRoom({ roomId: open.roomId })).room?.roomId).toBe(open.roomId);
      expect((await client.rooms.listRoomMembers({ roomId: open.roomId })).members.length).toBe(1);
      const detail = await refused(
        client.policies.updateMacroPolicy({ roomId: open.roomId, macroId: "11111111-1111-4111-8111-111111111111", policy: create(PolicySchema, {}) }),
        Code.PermissionDenied,
        "PERMISSION_DENIED",
      );
      expect(detail.permission).toBe("macros.write");
    });

    it("refuses a wrong token and the token of another room (UNAUTHENTICATED, INVALID_ROOM_TOKEN)", async () => {
      await refused(withToken("not-the-token").rooms.getRoom({ roomId: open.roomId }), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
      await refused(withToken(closed.editorToken).rooms.getRoom({ roomId: open.roomId }), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
      const flipped = open.editorToken.slice(0, -1) + (open.editorToken.endsWith("A") ? "B" : "A");
      await refused(withToken(flipped).rooms.getRoom({ roomId: open.roomId }), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
    });

    it("grants its room only: calls about no room or another room are refused", async () => {
      await refused(withToken(open.editorToken).rooms.listRooms({}), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
      await refused(withToken(open.editorToken).rooms.getRoom({ roomId: closed.roomId }), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
      await refused(withToken("0").rules.listRules({}), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
    });

    it("is refused where the room's effective policy has allow_room_tokens false", async () => {
      const detail = await refused(withToken(closed.editorToken).rooms.getRoom({ roomId: closed.roomId }), Code.PermissionDenied, "ROOM_TOKENS_DISABLED");
      expect(detail).toMatchObject({ field: "allow_room_tokens", layer: "room", parentValue: "false" });
      // The viewer token proves nothing: the same answer as for a room that does not exist.
      await refused(withToken("0").rooms.getRoom({ roomId: closed.roomId }), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
      await refused(withToken("0").rooms.getRoom({ roomId: "00000000-0000-4000-8000-00000000abcd" }), Code.Unauthenticated, "INVALID_ROOM_TOKEN");
    });

    it("stops working at once when the room turns tokens off", async () => {
      const room = await newRoom(owner.token);
      await server.client({ token: owner.token }).policies.updateRoomPolicy({ roomId: room.roomId, policy: create(PolicySchema, { allowRoomTokens: true }) });
      const { editorToken } = await rooms(owner.token).getRoomToken({ roomId: room.roomId });
      await withToken(editorToken).rooms.getRoom({ roomId: room.roomId });
      await server.client({ token: owner.token }).policies.updateRoomPolicy({ roomId: room.roomId, policy: create(PolicySchema, { allowRoomTokens: false }) });
      await refused(withToken(editorToken).rooms.getRoom({ roomId: room.roomId }), Code.PermissionDenied, "ROOM_TOKENS_DISABLED");
    });
  });

  describe("tenant isolation", () => {
    it("hides every room of another tenant: NOT_FOUND, never PERMISSION_DENIED", async () => {
      const room = await newRoom(owner.token, "isolated-room");
      const other = await createTenant(server, adminToken, "rooms-other");
      const theirs = rooms(other.admin.token);
      await refused(theirs.getRoom({ roomId: room.roomId }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.listRoomMembers({ roomId: room.roomId }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.deleteRoom({ roomId: room.roomId }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.getRoomToken({ roomId: room.roomId }), Code.NotFound, "NOT_FOUND");
      expect((await theirs.listRooms({})).rooms.map((r) => r.name)).not.toContain("isolated-room");
      // A user of our tenant can't be added to their room.
      const own = (await theirs.createRoom({ name: "isolated-room" })).room!;
      expect(own.tenantId).toBe(other.tenantId);
      await refused(theirs.addRoomMember({ roomId: own.roomId, userId: viewer.id, role: RoomRole.VIEWER }), Code.NotFound, "NOT_FOUND");
    });
  });

  describe("audit", () => {
    it("records every change with the room, the actor and what changed", async () => {
      const room = await newRoom(owner.token, "audited-room");
      await rooms(owner.token).addRoomMember({ roomId: room.roomId, userId: viewer.id, role: RoomRole.VIEWER });
      await rooms(owner.token).removeRoomMember({ roomId: room.roomId, userId: viewer.id });
      await rooms(owner.token).deleteRoom({ roomId: room.roomId });
      for (const action of ["rooms.create", "rooms.add_member", "rooms.remove_member", "rooms.delete"]) {
        const events = (await auditRows(server, tenantId, action)).filter((e) => e.room_id === room.roomId);
        expect(events, action).toHaveLength(1);
        expect(events[0]).toMatchObject({ outcome: "ALLOWED", actor_id: owner.id, actor_name: owner.username });
      }
      const [added] = (await auditRows(server, tenantId, "rooms.add_member")).filter((e) => e.room_id === room.roomId);
      expect(added!.details).toMatchObject({ userId: viewer.id, role: "VIEWER", previousRole: null });
    });
  });
});
