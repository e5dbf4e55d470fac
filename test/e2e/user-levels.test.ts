import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome } from "../../gen/gatehouse/v1/audit_pb.js";
import { Level, PolicySchema, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { UsersService } from "../../gen/gatehouse/v1/users_pb.js";
import { accessRuleOf } from "../../src/interceptors/access-rules.js";
import { gatehouseServices } from "../../src/routes.js";
import { auditEvents, createUser, expectFailure, type TestUser } from "../support/identity.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Finding 5 of issue 13: levels bound who may change whom. Every method that
 * changes a user (their account, roles, policy override, sessions or login
 * lockout) needs the caller strictly above the target, SUPERGOD exempt;
 * reads and room membership are not bound by level.
 */

const missingId = "00000000-0000-4000-8000-000000000000";

/**
 * Room membership changes a room, not the user: an ADMIN (acting as room
 * admin) may add or remove anyone of the tenant, whatever their level.
 */
const notBoundByLevel = new Set(["RoomsService.AddRoomMember", "RoomsService.RemoveRoomMember"]);

/** userChangingMethods lists every mutating method whose request names a `user_id`: the methods that change a user. */
function userChangingMethods(): string[] {
  return gatehouseServices.flatMap((service) =>
    service.methods
      .filter((m) => accessRuleOf(m)?.mutates === true && m.input.fields.some((f) => f.name === "user_id"))
      .map((m) => `${service.name}.${m.name}`),
  );
}

describe("levels bound who may change whom", () => {
  let server: TestServer;
  let root: string;
    let admin: TestUser; // LEVEL_ADMIN with the built-in admin role
  let peer: TestUser; // another LEVEL_ADMIN
  let god: TestUser; // LEVEL_GOD, the target an ADMIN must not touch
  let plain: TestUser; // LEVEL_USER, a target an ADMIN may manage

  const godOverride = create(PolicySchema, { timeoutMs: 500 });

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    [admin, peer, god, plain] = await Promise.all([
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "admin" }),
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "peer" }),
      createUser(server, root, { level: Level.GOD, roles: ["viewer"], prefix: "god" }),
      createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "plain" }),
    ]);
    await server.client({ token: root }).policies.updateUserPolicy({ userId: god.id, policy: godOverride });
  });
  afterAll(async () => {
    await server?.close();
  });

  /** lockOut fails a user's login until the account is locked (LOGIN_LOCKED). */
  const lockOut = async (user: TestUser) => {
    for (let i = 0; i < server.config.lockoutUserFailures; i += 1) {
      await expectFailure(server.client().auth.login({ tenant: "default", username: user.username, password: "wrong-password-1" }), Code.Unauthenticated);
    }
    await expectFailure(server.client().auth.login({ tenant: "default", username: user.username, password: user.password }), Code.ResourceExhausted, "LOGIN_LOCKED");
  };

  /** attempts builds, per method that changes a user, the call an ADMIN makes on `targetId`. */
  const attempts = (token: string, targetId: string): Record<string, () => Promise<unknown>> => {
    const users = server.client({ token }).users;
    const policies = server.client({ token }).policies;
    return {
      "UsersService.UpdateUser": () => users.updateUser({ userId: targetId, disabled: true }),
      "UsersService.DeleteUser": () => users.deleteUser({ userId: targetId }),
      "UsersService.SetUserRoles": () => users.setUserRoles({ userId: targetId, roleIds: [] }),
      "UsersService.UnlockUser": () => users.unlockUser({ userId: targetId }),
      "UsersService.ResetUserPassword": () => users.resetUserPassword({ userId: targetId, newPassword: "reset-long-password" }),
      "PoliciesService.UpdateUserPolicy": () => policies.updateUserPolicy({ userId: targetId, policy: create(PolicySchema, { timeoutMs: 100 }) }),
      "PoliciesService.DeleteUserPolicy": () => policies.deleteUserPolicy({ userId: targetId }),
    };
  };

  it("knows every method that changes a user (a new one must be added here)", () => {
    const covered = Object.keys(attempts("", missingId));
    expect(userChangingMethods().sort()).toEqual([...covered, ...notBoundByLevel].sort());
  });

  it("refuses an ADMIN every method that changes a GOD (LEVEL_TOO_LOW), audits each denial and changes nothing", async () => {
    await lockOut(god);
    const calls = attempts(admin.token, god.id);
    const answers: Record<string, string> = {};
    for (const [method, call] of Object.entries(calls)) {
      const failure = await expectFailure(call(), Code.PermissionDenied);
      answers[method] = failure.reason;
      expect(failure.detail.field, method).toBe("user_id");
      expect(failure.detail.attemptedValue, method).toBe("GOD");
      expect(failure.detail.parentValue, method).toBe("ADMIN");
    }
    expect(answers).toEqual(Object.fromEntries(Object.keys(calls).map((m) => [m, "LEVEL_TOO_LOW"])));

    // Nothing changed: level, flag, roles, override, and the lockout is still there.
    const after = await server.client({ token: root }).users.getUser({ userId: god.id });
    expect(after.user).toMatchObject({ level: Level.GOD, disabled: false, roleNames: ["viewer"] });
    expect((await server.client({ token: root }).policies.getUserPolicy({ userId: god.id })).policy?.timeoutMs).toBe(500);
    await expectFailure(server.client().auth.login({ tenant: "default", username: god.username, password: god.password }), Code.ResourceExhausted, "LOGIN_LOCKED");

    const denied = (await auditEvents(server, root, { actorId: admin.id })).filter((e) => e.outcome === AuditOutcome.DENIED && e.resource === `user:${god.id}`);
    expect(new Set(denied.map((e) => e.action))).toEqual(
      new Set(["users.update", "users.delete", "users.set_roles", "users.unlock", "users.reset_password", "policies.update_user", "policies.delete_user"]),
    );
    expect(denied.every((e) => e.reason === "LEVEL_TOO_LOW")).toBe(true);
  });

  it("refuses an ADMIN the policy override of a peer ADMIN and of themselves", async () => {
    const policies = server.client({ token: admin.token }).policies;
    for (const userId of [peer.id, admin.id]) {
      await expectFailure(policies.updateUserPolicy({ userId, policy: create(PolicySchema, { timeoutMs: 100 }) }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(policies.deleteUserPolicy({ userId }), Code.PermissionDenied, "LEVEL_TOO_LOW");
    }
  });

  it("lets an ADMIN change the override of a user below them, and SUPERGOD change anyone's", async () => {
    const asAdmin = server.client({ token: admin.token }).policies;
    await asAdmin.updateUserPolicy({ userId: plain.id, policy: create(PolicySchema, { timeoutMs: 200 }) });
    expect((await asAdmin.getUserPolicy({ userId: plain.id })).policy?.timeoutMs).toBe(200);
    await asAdmin.deleteUserPolicy({ userId: plain.id });
    expect((await asAdmin.getUserPolicy({ userId: plain.id })).policy).toBeUndefined();
    const asRoot = server.client({ token: root }).policies;
    await asRoot.updateUserPolicy({ userId: god.id, policy: create(PolicySchema, { timeoutMs: 400 }) });
    expect((await asRoot.getUserPolicy({ userId: god.id })).policy?.timeoutMs).toBe(400);
    await asRoot.updateUserPolicy({ userId: god.id, policy: godOverride });
  });

  it("does not bound reads or room membership by level", async () => {
    const asAdmin = server.client({ token: admin.token });
    expect((await asAdmin.users.getUser({ userId: god.id })).user?.level).toBe(Level.GOD);
    expect((await asAdmin.policies.getUserPolicy({ userId: god.id })).policy?.timeoutMs).toBe(500);
    expect((await asAdmin.users.checkPermission({ userId: god.id, permission: "rooms.read" })).allowed).toBe(true);
    const room = (await asAdmin.rooms.createRoom({ name: "levels-room" })).room!;
    await asAdmin.rooms.addRoomMember({ roomId: room.roomId, userId: god.id, role: RoomRole.VIEWER });
    await asAdmin.rooms.removeRoomMember({ roomId: room.roomId, userId: god.id });
  });
});

