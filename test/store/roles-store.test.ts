import { beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/store/database.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { ormRolesStore as roles, storedGlobalPolicy } from "../../src/store/roles.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

const missing = "00000000-0000-4000-8000-000000000000";

describeStoreOnEngines("roles store", (database) => {
  let db: Database;
  let tenant: string;
  let other: string;

  beforeAll(async () => {
    db = database();
    ({ tenant, other } = await db.asSystem(async (em) => ({
      tenant: (await createTenant(em, "roles-a")).id,
      other: (await createTenant(em, "roles-b")).id,
    })));
  });

  it("creates a role and reads it back, fresh in the same transaction after changes", async () => {
    const seen = await db.inTenant(tenant, async (tx) => {
      const created = await roles.create(tx, { tenantId: tenant, name: "ops", description: "operators", permissions: ["rooms.read"], defaultPolicy: { timeoutMs: 100 } });
      const locked = await roles.get(tx, created.id, { lock: true });
      const grown = await roles.setPermissions(tx, created.id, ["rooms.read", "macros.run"]);
      const reread = await roles.get(tx, created.id);
      const policed = await roles.setDefaultPolicy(tx, created.id, { timeoutMs: 50 });
      return { created, locked, grown, reread, policed };
    });
    expect(seen.created).toMatchObject({ tenantId: tenant, name: "ops", description: "operators", permissions: ["rooms.read"], defaultPolicy: { timeoutMs: 100 }, builtin: false });
    expect(seen.created.createdAt).toBeInstanceOf(Date);
    expect(seen.locked).toEqual(seen.created);
    expect(seen.grown.permissions).toEqual(["rooms.read", "macros.run"]);
    expect(seen.reread!.permissions).toEqual(["rooms.read", "macros.run"]);
    expect(seen.policed.defaultPolicy).toEqual({ timeoutMs: 50 });
    expect(await db.inTenant(tenant, (tx) => roles.get(tx, missing))).toBeUndefined();
  });

  it("refuses a second role of the same name in a tenant, not in another", async () => {
    await expect(db.inTenant(tenant, (tx) => roles.create(tx, { tenantId: tenant, name: "ops", description: "", permissions: [], defaultPolicy: null }))).rejects.toThrow();
    const there = await db.inTenant(other, (tx) => roles.create(tx, { tenantId: other, name: "ops", description: "", permissions: [], defaultPolicy: null }));
    expect(await db.inTenant(tenant, (tx) => roles.get(tx, there.id))).toBeUndefined();
  });

  it("lists by name after a cursor", async () => {
    await db.inTenant(tenant, async (tx) => {
      await roles.create(tx, { tenantId: tenant, name: "alpha", description: "", permissions: [], defaultPolicy: null });
      await roles.create(tx, { tenantId: tenant, name: "zeta", description: "", permissions: [], defaultPolicy: null });
    });
    expect((await db.inTenant(tenant, (tx) => roles.list(tx, { limit: 10 }))).map((r) => r.name)).toEqual(["alpha", "ops", "zeta"]);
    expect((await db.inTenant(tenant, (tx) => roles.list(tx, { limit: 1, after: "alpha" }))).map((r) => r.name)).toEqual(["ops"]);
  });

  it("deletes a role", async () => {
    const zeta = (await db.inTenant(tenant, (tx) => roles.list(tx, { limit: 10, after: "ops" })))[0]!;
    await db.inTenant(tenant, (tx) => roles.delete(tx, zeta.id));
    expect(await db.inTenant(tenant, (tx) => roles.get(tx, zeta.id))).toBeUndefined();
  });

  it("reads the stored global policy", async () => {
    expect(await db.inTenant(tenant, (tx) => storedGlobalPolicy(tx))).toEqual({});
  });
});
