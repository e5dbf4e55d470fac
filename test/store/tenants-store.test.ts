import { expect, it } from "vitest";
import { builtInRoles } from "../../src/domain/permissions.js";
import { RoleSchema } from "../../src/store/entities/role.js";
import { ormTenantStore as store, type NewTenant } from "../../src/store/tenants.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

const admin = (name: string, over: Partial<NewTenant> = {}): NewTenant => ({
  name,
  adminUsername: "admin",
  adminPasswordHash: "$argon2id$not-a-real-hash",
  adminLevel: 5,
  adminRole: "superuser",
  ...over,
});

describeStoreOnEngines("tenant store", (db) => {
  it("provisions a tenant with its built-in roles and first user, found by name", async () => {
    const made = await db().asSystem((tx) => store.provision(tx, admin("home")));
    expect(made.tenant).toMatchObject({ name: "home" });
    expect(made.tenant.createdAt).toBeInstanceOf(Date);
    expect(made.admin).toMatchObject({ tenantId: made.tenant.id, username: "admin", level: 5, disabled: false, roleNames: ["superuser"] });
    expect(await db().asSystem((tx) => store.findIdByName(tx, "home"))).toBe(made.tenant.id);
    expect(await db().asSystem((tx) => store.findIdByName(tx, "nowhere"))).toBeUndefined();
    const roles = await db().inTenant(made.tenant.id, (tx) => tx.find(RoleSchema, {}, { orderBy: { name: "asc" } }));
    expect(roles.map((r) => r.name)).toEqual(builtInRoles.map((r) => r.name).sort());
    expect(roles.find((r) => r.name === "superuser")?.id).toBe(made.admin.roleIds[0]);
    expect(await db().asSystem((tx) => store.passwordHashOf(tx, "home", "admin"))).toBe("$argon2id$not-a-real-hash");
    expect(await db().asSystem((tx) => store.passwordHashOf(tx, "home", "nobody"))).toBeUndefined();
    expect(await db().asSystem((tx) => store.passwordHashOf(tx, "nowhere", "admin"))).toBeUndefined();
  });

  it("lets a SUPERGOD provision a tenant from its own tenant's transaction, scoped to the new one until set back", async () => {
    const home = await db().asSystem((tx) => store.provision(tx, admin("origin")));
    const seen = await db().inTenant(home.tenant.id, async (tx) => {
      const made = await store.provision(tx, admin("branch", { adminRole: "admin", adminLevel: 4, createdBy: home.admin.id }));
      const inNew = (await tx.find(RoleSchema, {}, { disableIdentityMap: true })).map((r) => r.tenantId);
      await store.scopeTo(tx, home.tenant.id);
      const back = (await tx.find(RoleSchema, {}, { disableIdentityMap: true })).map((r) => r.tenantId);
      return { made, inNew, back };
    });
    expect(seen.made.admin).toMatchObject({ level: 4, roleNames: ["admin"] });
    expect(new Set(seen.inNew)).toEqual(new Set([seen.made.tenant.id]));
    expect(new Set(seen.back)).toEqual(new Set([home.tenant.id]));
  });

  it("refuses a tenant-scoped provision by someone who is not a SUPERGOD, leaving nothing", async () => {
    const home = await db().asSystem((tx) => store.provision(tx, admin("lowly", { adminLevel: 4, adminRole: "admin" })));
    await expect(db().inTenant(home.tenant.id, (tx) => store.provision(tx, admin("refused", { createdBy: home.admin.id })))).rejects.toThrow();
    expect(await db().asSystem((tx) => store.findIdByName(tx, "refused"))).toBeUndefined();
  });

  it("lists tenants by name, page after page", async () => {
    for (const name of ["list-b", "list-a", "list-c"]) await db().asSystem((tx) => store.provision(tx, admin(name)));
    const all = (await db().asSystem((tx) => store.list(tx, { limit: 100 }))).map((t) => t.name).filter((n) => n.startsWith("list-"));
    expect(all).toEqual(["list-a", "list-b", "list-c"]);
    const after = await db().asSystem((tx) => store.list(tx, { limit: 1, afterName: "list-a" }));
    expect(after.map((t) => t.name)).toEqual(["list-b"]);
  });
});