describe("UsersService.UnlockUser", () => {
  let server: TestServer;
  let root: string;
  let admin: TestUser;
  let plain: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    [admin, plain] = await Promise.all([
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "admin" }),
      createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "plain" }),
    ]);
  });
  afterAll(async () => {
    await server?.close();
  });

  const login = (user: TestUser, password = user.password) => server.client().auth.login({ tenant: "default", username: user.username, password });

  it("declares users.write, mutates and audit in its access rule", () => {
    const rule = accessRuleOf(UsersService.method.unlockUser);
    expect(rule).toMatchObject({ public: false, permission: "users.write", mutates: true, audit: true, minLevel: Level.UNSPECIFIED });
  });

  it("clears a locked-out account so the user logs in at once, and audits it", async () => {
    for (let i = 0; i < server.config.lockoutUserFailures; i += 1) await expectFailure(login(plain, "wrong-password-1"), Code.Unauthenticated);
    await expectFailure(login(plain), Code.ResourceExhausted, "LOGIN_LOCKED");
    const res = await server.client({ token: admin.token }).users.unlockUser({ userId: plain.id });
    expect(res.wasLocked).toBe(true);
    expect((await login(plain)).user?.userId).toBe(plain.id);
    const again = await server.client({ token: admin.token }).users.unlockUser({ userId: plain.id });
    expect(again.wasLocked).toBe(false);
    const events = await auditEvents(server, root, { action: "users.unlock", actorId: admin.id });
    expect(events.map((e) => [e.outcome, e.resource])).toEqual([
      [AuditOutcome.ALLOWED, `user:${plain.id}`],
      [AuditOutcome.ALLOWED, `user:${plain.id}`],
    ]);
  });

  it("answers NOT_FOUND for an unknown user and INVALID_ARGUMENT for a malformed id", async () => {
    await expectFailure(server.client({ token: admin.token }).users.unlockUser({ userId: missingId }), Code.NotFound, "NOT_FOUND");
    const failure = await expectFailure(server.client({ token: admin.token }).users.unlockUser({ userId: "nope" }), Code.InvalidArgument);
    expect(failure.detail.field).toBe("user_id");
  });

  it("refuses a caller without users.write", async () => {
    const failure = await expectFailure(server.client({ token: plain.token }).users.unlockUser({ userId: admin.id }), Code.PermissionDenied, "PERMISSION_DENIED");
    expect(failure.detail.permission).toBe("users.write");
  });
});

describe("UsersService.UnlockUser without Redis (in-process counters)", () => {
  let server: TestServer;
  let root: string;
  let plain: TestUser;

  beforeAll(async () => {
    server = await startTestServer({ redis: false });
    root = await server.login();
    plain = await createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "plain" });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("clears the lockout Login counted in this process", async () => {
    const login = (password: string) => server.client().auth.login({ tenant: "default", username: plain.username, password });
    for (let i = 0; i < server.config.lockoutUserFailures; i += 1) await expectFailure(login("wrong-password-1"), Code.Unauthenticated);
    await expectFailure(login(plain.password), Code.ResourceExhausted, "LOGIN_LOCKED");
    expect((await server.client({ token: root }).users.unlockUser({ userId: plain.id })).wasLocked).toBe(true);
    expect((await login(plain.password)).user?.userId).toBe(plain.id);
  });
});
