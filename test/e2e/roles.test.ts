import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome } from "../../gen/gatehouse/v1/audit_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { RolesService } from "../../gen/gatehouse/v1/roles_pb.js";
import { permissionCatalog } from "../../src/domain/permissions.js";
import { startTestServer, type TestServer } from "../support/server.js";
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

describe("RolesService", () => {
  let server: TestServer;
  let root: string;
  let builtIns: Map<string, string>;
  let admin: TestUser; // LEVEL_ADMIN, role admin: holds roles.write but not every key
  let plain: TestUser; // LEVEL_USER, role viewer

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    builtIns = await roleIdsByName(server, root);
    [admin, plain] = await Promise.all([
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "radmin" }),
      createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "rplain" }),
    ]);
  });
  afterAll(async () => {
    await server?.close();
  });

  const roles = (token: string) => server.client({ token }).roles;
  const can = async (token: string, permission: string) => (await server.client({ token }).users.checkPermission({ permission })).allowed;

  describe("ListPermissions", () => {
    it("lists the catalog from code, sorted, with descriptions", async () => {
      const res = await roles(admin.token).listPermissions({});
      const keys = res.permissions.map((p) => p.key);
      expect(keys).toEqual(Object.keys(permissionCatalog).sort());
      for (const key of ["tenants.manage", "users.read", "users.write", "roles.read", "roles.write", "audit.read", "macros.run", "locks.break"]) {
        expect(keys).toContain(key);
      }
      expect(res.permissions.every((p) => p.description.length > 0)).toBe(true);
    });
  });

  describe("ListRoles", () => {
    it("lists the four built-in roles with their keys, page by page", async () => {
      const seen: string[] = [];
      let pageToken = "";
      do {
        const res = await roles(admin.token).listRoles({ pageSize: 1, pageToken });
        seen.push(...res.roles.map((r) => r.name));
        pageToken = res.nextPageToken;
      } while (pageToken !== "");
      expect(seen).toEqual([...seen].sort());
      expect(seen).toEqual(expect.arrayContaining(["admin", "editor", "superuser", "viewer"]));
      const all = (await roles(admin.token).listRoles({})).roles;
      const superuser = all.find((r) => r.name === "superuser")!;
      expect(superuser.builtIn).toBe(true);
      expect(superuser.permissions).toEqual(Object.keys(permissionCatalog).sort());
      expect(all.find((r) => r.name === "viewer")!.permissions).toEqual(["locks.read", "policies.read", "rooms.read"]);
    });
  });

  describe("GetRole", () => {
    it("returns a role, NOT_FOUND for an unknown id, INVALID_ARGUMENT for garbage", async () => {
      const res = await roles(plain.token).getRole({ roleId: builtIns.get("editor")! }).catch(() => undefined);
      expect(res).toBeUndefined(); // viewer lacks roles.read
      const got = await roles(admin.token).getRole({ roleId: builtIns.get("editor")! });
      expect(got.role).toMatchObject({ name: "editor", builtIn: true });
      await expectFailure(roles(admin.token).getRole({ roleId: missingId }), Code.NotFound, "NOT_FOUND");
      expect((await expectFailure(roles(admin.token).getRole({ roleId: "nope" }), Code.InvalidArgument)).detail?.field).toBe("role_id");
    });
  });

  describe("CreateRole", () => {
    it("creates a role with sorted, de-duplicated keys and a default policy", async () => {
      const name = uniqueName("auditors");
      const res = await roles(admin.token).createRole({
        name,
        description: "reads the log",
        permissions: ["audit.read", "rooms.read", "audit.read"],
        defaultPolicy: { timeoutMs: 500 },
      });
      expect(res.role).toMatchObject({ name, description: "reads the log", permissions: ["audit.read", "rooms.read"], builtIn: false });
      expect(res.role?.defaultPolicy?.timeoutMs).toBe(500);
      await expectFailure(roles(admin.token).createRole({ name, permissions: [] }), Code.AlreadyExists);
    });

    it("refuses malformed and unknown permission keys and bad names with INVALID_ARGUMENT", async () => {
      for (const key of ["Rooms.Read", "rooms", "rooms.read.extra", "nosuch.thing"]) {
        const failure = await expectFailure(roles(admin.token).createRole({ name: uniqueName("bad"), permissions: [key] }), Code.InvalidArgument, "INVALID_ARGUMENT");
        expect(failure.detail?.field).toBe("permissions");
      }
      expect((await expectFailure(roles(admin.token).createRole({ name: "Bad Name", permissions: [] }), Code.InvalidArgument)).detail?.field).toBe("name");
    });

    it("refuses an admin creating a role with keys they lack (superuser's keys), and audits it", async () => {
      const failure = await expectFailure(
        roles(admin.token).createRole({ name: uniqueName("mysuper"), permissions: Object.keys(permissionCatalog) }),
        Code.PermissionDenied,
        "PERMISSION_DENIED",
      );
      expect(["policies.global_write", "tenants.manage"]).toContain(failure.detail?.permission); // keys admin lacks
      await expectDeniedInAudit(server, root, admin.id, "roles.create", "PERMISSION_DENIED");
      const names = (await roles(root).listRoles({ pageSize: 1000 })).roles.map((r) => r.name);
      expect(names.filter((n) => n.startsWith("mysuper"))).toEqual([]);
    });

    it("refuses a default policy with override_ceiling or looser than the global ceiling (POLICY_LOOSENS)", async () => {
      const ceiling = await expectFailure(
        roles(admin.token).createRole({ name: uniqueName("p"), permissions: [], defaultPolicy: { overrideCeiling: { timeoutMs: 10 } } }),
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
      );
      expect(ceiling.detail?.field).toBe("override_ceiling");
      const loose = await expectFailure(
        roles(admin.token).createRole({ name: uniqueName("p"), permissions: [], defaultPolicy: { timeoutMs: 5000 } }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(loose.detail).toMatchObject({ field: "timeout_ms", attemptedValue: "5000", parentValue: "1000" });
    });
  });

  describe("DeleteRole", () => {
    it("refuses built-in roles with FAILED_PRECONDITION", async () => {
      for (const name of ["viewer", "editor", "admin", "superuser"]) {
        await expectFailure(roles(root).deleteRole({ roleId: builtIns.get(name)! }), Code.FailedPrecondition, "BUILT_IN_ROLE");
      }
      expect((await roles(root).listRoles({})).roles.filter((r) => r.builtIn)).toHaveLength(4);
    });

    it("deletes a custom role and its holders lose its keys at once", async () => {
      const role = (await roles(admin.token).createRole({ name: uniqueName("temp"), permissions: ["macros.run"] })).role!;
      const holder = await createUser(server, admin.token, { level: Level.USER, prefix: "holder" });
      await server.client({ token: admin.token }).users.setUserRoles({ userId: holder.id, roleIds: [role.roleId] });
      await waitUntil(() => can(holder.token, "macros.run"), 1000);
      await roles(admin.token).deleteRole({ roleId: role.roleId });
      await waitUntil(async () => !(await can(holder.token, "macros.run")), 1000);
      await expectFailure(roles(admin.token).getRole({ roleId: role.roleId }), Code.NotFound);
      await expectFailure(roles(admin.token).deleteRole({ roleId: role.roleId }), Code.NotFound);
    });
  });

  describe("AddRolePermission and RemoveRolePermission", () => {
    it("refuse to edit built-in roles", async () => {
      await expectFailure(roles(root).addRolePermission({ roleId: builtIns.get("viewer")!, permission: "macros.run" }), Code.FailedPrecondition, "BUILT_IN_ROLE");
      await expectFailure(roles(root).removeRolePermission({ roleId: builtIns.get("admin")!, permission: "users.write" }), Code.FailedPrecondition, "BUILT_IN_ROLE");
      expect((await roles(root).getRole({ roleId: builtIns.get("viewer")! })).role?.permissions).toEqual(["locks.read", "policies.read", "rooms.read"]);
    });

    it("validate keys: unknown or malformed to add, malformed to remove", async () => {
      const role = (await roles(admin.token).createRole({ name: uniqueName("k"), permissions: [] })).role!;
      expect((await expectFailure(roles(admin.token).addRolePermission({ roleId: role.roleId, permission: "nosuch.key" }), Code.InvalidArgument)).detail?.field).toBe("permission");
      expect((await expectFailure(roles(admin.token).addRolePermission({ roleId: role.roleId, permission: "x" }), Code.InvalidArgument)).detail?.field).toBe("permission");
      await expectFailure(roles(admin.token).removeRolePermission({ roleId: role.roleId, permission: "NOT VALID" }), Code.InvalidArgument);
      await expectFailure(roles(admin.token).addRolePermission({ roleId: missingId, permission: "rooms.read" }), Code.NotFound);
    });

    it("refuse adding to a role the caller holds a key they lack, and audit it", async () => {
      const mine = (await roles(admin.token).createRole({ name: uniqueName("mine"), permissions: ["rooms.read"] })).role!;
      const self = await createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "selfgrant" });
      await server.client({ token: root }).users.setUserRoles({ userId: self.id, roleIds: [builtIns.get("admin")!, mine.roleId] });
      const failure = await expectFailure(roles(self.token).addRolePermission({ roleId: mine.roleId, permission: "tenants.manage" }), Code.PermissionDenied, "PERMISSION_DENIED");
      expect(failure.detail?.permission).toBe("tenants.manage");
      expect((await roles(root).listRolePermissions({ roleId: mine.roleId })).permissions).toEqual(["rooms.read"]);
      expect(await can(self.token, "tenants.manage")).toBe(false);
      const denied = await expectDeniedInAudit(server, root, self.id, "roles.add_permission", "PERMISSION_DENIED");
      expect(denied.resource).toBe(`role:${mine.roleId}`);
    });

    it("add and remove keys the caller holds; holders gain and lose them at once; both are idempotent", async () => {
      const role = (await roles(admin.token).createRole({ name: uniqueName("grow"), permissions: ["rooms.read"] })).role!;
      const holder = await createUser(server, admin.token, { level: Level.USER, prefix: "grower" });
      await server.client({ token: admin.token }).users.setUserRoles({ userId: holder.id, roleIds: [role.roleId] });
      const added = await roles(admin.token).addRolePermission({ roleId: role.roleId, permission: "macros.run" });
      expect(added.role?.permissions).toEqual(["macros.run", "rooms.read"]);
      await waitUntil(() => can(holder.token, "macros.run"), 1000);
      expect((await roles(admin.token).addRolePermission({ roleId: role.roleId, permission: "macros.run" })).role?.permissions).toEqual(["macros.run", "rooms.read"]);
      const removed = await roles(admin.token).removeRolePermission({ roleId: role.roleId, permission: "macros.run" });
      expect(removed.role?.permissions).toEqual(["rooms.read"]);
      await waitUntil(async () => !(await can(holder.token, "macros.run")), 1000);
      expect((await roles(admin.token).removeRolePermission({ roleId: role.roleId, permission: "macros.run" })).role?.permissions).toEqual(["rooms.read"]);
      expect((await roles(admin.token).listRolePermissions({ roleId: role.roleId })).permissions).toEqual(["rooms.read"]);
    });
  });

  describe("GetRoleDefaultPolicy and UpdateRoleDefaultPolicy", () => {
    it("round-trip a role's default policy, built-in roles included", async () => {
      const editor = builtIns.get("editor")!;
      const updated = await roles(admin.token).updateRoleDefaultPolicy({ roleId: editor, policy: { timeoutMs: 800, allowedImports: { values: ["gatehouse:log"] } } });
      expect(updated.policy?.timeoutMs).toBe(800);
      const got = await roles(plain.token).getRoleDefaultPolicy({ roleId: editor }).catch(() => undefined);
      expect(got).toBeUndefined(); // needs roles.read
      const read = await roles(admin.token).getRoleDefaultPolicy({ roleId: editor });
      expect(read.policy?.timeoutMs).toBe(800);
      expect(read.policy?.allowedImports?.values).toEqual(["gatehouse:log"]);
      await roles(admin.token).updateRoleDefaultPolicy({ roleId: editor, policy: {} });
      expect((await roles(admin.token).getRoleDefaultPolicy({ roleId: editor })).policy?.timeoutMs).toBeUndefined();
    });

    it("loosens only up to the global override_ceiling, and audits the loosening", async () => {
      const role = (await roles(admin.token).createRole({ name: uniqueName("loose"), permissions: [] })).role!;
      const loose = await expectFailure(roles(admin.token).updateRoleDefaultPolicy({ roleId: role.roleId, policy: { networkEnabled: true } }), Code.InvalidArgument, "POLICY_LOOSENS");
      expect(loose.detail?.field).toBe("network_enabled");
      await server.gatehouse.deps.db.asSystem((em) => em.execute(`update global_policy set policy = '{"overrideCeiling":{"timeoutMs":5000}}' where id`));
      try {
        await roles(admin.token).updateRoleDefaultPolicy({ roleId: role.roleId, policy: { timeoutMs: 3000 } });
        const past = await expectFailure(roles(admin.token).updateRoleDefaultPolicy({ roleId: role.roleId, policy: { timeoutMs: 6000 } }), Code.InvalidArgument, "POLICY_LOOSENS");
        expect(past.detail).toMatchObject({ field: "timeout_ms", parentValue: "5000" });
      } finally {
        await server.gatehouse.deps.db.asSystem((em) => em.execute(`update global_policy set policy = '{}' where id`));
      }
      const events = await auditEvents(server, root, { action: "roles.update_default_policy", actorId: admin.id });
      const allowed = events.find((e) => e.outcome === AuditOutcome.ALLOWED && e.resource === `role:${role.roleId}`);
      expect(allowed?.details?.loosened).toEqual(["timeout_ms"]);
    });
  });

  describe("access rules", () => {
    it("puts the documented access rule on every method", () => {
      expectAccessRules(RolesService, {
        ListPermissions: { permission: "roles.read" },
        ListRoles: { permission: "roles.read" },
        GetRole: { permission: "roles.read" },
        CreateRole: { permission: "roles.write", mutates: true },
        DeleteRole: { permission: "roles.write", mutates: true },
        ListRolePermissions: { permission: "roles.read" },
        AddRolePermission: { permission: "roles.write", mutates: true },
        RemoveRolePermission: { permission: "roles.write", mutates: true },
        GetRoleDefaultPolicy: { permission: "roles.read" },
        UpdateRoleDefaultPolicy: { permission: "roles.write", mutates: true },
      });
    });

    it("enforces them: UNAUTHENTICATED without credentials, PERMISSION_DENIED without the permission", async () => {
      await expectEveryMethodGuarded(server, RolesService, plain.token);
    });
  });
});
