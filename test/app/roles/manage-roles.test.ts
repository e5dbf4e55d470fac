import { beforeEach, describe, expect, it } from "vitest";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import type { RoleUseCaseDeps } from "../../../src/app/roles/deps.js";
import { addRolePermission, createRole, deleteRole, removeRolePermission, updateRoleDefaultPolicy } from "../../../src/app/roles/manage-roles.js";
import { getRole, listRoles } from "../../../src/app/roles/read-roles.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { PolicyValues } from "../../../src/domain/policy.js";
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

describe("role use cases", () => {
  let dir: MemoryDirectory;
  let caches: RecordingSessionCaches;
  let global: PolicyValues;
  let deps: RoleUseCaseDeps;
  let builtin: string;

  beforeEach(() => {
    dir = new MemoryDirectory();
    caches = new RecordingSessionCaches();
    global = {};
    deps = { roles: dir.roles, users: dir.users, globalPolicy: async () => global, sessionCaches: caches };
    const mine = dir.addRole({ name: "mine", permissions: ["rooms.read", "macros.run", "roles.write"] });
    builtin = dir.addRole({ name: "viewer", permissions: ["rooms.read"], builtin: true });
    dir.addUser({ id: callerId, username: "tester", level: Level.ADMIN, roles: [mine] });
  });

  it("creates a role with held keys, sorted and de-duplicated, and names it in the facts", async () => {
    const done = await createRole(deps, testCall(), { name: "runners", description: "  run macros ", permissions: ["macros.run", "rooms.read", "macros.run"], defaultPolicy: {} });
    expect(done.value).toMatchObject({ name: "runners", description: "run macros", permissions: ["macros.run", "rooms.read"] });
    expect(done.audit).toEqual({ resource: `role:${done.value.id}`, details: { name: "runners", permissions: ["macros.run", "rooms.read"], defaultPolicy: {} } });
  });

  it("refuses keys the caller lacks, unknown or malformed keys, a bad name or description", async () => {
    const lacking = await refusal(createRole(deps, testCall(), { name: "strong", description: "", permissions: ["users.write"], defaultPolicy: {} }));
    expect(lacking.facts.permission).toBe("users.write");
    expect((await refusal(createRole(deps, testCall(), { name: "x1", description: "", permissions: ["nope.nope"], defaultPolicy: {} }))).facts.field).toBe("permissions");
    expect((await refusal(createRole(deps, testCall(), { name: "x2", description: "", permissions: ["Bad Key"], defaultPolicy: {} }))).facts.field).toBe("permissions");
    expect((await refusal(createRole(deps, testCall(), { name: "", description: "", permissions: [], defaultPolicy: {} }))).facts.field).toBe("name");
    expect((await refusal(createRole(deps, testCall(), { name: "x3", description: "   ", permissions: [], defaultPolicy: {} }))).facts.field).toBe("description");
    expect(dir.roleRows.size).toBe(2);
  });

  it("refuses a default policy looser than the global ceiling, and names fields that loosen the global policy", async () => {
    global = { timeoutMs: 1000, overrideCeiling: { timeoutMs: 2000 } };
    const loose = await refusal(createRole(deps, testCall(), { name: "slow", description: "", permissions: [], defaultPolicy: { timeoutMs: 5000 } }));
    expect(loose.reason).toBe("POLICY_LOOSENS");
    const done = await createRole(deps, testCall(), { name: "slower", description: "", permissions: [], defaultPolicy: { timeoutMs: 1500 } });
    expect(done.audit?.details?.loosened).toEqual(["timeout_ms"]);
  });

  it("protects built-in roles' keys and existence but lets their default policy change", async () => {
    expect((await refusal(deleteRole(deps, testCall(), { roleId: builtin }))).reason).toBe("BUILT_IN_ROLE");
    expect((await refusal(addRolePermission(deps, testCall(), { roleId: builtin, permission: "macros.run" }))).reason).toBe("BUILT_IN_ROLE");
    expect((await refusal(removeRolePermission(deps, testCall(), { roleId: builtin, permission: "rooms.read" }))).reason).toBe("BUILT_IN_ROLE");
    const call = testCall();
    const done = await updateRoleDefaultPolicy(deps, call, { roleId: builtin, policy: { timeoutMs: 100 } });
    expect(done.value).toMatchObject({ timeoutMs: 100 });
    expect(done.audit).toMatchObject({ resource: `role:${builtin}`, details: { name: "viewer" } });
    await call.commit();
    expect(caches.invalidated).toEqual([`tenant:${dir.tenantId}`]);
  });

  it("adds and removes keys idempotently, invalidating sessions only on a change", async () => {
    const role = (await createRole(deps, testCall(), { name: "grow", description: "", permissions: ["rooms.read"], defaultPolicy: {} })).value;
    const call = testCall();
    expect((await addRolePermission(deps, call, { roleId: role.id, permission: "macros.run" })).value.permissions).toEqual(["rooms.read", "macros.run"]);
    expect((await addRolePermission(deps, call, { roleId: role.id, permission: "macros.run" })).value.permissions).toEqual(["rooms.read", "macros.run"]);
    expect((await refusal(addRolePermission(deps, call, { roleId: role.id, permission: "users.write" }))).reason).toBe("PERMISSION_DENIED");
    expect((await removeRolePermission(deps, call, { roleId: role.id, permission: "rooms.read" })).value.permissions).toEqual(["macros.run"]);
    expect((await removeRolePermission(deps, call, { roleId: role.id, permission: "rooms.read" })).value.permissions).toEqual(["macros.run"]);
    await call.commit();
    expect(caches.invalidated.length).toBe(2);
  });

  it("deletes a custom role with its grants, naming it in the facts", async () => {
    const role = (await createRole(deps, testCall(), { name: "gone", description: "", permissions: ["rooms.read"], defaultPolicy: {} })).value;
    const done = await deleteRole(deps, testCall(), { roleId: role.id });
    expect(done.audit).toEqual({ resource: `role:${role.id}`, details: { name: "gone", permissions: ["rooms.read"] } });
    expect((await refusal(getRole(deps, testCall(), { roleId: role.id }))).reason).toBe("NOT_FOUND");
  });

  it("pages roles by name", async () => {
    const page = await listRoles(deps, testCall(), { limit: 1, after: undefined });
    expect(page.roles.map((r) => r.name)).toEqual(["mine"]);
    expect(page.nextAfter).toBe("mine");
    expect((await listRoles(deps, testCall(), { limit: 5, after: "mine" })).roles.map((r) => r.name)).toEqual(["viewer"]);
  });
});
