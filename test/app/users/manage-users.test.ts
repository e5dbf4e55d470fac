import { beforeEach, describe, expect, it } from "vitest";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { createUser, deleteUser, setUserRoles, updateUser } from "../../../src/app/users/manage-users.js";
import { getUser, listUsers } from "../../../src/app/users/read-users.js";
import { DomainError } from "../../../src/domain/errors.js";
import { testCall } from "../../support/app-call.js";
import { MemoryDirectory, RecordingSessionCaches } from "../../support/memory-stores/users.js";

const callerId = "00000000-0000-4000-8000-000000000001";

async function refusal(work: Promise<unknown>): Promise<DomainError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

describe("user management use cases", () => {
  let dir: MemoryDirectory;
  let caches: RecordingSessionCaches;
  let deps: { users: MemoryDirectory["users"]; sessions: MemoryDirectory["sessions"]; sessionCaches: RecordingSessionCaches };
  let viewer: string;
  let writer: string;

  beforeEach(() => {
    dir = new MemoryDirectory();
    caches = new RecordingSessionCaches();
    deps = { users: dir.users, sessions: dir.sessions, sessionCaches: caches };
    viewer = dir.addRole({ name: "viewer", permissions: ["rooms.read"] });
    writer = dir.addRole({ name: "writer", permissions: ["rooms.read", "users.write"] });
    dir.addUser({ id: callerId, username: "tester", level: Level.ADMIN, roles: [viewer] });
  });

  it("creates a user below the caller with roles whose keys the caller holds, naming it in the audit facts", async () => {
    const done = await createUser(deps, testCall(), { username: "newbie", password: "a-long-password-1", level: Level.USER, roleIds: [viewer.toUpperCase()] });
    expect(done.value).toMatchObject({ username: "newbie", level: Level.USER, roleNames: ["viewer"] });
    expect(done.audit).toEqual({ resource: `user:${done.value.id}` });
    expect(dir.userRows.get(done.value.id)!.passwordHash).toMatch(/^\$argon2id\$/);
  });

  it("refuses a level at or above the caller's, a role with keys the caller lacks, an unknown role, and bad input; creates nothing", async () => {
    expect((await refusal(createUser(deps, testCall(), { username: "peer", password: "a-long-password-1", level: Level.ADMIN, roleIds: [] }))).reason).toBe("LEVEL_TOO_LOW");
    const lacking = await refusal(createUser(deps, testCall(), { username: "strong", password: "a-long-password-1", level: Level.USER, roleIds: [writer] }));
    expect(lacking.reason).toBe("PERMISSION_DENIED");
    expect(lacking.facts.permission).toBe("users.write");
    const unknown = "00000000-0000-4000-8000-00000000dead";
    expect((await refusal(createUser(deps, testCall(), { username: "ghost", password: "a-long-password-1", level: Level.USER, roleIds: [unknown] }))).reason).toBe("NOT_FOUND");
    expect((await refusal(createUser(deps, testCall(), { username: "X", password: "a-long-password-1", level: Level.USER, roleIds: [] }))).facts.field).toBe("username");
    expect((await refusal(createUser(deps, testCall(), { username: "weak", password: "short", level: Level.USER, roleIds: [] }))).facts.field).toBe("password");
    expect((await refusal(createUser(deps, testCall(), { username: "nolevel", password: "a-long-password-1", level: 0, roleIds: [] }))).facts.field).toBe("level");
    expect(dir.userRows.size).toBe(1);
  });

  it("refuses a room-token caller and a disabled caller", async () => {
    expect((await refusal(createUser(deps, testCall({ via: "room-token" }), { username: "newbie", password: "a-long-password-1", level: Level.USER, roleIds: [] }))).reason).toBe(
      "PERMISSION_DENIED",
    );
    dir.userRows.get(callerId)!.disabled = true;
    expect((await refusal(createUser(deps, testCall(), { username: "newbie", password: "a-long-password-1", level: Level.USER, roleIds: [] }))).reason).toBe("UNAUTHENTICATED");
  });

  it("disables a user below the caller: ends their sessions and drops their cached state after commit", async () => {
    const target = dir.addUser({ username: "plain", level: Level.USER });
    const session = dir.addSession(target);
    const call = testCall();
    const done = await updateUser(deps, call, { userId: target, disabled: true });
    expect(done.value.disabled).toBe(true);
    expect(dir.sessionRows.get(session)!.revokedReason).toBe("user disabled");
    expect(caches.invalidated).toEqual([]);
    await call.commit();
    expect(caches.invalidated).toEqual([`user:${dir.tenantId}:${target}`]);
  });

  it("refuses changing oneself, a peer, or giving one's own level", async () => {
    expect((await refusal(updateUser(deps, testCall(), { userId: callerId, level: Level.USER }))).reason).toBe("LEVEL_TOO_LOW");
    const peer = dir.addUser({ username: "peer", level: Level.ADMIN });
    expect((await refusal(updateUser(deps, testCall(), { userId: peer, disabled: true }))).reason).toBe("LEVEL_TOO_LOW");
    const plain = dir.addUser({ username: "plain", level: Level.USER });
    expect((await refusal(updateUser(deps, testCall(), { userId: plain, level: Level.ADMIN }))).reason).toBe("LEVEL_TOO_LOW");
    expect(dir.userRows.get(plain)!.level).toBe(Level.USER);
  });

  it("changes nothing and invalidates nothing when the update changes nothing", async () => {
    const plain = dir.addUser({ username: "plain", level: Level.USER });
    const call = testCall();
    await updateUser(deps, call, { userId: plain, level: Level.USER });
    await call.commit();
    expect(caches.invalidated).toEqual([]);
  });

  it("deletes a user below the caller with the name and level in the audit facts", async () => {
    const plain = dir.addUser({ username: "plain", level: Level.USER });
    const done = await deleteUser(deps, testCall(), { userId: plain });
    expect(done.audit).toEqual({ resource: `user:${plain}`, details: { username: "plain", level: "USER" } });
    expect(dir.userRows.has(plain)).toBe(false);
    expect((await refusal(deleteUser(deps, testCall(), { userId: plain }))).reason).toBe("NOT_FOUND");
    expect((await refusal(deleteUser(deps, testCall(), { userId: callerId }))).reason).toBe("LEVEL_TOO_LOW");
  });

  it("replaces roles: only added roles count as grants, and the facts name what changed", async () => {
    const plain = dir.addUser({ username: "plain", level: Level.USER, roles: [writer] });
    // writer is held already: keeping it is no grant, even though the caller lacks users.write.
    const done = await setUserRoles(deps, testCall(), { userId: plain, roleIds: [writer, viewer] });
    expect(done.value.roleNames).toEqual(["viewer", "writer"]);
    expect(done.audit?.details).toEqual({ username: "plain", roleIds: [writer, viewer], added: ["viewer"], removed: [] });
    const dropped = await setUserRoles(deps, testCall(), { userId: plain, roleIds: [] });
    expect(dropped.value.roleNames).toEqual([]);
    expect(dropped.audit?.details).toMatchObject({ removed: expect.arrayContaining([writer, viewer]) });
    expect((await refusal(setUserRoles(deps, testCall(), { userId: plain, roleIds: [writer] }))).reason).toBe("PERMISSION_DENIED");
  });

  it("reads a user and pages users by username", async () => {
    for (const name of ["bea", "cid", "dan"]) dir.addUser({ username: name, level: Level.USER });
    const first = await listUsers(deps, testCall(), { limit: 2, after: undefined });
    expect(first.users.map((u) => u.username)).toEqual(["bea", "cid"]);
    expect(first.nextAfter).toBe("cid");
    const last = await listUsers(deps, testCall(), { limit: 2, after: "cid" });
    expect(last.users.map((u) => u.username)).toEqual(["dan", "tester"]);
    expect(last.nextAfter).toBeUndefined();
    expect((await getUser(deps, testCall(), { userId: callerId.toUpperCase() })).roleNames).toEqual(["viewer"]);
    expect((await refusal(getUser(deps, testCall(), { userId: "00000000-0000-4000-8000-00000000dead" }))).reason).toBe("NOT_FOUND");
  });
});
