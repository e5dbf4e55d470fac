import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome } from "../../gen/gatehouse/v1/audit_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { TenantsService } from "../../gen/gatehouse/v1/tenants_pb.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
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
  type TestUser,
} from "../support/identity.js";

describe("TenantsService", () => {
  let server: TestServer;
  let root: string; // SUPERGOD of tenant default
  let rootId: string;

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    rootId = (await server.client({ token: root }).auth.whoAmI({})).user!.userId;
  });
  afterAll(async () => {
    await server?.close();
  });

  const tenants = (token: string) => server.client({ token }).tenants;

  describe("CreateTenant", () => {
    it("creates the tenant, its built-in roles and a LEVEL_ADMIN first admin with role admin", async () => {
      const name = uniqueName("acme");
      const res = await tenants(root).createTenant({ name, adminUsername: "boss", adminPassword: "boss-password-1" });
      expect(res.tenant?.name).toBe(name);
      expect(res.adminUser).toMatchObject({ username: "boss", level: Level.ADMIN, roleNames: ["admin"], tenantId: res.tenant!.tenantId });
      const token = await server.login("boss", "boss-password-1", name);
      const me = await server.client({ token }).auth.whoAmI({});
      expect(me).toMatchObject({ tenantId: res.tenant!.tenantId, level: Level.ADMIN, roles: ["admin"] });
      expect(me.permissions).toContain("users.write");
      expect(me.permissions).not.toContain("tenants.manage");
      const roles = (await server.client({ token }).roles.listRoles({})).roles;
      expect(roles.map((r) => [r.name, r.builtIn])).toEqual([["admin", true], ["editor", true], ["superuser", true], ["viewer", true]]);
      // The new tenant's chain opens with the platform operator's act, and verifies.
      const own = await auditEvents(server, token, { action: "tenants.create" });
      expect(own[0]).toMatchObject({ actorId: rootId, outcome: AuditOutcome.ALLOWED, resource: `tenant:${res.tenant!.tenantId}` });
      expect((await server.client({ token }).audit.verifyAuditChain({})).ok).toBe(true);
      // The operator's own tenant records it too.
      const mine = await auditEvents(server, root, { action: "tenants.create", actorId: rootId });
      expect(mine.some((e) => e.outcome === AuditOutcome.ALLOWED && e.resource === `tenant:${res.tenant!.tenantId}`)).toBe(true);
      expect(JSON.stringify(mine.map((e) => e.details))).not.toContain("boss-password-1");
      expect((await server.client({ token: root }).audit.verifyAuditChain({})).ok).toBe(true);
    });

    it("refuses malformed input and a taken name, and leaves nothing behind", async () => {
      const before = (await tenants(root).listTenants({ pageSize: 1000 })).tenants.length;
      for (const [req, field] of [
        [{ name: "Bad Name", adminUsername: "boss", adminPassword: "boss-password-1" }, "name"],
        [{ name: uniqueName("t"), adminUsername: "B", adminPassword: "boss-password-1" }, "admin_username"],
        [{ name: uniqueName("t"), adminUsername: "boss", adminPassword: "short" }, "admin_password"],
      ] as const) {
        const failure = await expectFailure(tenants(root).createTenant(req), Code.InvalidArgument, "INVALID_ARGUMENT");
        expect(failure.detail?.field).toBe(field);
      }
      await expectFailure(tenants(root).createTenant({ name: "default", adminUsername: "boss", adminPassword: "boss-password-1" }), Code.AlreadyExists);
      expect((await tenants(root).listTenants({ pageSize: 1000 })).tenants.length).toBe(before);
    });

    it("is refused to anyone below SUPERGOD, even holding every permission, and audited", async () => {
      const god = await createUser(server, root, { level: Level.GOD, roles: ["superuser"], prefix: "god" });
      await expectFailure(tenants(god.token).createTenant({ name: uniqueName("t"), adminUsername: "boss", adminPassword: "boss-password-1" }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectFailure(tenants(god.token).listTenants({}), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await expectDeniedInAudit(server, root, god.id, "tenants.create", "LEVEL_TOO_LOW");
    });
  });

  describe("ListTenants", () => {
    it("lists every tenant once, by name, page by page", async () => {
      await tenants(root).createTenant({ name: uniqueName("list"), adminUsername: "boss", adminPassword: "boss-password-1" });
      const seen: string[] = [];
      let pageToken = "";
      do {
        const res = await tenants(root).listTenants({ pageSize: 1, pageToken });
        seen.push(...res.tenants.map((t) => t.name));
        pageToken = res.nextPageToken;
      } while (pageToken !== "");
      expect(seen).toEqual([...seen].sort());
      expect(new Set(seen).size).toBe(seen.length);
      expect(seen).toContain("default");
      expect(seen.length).toBeGreaterThanOrEqual(2);
    });
  });

  describe("tenant isolation", () => {
    let other: { tenantId: string; name: string };
    let otherAdmin: TestUser;
    let homeUser: TestUser; // a user of tenant default
    let homeRole: string; // a custom role of tenant default
    let homeRoles: Map<string, string>;

    beforeAll(async () => {
      const name = uniqueName("iso");
      const res = await tenants(root).createTenant({ name, adminUsername: "boss", adminPassword: "boss-password-1" });
      other = { tenantId: res.tenant!.tenantId, name };
      otherAdmin = { id: res.adminUser!.userId, username: "boss", password: "boss-password-1", token: await server.login("boss", "boss-password-1", name) };
      homeUser = await createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "home" });
      homeRole = (await server.client({ token: root }).roles.createRole({ name: uniqueName("homerole"), permissions: ["rooms.read"] })).role!.roleId;
      homeRoles = await roleIdsByName(server, root);
    });

    it("answers NOT_FOUND to another tenant's admin for every user id of this tenant, and changes nothing", async () => {
      const users = server.client({ token: otherAdmin.token }).users;
      await expectFailure(users.getUser({ userId: homeUser.id }), Code.NotFound, "NOT_FOUND");
      await expectFailure(users.updateUser({ userId: homeUser.id, disabled: true }), Code.NotFound, "NOT_FOUND");
      await expectFailure(users.updateUser({ userId: homeUser.id, level: Level.GUEST }), Code.NotFound);
      await expectFailure(users.deleteUser({ userId: homeUser.id }), Code.NotFound);
      await expectFailure(users.setUserRoles({ userId: homeUser.id, roleIds: [] }), Code.NotFound);
      await expectFailure(users.checkPermission({ permission: "rooms.read", userId: homeUser.id }), Code.NotFound);
      await expectFailure(users.checkPermissions({ checks: [{ permission: "rooms.read", userId: rootId }] }), Code.NotFound);
      const listed = await users.listUsers({ pageSize: 1000 });
      expect(listed.users.every((u) => u.tenantId === other.tenantId)).toBe(true);
      expect(listed.users.map((u) => u.username)).not.toContain(homeUser.username);
      const home = await server.client({ token: root }).users.getUser({ userId: homeUser.id });
      expect(home.user).toMatchObject({ disabled: false, level: Level.USER, roleNames: ["viewer"] });
      expect((await server.client({ token: homeUser.token }).auth.whoAmI({})).user?.userId).toBe(homeUser.id);
    });

    it("answers NOT_FOUND for this tenant's roles, in role calls and in grants, and changes nothing", async () => {
      const client = server.client({ token: otherAdmin.token, protocol: "connect" });
      await expectFailure(client.roles.getRole({ roleId: homeRole }), Code.NotFound);
      await expectFailure(client.roles.listRolePermissions({ roleId: homeRole }), Code.NotFound);
      await expectFailure(client.roles.addRolePermission({ roleId: homeRole, permission: "macros.run" }), Code.NotFound);
      await expectFailure(client.roles.removeRolePermission({ roleId: homeRole, permission: "rooms.read" }), Code.NotFound);
      await expectFailure(client.roles.getRoleDefaultPolicy({ roleId: homeRole }), Code.NotFound);
      await expectFailure(client.roles.updateRoleDefaultPolicy({ roleId: homeRole, policy: { timeoutMs: 1 } }), Code.NotFound);
      await expectFailure(client.roles.deleteRole({ roleId: homeRole }), Code.NotFound);
      // Granting this tenant's superuser role to one's own user, or creating one with it.
      const theirUser = await createUser(server, otherAdmin.token, { level: Level.USER, prefix: "their", tenant: other.name });
      await expectFailure(client.users.setUserRoles({ userId: theirUser.id, roleIds: [homeRoles.get("superuser")!] }), Code.NotFound);
      expect((await client.users.getUser({ userId: theirUser.id })).user?.roleNames).toEqual([]);
      await expectFailure(
        client.users.createUser({ username: uniqueName("x"), password: "a-long-password", level: Level.USER, roleIds: [homeRoles.get("admin")!] }),
        Code.NotFound,
      );
      const role = await server.client({ token: root }).roles.getRole({ roleId: homeRole });
      expect(role.role?.permissions).toEqual(["rooms.read"]);
      expect(role.role?.defaultPolicy?.timeoutMs).toBeUndefined();
    });

    it("keeps each tenant's audit log to itself", async () => {
      const theirs = await auditEvents(server, otherAdmin.token);
      expect(theirs.length).toBeGreaterThan(0);
      expect(theirs.every((e) => e.tenantId === other.tenantId)).toBe(true);
      expect(await auditEvents(server, otherAdmin.token, { actorId: homeUser.id })).toEqual([]);
      expect(await auditEvents(server, otherAdmin.token, { actorId: rootId, action: "users.create" })).toEqual([]);
      const mine = await auditEvents(server, root);
      expect(mine.every((e) => e.tenantId !== other.tenantId)).toBe(true);
    });

    it("lets the database itself refuse tenant creation to anyone but an enabled SUPERGOD of the transaction's tenant", async () => {
      const db = server.gatehouse.deps.db;
      const create = (tenantId: string, actorId: string) =>
        db.inTenant(tenantId, (em) => em.execute("select * from gatehouse_create_tenant(?, ?)", [uniqueName("sneaky"), actorId]));
      await expect(create(other.tenantId, otherAdmin.id)).rejects.toMatchObject({ kind: "tenant_isolation" });
      // A SUPERGOD id named from another tenant's scope doesn't pass either.
      await expect(create(other.tenantId, rootId)).rejects.toMatchObject({ kind: "tenant_isolation" });
      await expect(db.inTenant(other.tenantId, (em) => em.execute("insert into tenants (name) values ('direct-insert')"))).rejects.toMatchObject({ kind: "tenant_isolation" });
      const names = (await tenants(root).listTenants({ pageSize: 1000 })).tenants.map((t) => t.name);
      expect(names.some((n) => n.startsWith("sneaky") || n === "direct-insert")).toBe(false);
    });

    it("also answers NOT_FOUND the other way: the platform operator can't reach another tenant's rows by id", async () => {
      const users = server.client({ token: root }).users;
      await expectFailure(users.getUser({ userId: otherAdmin.id }), Code.NotFound);
      await expectFailure(users.updateUser({ userId: otherAdmin.id, disabled: true }), Code.NotFound);
      expect((await server.client({ token: otherAdmin.token }).auth.whoAmI({})).user?.disabled).toBe(false);
    });
  });

  describe("access rules", () => {
    it("puts the documented access rule on every method", () => {
      expectAccessRules(TenantsService, {
        CreateTenant: { permission: "tenants.manage", minLevel: Level.SUPERGOD, mutates: true },
        ListTenants: { permission: "tenants.manage", minLevel: Level.SUPERGOD },
      });
    });

    it("enforces them: UNAUTHENTICATED without credentials, PERMISSION_DENIED below SUPERGOD", async () => {
      const admin = await createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "tadmin" });
      await expectEveryMethodGuarded(server, TenantsService, admin.token);
    });
  });
});

