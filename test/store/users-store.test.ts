import { beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/store/database.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { ormRolesStore } from "../../src/store/roles.js";
import { ormUsersStore as users } from "../../src/store/users.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

const missing = "00000000-0000-4000-8000-000000000000";

describeStoreOnEngines("users store", (database) => {
  let db: Database;
  let tenant: string;
  let other: string;
  let alice: string;
  let bob: string;
  let viewer: string;
  let editor: string;

  beforeAll(async () => {
    db = database();
    ({ tenant, other } = await db.asSystem(async (em) => ({
      tenant: (await createTenant(em, "users-a")).id,
      other: (await createTenant(em, "users-b")).id,
    })));
    ({ alice, bob, viewer, editor } = await db.inTenant(tenant, async (tx) => {
      const viewer = (await ormRolesStore.create(tx, { tenantId: tenant, name: "viewer", description: "", permissions: ["rooms.read", "macros.read"], defaultPolicy: null })).id;
      const editor = (await ormRolesStore.create(tx, { tenantId: tenant, name: "editor", description: "", permissions: ["macros.read", "macros.write"], defaultPolicy: null })).id;
      const alice = await users.create(tx, { tenantId: tenant, username: "alice", passwordHash: "hash-a", level: 2 });
      const bob = await users.create(tx, { tenantId: tenant, username: "bob", passwordHash: "hash-b", level: 3 });
      return { alice, bob, viewer, editor };
    }));
    await db.inTenant(other, (tx) => users.create(tx, { tenantId: other, username: "carol", passwordHash: "hash-c", level: 2 }));
  });

  it("creates users and reads them back with no roles", async () => {
    const got = await db.inTenant(tenant, (tx) => users.get(tx, alice));
    expect(got).toMatchObject({ id: alice, tenantId: tenant, username: "alice", level: 2, disabled: false, roleIds: [], roleNames: [] });
    expect(got!.createdAt).toBeInstanceOf(Date);
    expect(await db.inTenant(tenant, (tx) => users.get(tx, missing))).toBeUndefined();
  });

  it("lists by username after a cursor, one tenant only", async () => {
    const all = await db.inTenant(tenant, (tx) => users.list(tx, { limit: 10 }));
    expect(all.map((u) => u.username)).toEqual(["alice", "bob"]);
    const after = await db.inTenant(tenant, (tx) => users.list(tx, { limit: 10, after: "alice" }));
    expect(after.map((u) => u.username)).toEqual(["bob"]);
    expect((await db.inTenant(tenant, (tx) => users.list(tx, { limit: 1 }))).length).toBe(1);
  });

  it("grants and revokes roles; grants answer roles by name and the union of their keys", async () => {
    await db.inTenant(tenant, (tx) => users.grant(tx, tenant, alice, [viewer, editor]));
    const grants = await db.inTenant(tenant, (tx) => users.grantsOf(tx, [alice, bob]));
    expect(grants.get(alice)!.roleNames).toEqual(["editor", "viewer"]);
    expect(grants.get(alice)!.roleIds).toEqual([editor, viewer]);
    expect([...grants.get(alice)!.permissions].sort()).toEqual(["macros.read", "macros.write", "rooms.read"]);
    expect(grants.get(bob)).toEqual({ roleIds: [], roleNames: [], permissions: new Set() });
    expect((await db.inTenant(tenant, (tx) => users.roleIdsOf(tx, alice))).sort()).toEqual([editor, viewer].sort());
    await db.inTenant(tenant, (tx) => users.revoke(tx, alice, [editor]));
    expect((await db.inTenant(tenant, (tx) => users.get(tx, alice)))!.roleNames).toEqual(["viewer"]);
  });

  it("answers the access of the users found, and nothing for missing ones", async () => {
    const access = await db.inTenant(tenant, (tx) => users.accessOf(tx, [alice, missing]));
    expect([...access.keys()]).toEqual([alice]);
    expect(access.get(alice)).toMatchObject({ userId: alice, level: 2, disabled: false });
    expect([...access.get(alice)!.permissions].sort()).toEqual(["macros.read", "rooms.read"]);
  });

  it("refuses a grant of another tenant's role (composite foreign key)", async () => {
    const foreign = await db.inTenant(other, async (tx) => (await ormRolesStore.create(tx, { tenantId: other, name: "x", description: "", permissions: [], defaultPolicy: null })).id);
    await expect(db.inTenant(tenant, (tx) => users.grant(tx, tenant, bob, [foreign]))).rejects.toThrow();
    expect(await db.inTenant(tenant, (tx) => users.rolesByIds(tx, [foreign, viewer]))).toEqual([{ id: viewer, name: "viewer", permissions: ["rooms.read", "macros.read"] }]);
  });

  it("updates level and flag, password hash and updated_at, seen at once in the same transaction", async () => {
    const seen = await db.inTenant(tenant, async (tx) => {
      const before = await users.get(tx, bob);
      await users.update(tx, bob, { level: 1, disabled: true });
      const after = await users.get(tx, bob);
      await users.setPasswordHash(tx, bob, "hash-b2");
      const creds = await users.lockCredentials(tx, bob);
      return { before, after, creds };
    });
    expect(seen.before).toMatchObject({ level: 3, disabled: false });
    expect(seen.after).toMatchObject({ level: 1, disabled: true });
    expect(seen.creds).toEqual({ id: bob, passwordHash: "hash-b2", disabled: true });
    expect(await db.inTenant(tenant, (tx) => users.credentialsByUsername(tx, "bob"))).toEqual({ id: bob, passwordHash: "hash-b2", disabled: true });
    expect(await db.inTenant(tenant, (tx) => users.credentialsByUsername(tx, "carol"))).toBeUndefined();
  });

  it("locks a user, with the tenant name for the target read", async () => {
    expect(await db.inTenant(tenant, (tx) => users.lock(tx, alice))).toEqual({ id: alice, username: "alice", level: 2, disabled: false });
    expect(await db.inTenant(tenant, (tx) => users.lockTarget(tx, alice))).toEqual({ id: alice, username: "alice", level: 2, tenantName: "users-a" });
    expect(await db.inTenant(tenant, (tx) => users.lock(tx, missing))).toBeUndefined();
  });

  it("finds a user by tenant name and username as the system", async () => {
    expect(await db.asSystem((tx) => users.findInTenantNamed(tx, "users-b", "carol"))).toMatchObject({ tenantId: other });
    expect(await db.asSystem((tx) => users.findInTenantNamed(tx, "users-a", "carol"))).toBeUndefined();
    expect(await db.asSystem((tx) => users.findInTenantNamed(tx, "nope", "alice"))).toBeUndefined();
  });

  it("hides other tenants' users", async () => {
    const carol = (await db.asSystem((tx) => users.findInTenantNamed(tx, "users-b", "carol")))!.userId;
    expect(await db.inTenant(tenant, (tx) => users.get(tx, carol))).toBeUndefined();
    expect((await db.inTenant(tenant, (tx) => users.accessOf(tx, [carol]))).size).toBe(0);
  });

  it("deletes a user and its grants", async () => {
    const dave = await db.inTenant(tenant, async (tx) => {
      const id = await users.create(tx, { tenantId: tenant, username: "dave", passwordHash: "h", level: 2 });
      await users.grant(tx, tenant, id, [viewer]);
      await users.touch(tx, id);
      return id;
    });
    await db.inTenant(tenant, (tx) => users.delete(tx, dave));
    expect(await db.inTenant(tenant, (tx) => users.get(tx, dave))).toBeUndefined();
    expect(await db.inTenant(tenant, (tx) => users.roleIdsOf(tx, dave))).toEqual([]);
  });
});
