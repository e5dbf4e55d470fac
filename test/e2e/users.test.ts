import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";
import { UsersService } from "../../gen/gatehouse/v1/users_pb.js";
import {
  auditEvents,
  createUser,
  expectAccessRules,
  expectDeniedInAudit,
  expectEveryMethodGuarded,
  expectFailure,
  roleIdsByName,
  uniqueName,
  waitUntil,
  type TestUser,
} from "../support/identity.js";

const missingId = "00000000-0000-4000-8000-000000000000";

describe("UsersService", () => {
  let server: TestServer;
  let root: string; // the bootstrap SUPERGOD's token
  let rootId: string;
  let roles: Map<string, string>;
  let admin: TestUser; // LEVEL_ADMIN with role admin
  let peer: TestUser; // another LEVEL_ADMIN with role admin
  let plain: TestUser; // LEVEL_USER with role viewer

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    rootId = (await server.client({ token: root }).auth.whoAmI({})).user!.userId;
    roles = await roleIdsByName(server, root);
    [admin, peer, plain] = await Promise.all([
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "admin" }),
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "peer" }),
      createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "plain" }),
    ]);
  });
  afterAll(async () => {
    await server?.close();
  });

  const users = (token: string) => server.client({ token }).users;

  describe("CreateUser", () => {
    it("creates a user with roles and stores the password only as argon2id", async () => {
      const username = uniqueName("new");
      const res = await users(admin.token).createUser({ username, password: "a-long-password", level: Level.USER, roleIds: [roles.get("editor")!] });
      expect(res.user).toMatchObject({ username, level: Level.USER, roleNames: ["editor"], disabled: false });
      const rows = (await server.gatehouse.deps.db.asSystem((em) => em.execute("select password_hash from users where id = ?", [res.user!.userId]))) as Array<{ password_hash: string }>;
      expect(rows[0]!.password_hash).toMatch(/^\$argon2id\$v=19\$m=(19456|[2-9]\d{4,}|\d{6,}),t=\d+,p=\d+\$/);
      const token = await server.login(username, "a-long-password");
      const me = await server.client({ token }).auth.whoAmI({});
      expect(me.permissions).toContain("macros.write");
    });

    it("refuses malformed input with INVALID_ARGUMENT naming the field", async () => {
      const bad: Array<[{ username: string; password: string; level: Level; roleIds?: string[] }, string]> = [
        [{ username: "A", password: "a-long-password", level: Level.USER }, "username"],
        [{ username: uniqueName("u"), password: "short", level: Level.USER }, "password"],
        [{ username: uniqueName("u"), password: "a-long-password", level: Level.UNSPECIFIED }, "level"],
        [{ username: uniqueName("u"), password: "a-long-password", level: 42 as Level }, "level"],
        [{ username: uniqueName("u"), password: "a-long-password", level: Level.USER, roleIds: ["garbage"] }, "role_ids[0]"],
      ];
      for (const [req, field] of bad) {
        const failure = await expectFailure(users(admin.token).createUser(req), Code.InvalidArgument, "INVALID_ARGUMENT");
        expect(failure.detail?.field).toBe(field);
      }
    });

    it("answers ALREADY_EXISTS for a taken username and NOT_FOUND for an unknown role", async () => {
      await expectFailure(users(admin.token).createUser({ username: plain.username, password: "a-long-password", level: Level.USER }), Code.AlreadyExists);
      await expectFailure(users(admin.token).createUser({ username: uniqueName("u"), password: "a-long-password", level: Level.USER, roleIds: [missingId] }), Code.NotFound);
    });

    it("refuses an admin creating a user at or above their own level, and audits the denial", async () => {
      for (const level of [Level.ADMIN, Level.GOD, Level.SUPERGOD]) {
        const failure = await expectFailure(
          users(admin.token).createUser({ username: uniqueName("esc"), password: "a-long-password", level }),
          Code.PermissionDenied,
          "LEVEL_TOO_LOW",
        );
        expect(failure.detail?.field).toBe("level");
      }
      await expectDeniedInAudit(server, root, admin.id, "users.create", "LEVEL_TOO_LOW");
    });

    it("refuses to give a role holding permissions the creator lacks", async () => {
      const failure = await expectFailure(
        users(admin.token).createUser({ username: uniqueName("esc"), password: "a-long-password", level: Level.USER, roleIds: [roles.get("superuser")!] }),
        Code.PermissionDenied,
        "PERMISSION_DENIED",
      );
      const mine = (await server.client({ token: admin.token }).auth.whoAmI({})).permissions;
      expect(failure.detail?.permission).not.toBe("");
      expect(mine).not.toContain(failure.detail?.permission);
    });

    it("lets SUPERGOD create any level, and refuses callers without users.write", async () => {
      const god = await users(root).createUser({ username: uniqueName("god"), password: "a-long-password", level: Level.GOD });
      expect(god.user?.level).toBe(Level.GOD);
      const failure = await expectFailure(users(plain.token).createUser({ username: uniqueName("x"), password: "a-long-password", level: Level.GUEST }), Code.PermissionDenied, "PERMISSION_DENIED");
      expect(failure.detail?.permission).toBe("users.write");
    });
  });

  describe("GetUser", () => {
    it("returns a user, NOT_FOUND for an unknown id and INVALID_ARGUMENT for garbage", async () => {
      const res = await users(admin.token).getUser({ userId: plain.id });
      expect(res.user).toMatchObject({ userId: plain.id, username: plain.username, level: Level.USER, roleNames: ["viewer"] });
      await expectFailure(users(admin.token).getUser({ userId: missingId }), Code.NotFound, "NOT_FOUND");
      const failure = await expectFailure(users(admin.token).getUser({ userId: "1; drop table users" }), Code.InvalidArgument);
      expect(failure.detail?.field).toBe("user_id");
    });
  });

  describe("ListUsers", () => {
    it("walks every user once, in username order, page by page", async () => {
      const seen: string[] = [];
      let pageToken = "";
      for (let i = 0; i < 100; i++) {
        const res = await users(admin.token).listUsers({ pageSize: 2, pageToken });
        expect(res.users.length).toBeLessThanOrEqual(2);
        seen.push(...res.users.map((u) => u.username));
        pageToken = res.nextPageToken;
        if (pageToken === "") break;
      }
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(seen.length);
      const all = await users(admin.token).listUsers({ pageSize: 1000 });
      expect(seen).toEqual(all.users.map((u) => u.username));
      expect(seen).toEqual(expect.arrayContaining(["admin", admin.username, plain.username]));
    });

    it("refuses a negative page size and a forged page token", async () => {
      expect((await expectFailure(users(admin.token).listUsers({ pageSize: -1 }), Code.InvalidArgument)).detail?.field).toBe("page_size");
      expect((await expectFailure(users(admin.token).listUsers({ pageToken: "not-ours" }), Code.InvalidArgument)).detail?.field).toBe("page_token");
    });
  });

  describe("UpdateUser", () => {
    it("refuses raising one's own level, changes nothing and audits the denial", async () => {
      await expectFailure(users(admin.token).updateUser({ userId: admin.id, level: Level.SUPERGOD }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(users(root).updateUser({ userId: rootId, level: Level.ADMIN }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      expect((await users(root).getUser({ userId: admin.id })).user?.level).toBe(Level.ADMIN);
      expect((await server.client({ token: admin.token }).auth.whoAmI({})).level).toBe(Level.ADMIN);
      await expectDeniedInAudit(server, root, admin.id, "users.update", "LEVEL_TOO_LOW");
    });

    it("refuses raising someone to the caller's level or above, and editing peers or superiors", async () => {
      const target = await createUser(server, root, { level: Level.GUEST, prefix: "target" });
      await expectFailure(users(admin.token).updateUser({ userId: target.id, level: Level.ADMIN }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(users(admin.token).updateUser({ userId: peer.id, disabled: true }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(users(admin.token).updateUser({ userId: rootId, level: Level.GUEST }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      expect((await users(root).getUser({ userId: peer.id })).user).toMatchObject({ level: Level.ADMIN, disabled: false });
      const res = await users(admin.token).updateUser({ userId: target.id, level: Level.USER });
      expect(res.user?.level).toBe(Level.USER);
    });

    it("refuses LEVEL_UNSPECIFIED and answers NOT_FOUND for an unknown user", async () => {
      expect((await expectFailure(users(admin.token).updateUser({ userId: plain.id, level: Level.UNSPECIFIED }), Code.InvalidArgument)).detail?.field).toBe("level");
      await expectFailure(users(admin.token).updateUser({ userId: missingId, disabled: true }), Code.NotFound);
    });

    it("disabling a user makes their token UNAUTHENTICATED within a second and their login fail", async () => {
      const victim = await createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "victim" });
      const victimClient = server.client({ token: victim.token });
      await victimClient.auth.whoAmI({});
      await users(admin.token).updateUser({ userId: victim.id, disabled: true });
      const elapsed = await waitUntil(async () => {
        try {
          await victimClient.auth.whoAmI({});
          return false;
        } catch {
          return true;
        }
      }, 1000);
      expect(elapsed).toBeLessThan(1000);
      await expectFailure(victimClient.auth.whoAmI({}), Code.Unauthenticated);
      await expectFailure(server.login(victim.username, victim.password), Code.Unauthenticated);
      // Enabled again: the old session stays revoked, a new login works.
      await users(admin.token).updateUser({ userId: victim.id, disabled: false });
      await expectFailure(victimClient.auth.whoAmI({}), Code.Unauthenticated);
      const fresh = await server.login(victim.username, victim.password);
      expect((await server.client({ token: fresh }).auth.whoAmI({})).user?.userId).toBe(victim.id);
    });
  });

  describe("DeleteUser", () => {
    it("deletes a user below the caller and ends their sessions at once", async () => {
      const victim = await createUser(server, root, { level: Level.GUEST, prefix: "gone" });
      await users(admin.token).deleteUser({ userId: victim.id });
      await expectFailure(server.client({ token: victim.token }).auth.whoAmI({}), Code.Unauthenticated);
      await expectFailure(users(admin.token).getUser({ userId: victim.id }), Code.NotFound);
      await expectFailure(users(admin.token).deleteUser({ userId: victim.id }), Code.NotFound);
    });

    it("refuses deleting oneself, a peer or a superior", async () => {
      await expectFailure(users(admin.token).deleteUser({ userId: admin.id }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(users(admin.token).deleteUser({ userId: peer.id }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(users(root).deleteUser({ userId: rootId }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      expect((await users(root).getUser({ userId: peer.id })).user?.userId).toBe(peer.id);
    });
  });

  describe("SetUserRoles", () => {
    it("refuses granting oneself a role, changes nothing and audits the denial", async () => {
      await expectFailure(
        users(admin.token).setUserRoles({ userId: admin.id, roleIds: [roles.get("admin")!, roles.get("superuser")!] }),
        Code.PermissionDenied,
        "LEVEL_TOO_LOW",
      );
      expect((await users(root).getUser({ userId: admin.id })).user?.roleNames).toEqual(["admin"]);
      expect((await server.client({ token: admin.token }).auth.whoAmI({})).permissions).not.toContain("tenants.manage");
      await expectDeniedInAudit(server, root, admin.id, "users.set_roles", "LEVEL_TOO_LOW");
    });

    it("refuses granting a role holding permissions the caller lacks, even to a lower user", async () => {
      const failure = await expectFailure(
        users(admin.token).setUserRoles({ userId: plain.id, roleIds: [roles.get("superuser")!] }),
        Code.PermissionDenied,
        "PERMISSION_DENIED",
      );
      expect(failure.detail?.permission).not.toBe("");
      expect((await users(root).getUser({ userId: plain.id })).user?.roleNames).toEqual(["viewer"]);
      await expectDeniedInAudit(server, root, admin.id, "users.set_roles", "PERMISSION_DENIED");
    });

    it("replaces a lower user's roles and their permissions change at once", async () => {
      const target = await createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "promoted" });
      const client = server.client({ token: target.token });
      expect((await client.users.checkPermission({ permission: "macros.run" })).allowed).toBe(false);
      const res = await users(admin.token).setUserRoles({ userId: target.id, roleIds: [roles.get("editor")!] });
      expect(res.user?.roleNames).toEqual(["editor"]);
      await waitUntil(async () => (await client.users.checkPermission({ permission: "macros.run" })).allowed, 1000);
      await users(admin.token).setUserRoles({ userId: target.id, roleIds: [] });
      await waitUntil(async () => !(await client.users.checkPermission({ permission: "rooms.read" })).allowed, 1000);
    });

    it("lets SUPERGOD set their own roles, and answers NOT_FOUND for an unknown role", async () => {
      const res = await users(root).setUserRoles({ userId: rootId, roleIds: [roles.get("superuser")!, roles.get("viewer")!] });
      expect(res.user?.roleNames).toEqual(["superuser", "viewer"]);
      await users(root).setUserRoles({ userId: rootId, roleIds: [roles.get("superuser")!] });
      await expectFailure(users(root).setUserRoles({ userId: plain.id, roleIds: [missingId] }), Code.NotFound);
    });
  });

  describe("ChangePassword", () => {
    it("changes the caller's password and ends their other sessions", async () => {
      const me = await createUser(server, root, { level: Level.USER, prefix: "pw" });
      const other = await server.login(me.username, me.password);
      await expectFailure(users(me.token).changePassword({ oldPassword: "wrong-password", newPassword: "a-new-long-password" }), Code.PermissionDenied);
      const weak = await expectFailure(users(me.token).changePassword({ oldPassword: me.password, newPassword: "short" }), Code.InvalidArgument);
      expect(weak.detail?.field).toBe("new_password");
      await users(me.token).changePassword({ oldPassword: me.password, newPassword: "a-new-long-password" });
      await expectFailure(server.client({ token: other }).auth.whoAmI({}), Code.Unauthenticated);
      expect((await server.client({ token: me.token }).auth.whoAmI({})).user?.userId).toBe(me.id);
      await expectFailure(server.login(me.username, me.password), Code.Unauthenticated);
      await server.login(me.username, "a-new-long-password");
      const events = await auditEvents(server, root, { action: "users.change_password", actorId: me.id });
      expect(JSON.stringify(events.map((e) => e.details))).not.toContain("a-new-long-password");
    });
  });

  describe("ResetUserPassword", () => {
    it("sets a new password for a user below the caller and ends every session of theirs; audited without the password", async () => {
      const target = await createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "reset" });
      const second = await server.login(target.username, target.password);
      const res = await users(admin.token).resetUserPassword({ userId: target.id, newPassword: "reset-long-password" });
      expect(res.sessionsRevoked).toBeGreaterThanOrEqual(2);
      for (const token of [target.token, second]) await expectFailure(server.client({ token }).auth.whoAmI({}), Code.Unauthenticated);
      await expectFailure(server.login(target.username, target.password), Code.Unauthenticated);
      const fresh = await server.login(target.username, "reset-long-password");
      expect((await server.client({ token: fresh }).auth.whoAmI({})).user?.userId).toBe(target.id);
      // The caller's own session goes on.
      expect((await server.client({ token: admin.token }).auth.whoAmI({})).user?.userId).toBe(admin.id);
      const [event] = await auditEvents(server, root, { action: "users.reset_password", actorId: admin.id });
      expect(event).toMatchObject({ resource: `user:${target.id}` });
      expect(JSON.stringify(event!.details)).not.toContain("reset-long-password");
      const rows = (await server.gatehouse.deps.db.asSystem((em) => em.execute("select a::text as d from audit_events a where a.action = 'users.reset_password'"))) as Array<{ d: string }>;
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((r) => !r.d.includes("reset-long-password"))).toBe(true);
    });

    it("refuses a weak or overlong password with INVALID_ARGUMENT naming new_password, and changes nothing", async () => {
      const target = await createUser(server, root, { level: Level.USER, prefix: "reset-weak" });
      for (const newPassword of ["short", "x".repeat(1025)]) {
        const failure = await expectFailure(users(admin.token).resetUserPassword({ userId: target.id, newPassword }), Code.InvalidArgument, "INVALID_ARGUMENT");
        expect(failure.detail?.field).toBe("new_password");
      }
      expect((await server.client({ token: target.token }).auth.whoAmI({})).user?.userId).toBe(target.id);
      await server.login(target.username, target.password);
    });

    it("refuses a peer, a superior and oneself (LEVEL_TOO_LOW) but lets SUPERGOD reset anyone else's", async () => {
      for (const userId of [peer.id, admin.id, rootId]) {
        const failure = await expectFailure(users(admin.token).resetUserPassword({ userId, newPassword: "reset-long-password" }), Code.PermissionDenied, "LEVEL_TOO_LOW");
        expect(failure.detail?.field).toBe("user_id");
      }
      await expectFailure(users(root).resetUserPassword({ userId: rootId, newPassword: "reset-long-password" }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await server.login(peer.username, peer.password);
      await expectDeniedInAudit(server, root, admin.id, "users.reset_password", "LEVEL_TOO_LOW");
      const god = await createUser(server, root, { level: Level.GOD, prefix: "reset-god" });
      await users(root).resetUserPassword({ userId: god.id, newPassword: "god-long-password" });
      await server.login(god.username, "god-long-password");
    });

    it("needs users.write, answers NOT_FOUND for an unknown user and INVALID_ARGUMENT for a malformed id", async () => {
      const failure = await expectFailure(users(plain.token).resetUserPassword({ userId: admin.id, newPassword: "reset-long-password" }), Code.PermissionDenied, "PERMISSION_DENIED");
      expect(failure.detail?.permission).toBe("users.write");
      await expectFailure(users(admin.token).resetUserPassword({ userId: missingId, newPassword: "reset-long-password" }), Code.NotFound);
      const malformed = await expectFailure(users(admin.token).resetUserPassword({ userId: "someone", newPassword: "reset-long-password" }), Code.InvalidArgument);
      expect(malformed.detail?.field).toBe("user_id");
      await server.login(admin.username, admin.password);
    });
  });

  describe("CheckPermission", () => {
    it("answers the caller's own checks over the Connect protocol, with reasons", async () => {
      const client = server.client({ token: plain.token, protocol: "connect" }).users;
      expect(await client.checkPermission({ permission: "rooms.read" })).toMatchObject({ allowed: true, reason: "" });
      expect(await client.checkPermission({ permission: "macros.write" })).toMatchObject({ allowed: false, reason: "PERMISSION_DENIED" });
      expect(await client.checkPermission({ permission: "nosuch.key" })).toMatchObject({ allowed: false, reason: "UNKNOWN_PERMISSION" });
      expect(await client.checkPermission({ permission: "Not A Key" })).toMatchObject({ allowed: false, reason: "UNKNOWN_PERMISSION" });
      expect(await client.checkPermission({ permission: "rooms.read", userId: plain.id })).toMatchObject({ allowed: true });
    });

    it("needs users.read to check another user", async () => {
      const failure = await expectFailure(users(plain.token).checkPermission({ permission: "rooms.read", userId: admin.id }), Code.PermissionDenied, "PERMISSION_DENIED");
      expect(failure.detail?.permission).toBe("users.read");
      expect(await users(admin.token).checkPermission({ permission: "rooms.read", userId: plain.id })).toMatchObject({ allowed: true });
      expect(await users(admin.token).checkPermission({ permission: "users.write", userId: plain.id })).toMatchObject({ allowed: false, reason: "PERMISSION_DENIED" });
      await expectFailure(users(admin.token).checkPermission({ permission: "rooms.read", userId: missingId }), Code.NotFound);
      await expectFailure(users(admin.token).checkPermission({ permission: "rooms.read", userId: "zzz" }), Code.InvalidArgument);
    });

    it("takes the room role into account when room_id is given", async () => {
      const room = (await server.client({ token: admin.token }).rooms.createRoom({ name: uniqueName("room") })).room!;
      const member = await createUser(server, root, { level: Level.USER, roles: ["editor"], prefix: "member" });
      await server.client({ token: admin.token }).rooms.addRoomMember({ roomId: room.roomId, userId: member.id, role: RoomRole.VIEWER });
      const mine = users(member.token);
      expect(await mine.checkPermission({ permission: "rooms.read", roomId: room.roomId })).toMatchObject({ allowed: true, reason: "" });
      expect(await mine.checkPermission({ permission: "macros.run", roomId: room.roomId })).toMatchObject({ allowed: false, reason: "ROOM_ROLE_REQUIRED" });
      expect(await mine.checkPermission({ permission: "macros.run" })).toMatchObject({ allowed: true });
      // Not a member: no room role at all.
      expect(await users(plain.token).checkPermission({ permission: "rooms.read", roomId: room.roomId })).toMatchObject({ allowed: false, reason: "ROOM_ROLE_REQUIRED" });
      // The same answers when someone with users.read asks about them.
      const res = await users(admin.token).checkPermissions({
        checks: [
          { permission: "rooms.read", userId: member.id, roomId: room.roomId },
          { permission: "macros.run", userId: member.id, roomId: room.roomId },
          { permission: "rooms.read", userId: plain.id, roomId: room.roomId },
          { permission: "users.write", roomId: room.roomId }, // a tenant admin acts as room admin
        ],
      });
      expect(res.results.map((r) => r.reason)).toEqual(["", "ROOM_ROLE_REQUIRED", "ROOM_ROLE_REQUIRED", ""]);
      await expectFailure(mine.checkPermission({ permission: "rooms.read", roomId: missingId }), Code.NotFound);
      expect((await expectFailure(mine.checkPermission({ permission: "rooms.read", roomId: "room-1" }), Code.InvalidArgument)).detail?.field).toBe("room_id");
    });

    it("grants nothing by level: a GOD without roles holds no permission", async () => {
      const god = await createUser(server, root, { level: Level.GOD, prefix: "bare-god" });
      expect(await users(god.token).checkPermission({ permission: "users.read" })).toMatchObject({ allowed: false, reason: "PERMISSION_DENIED" });
    });
  });

  describe("CheckPermissions", () => {
    it("answers each check in order", async () => {
      const res = await users(admin.token).checkPermissions({
        checks: [
          { permission: "users.read" },
          { permission: "tenants.manage" },
          { permission: "rooms.read", userId: plain.id },
          { permission: "users.read", userId: plain.id },
          { permission: "bogus" },
        ],
      });
      expect(res.results.map((r) => [r.permission, r.allowed, r.reason])).toEqual([
        ["users.read", true, ""],
        ["tenants.manage", false, "PERMISSION_DENIED"],
        ["rooms.read", true, ""],
        ["users.read", false, "PERMISSION_DENIED"],
        ["bogus", false, "UNKNOWN_PERMISSION"],
      ]);
    });

    it("refuses no checks, too many checks, and another user's check without users.read", async () => {
      await expectFailure(users(admin.token).checkPermissions({ checks: [] }), Code.InvalidArgument);
      await expectFailure(users(admin.token).checkPermissions({ checks: Array.from({ length: 1001 }, () => ({ permission: "rooms.read" })) }), Code.InvalidArgument);
      await expectFailure(users(plain.token).checkPermissions({ checks: [{ permission: "rooms.read" }, { permission: "rooms.read", userId: admin.id }] }), Code.PermissionDenied);
    });
  });

  describe("access rules", () => {
    it("puts the documented access rule on every method", () => {
      expectAccessRules(UsersService, {
        CreateUser: { permission: "users.write", mutates: true },
        GetUser: { permission: "users.read" },
        ListUsers: { permission: "users.read" },
        UpdateUser: { permission: "users.write", mutates: true },
        DeleteUser: { permission: "users.write", mutates: true },
        SetUserRoles: { permission: "users.write", mutates: true },
        ChangePassword: { permission: "", mutates: true },
        ResetUserPassword: { permission: "users.write", mutates: true },
        UnlockUser: { permission: "users.write", mutates: true },
        CheckPermission: { permission: "" },
        CheckPermissions: { permission: "" },
      });
    });

    it("enforces them: UNAUTHENTICATED without credentials, PERMISSION_DENIED without the permission", async () => {
      const guest = await createUser(server, root, { level: Level.GUEST, prefix: "guest" });
      await expectEveryMethodGuarded(server, UsersService, guest.token);
    });
  });

  it("keeps the bootstrap admin's password working (sanity)", async () => {
    expect(await server.login("admin", adminPassword)).not.toBe("");
  });
});