describe("TenantsService on embedded PGlite (one connection)", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_DATABASE_URL: "" }, redis: false });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("creates a tenant inside the caller's unit of work without a second connection", async () => {
    expect(server.gatehouse.deps.db.mode).toBe("pglite");
    const root = await server.login();
    const res = await server.client({ token: root }).tenants.createTenant({ name: "embedded-co", adminUsername: "boss", adminPassword: "boss-password-1" });
    const token = await server.login("boss", "boss-password-1", "embedded-co");
    expect((await server.client({ token }).auth.whoAmI({})).tenantId).toBe(res.tenant!.tenantId);
    expect((await server.client({ token: root }).audit.verifyAuditChain({})).ok).toBe(true);
  });
});

describe("TenantsService on PostgreSQL served by a non-superuser owner (forced RLS)", () => {
  const owner = `gatehouse_test_owner_${Math.random().toString(36).slice(2, 10)}`;
  let testDb: TestDatabase;
  let server: TestServer | undefined;
  beforeAll(async () => {
    testDb = await createTestDatabase();
    await testDb.admin(`create role ${owner} login nosuperuser nocreatedb createrole`);
    await testDb.admin(`alter database ${testDb.name} owner to ${owner}`);
    server = await startTestServer({ db: { ...testDb, url: testDb.url.replace("postgres@", `${owner}@`) }, redis: false });
  });
  afterAll(async () => {
    await server?.close();
    if (!testDb) return;
    await testDb.admin(`drop database if exists ${testDb.name} with (force)`);
    await testDb.admin(`drop role if exists ${owner}`);
    await testDb.drop();
  });

  it("creates a tenant whose admin can log in and sees only their tenant", async () => {
    const root = await server!.login();
    const res = await server!.client({ token: root }).tenants.createTenant({ name: "owned-co", adminUsername: "boss", adminPassword: "boss-password-1" });
    const token = await server!.login("boss", "boss-password-1", "owned-co");
    const users = await server!.client({ token }).users.listUsers({});
    expect(users.users.map((u) => [u.username, u.tenantId])).toEqual([["boss", res.tenant!.tenantId]]);
    expect((await server!.client({ token: root }).tenants.listTenants({})).tenants.map((t) => t.name)).toEqual(["default", "owned-co"]);
    expect((await server!.client({ token: root }).audit.verifyAuditChain({})).ok).toBe(true);
  });
});
