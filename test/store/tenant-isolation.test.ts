import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initDatabase, type Database } from "../../src/store/database.js";
import { UserSchema } from "../../src/store/entities/user.js";
import { AlreadyExistsError, ForeignKeyError, InvalidDataError, TenantIsolationError } from "../../src/store/errors.js";
import { createRole } from "../../src/store/repositories/roles.js";
import { createTenant, findTenantByName, listTenants } from "../../src/store/repositories/tenants.js";
import {
  createUser,
  findUserById,
  findUserByUsername,
  listUserRoleIds,
  listUsers,
  setUserRoles,
} from "../../src/store/repositories/users.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

describe("tenant isolation on PostgreSQL", () => {
  let testDb: TestDatabase;
  let db: Database;
  let tenantA: string;
  let tenantB: string;
  let userA: string;
  let userB: string;
  let roleB: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await initDatabase({ url: testDb.url });
    ({ tenantA, tenantB } = await db.asSystem(async (em) => ({
      tenantA: (await createTenant(em, "alpha")).id,
      tenantB: (await createTenant(em, "beta")).id,
    })));
    userA = await db.inTenant(tenantA, async (em) => (await createUser(em, tenantA, { username: "alice", passwordHash: "x", level: 2 })).id);
    ({ userB, roleB } = await db.inTenant(tenantB, async (em) => ({
      userB: (await createUser(em, tenantB, { username: "bob", passwordHash: "x", level: 3 })).id,
      roleB: (await createRole(em, tenantB, { name: "editor", permissions: ["macros.read", "macros.write"] })).id,
    })));
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it("runs tenant transactions as gatehouse_app with the tenant set", async () => {
    const rows = await db.inTenant(tenantA, (em) =>
      em.execute("select current_user as role, current_setting('gatehouse.tenant_id', true) as tenant"),
    );
    expect(rows).toEqual([{ role: "gatehouse_app", tenant: tenantA }]);
  });

  it("leaves no role or tenant on the pooled connection afterwards", async () => {
    // Pool of one: the next transaction surely reuses the connection.
    const single = await initDatabase({ url: testDb.url, poolMax: 1 });
    try {
      await single.inTenant(tenantA, (em) => em.execute("select 1"));
      const rows = await single.asSystem((em) =>
        em.execute("select current_user as role, coalesce(current_setting('gatehouse.tenant_id', true), '') as tenant"),
      );
      expect(rows).toEqual([{ role: "postgres", tenant: "" }]);
      await expect(single.inTenant(tenantA, async () => Promise.reject(new Error("boom")))).rejects.toThrow("boom");
      const after = await single.asSystem((em) => em.execute("select current_user as role"));
      expect(after).toEqual([{ role: "postgres" }]);
    } finally {
      await single.close();
    }
  });

  it("returns nothing of tenant B inside tenant A, even without the tenant filter", async () => {
    await db.inTenant(tenantA, async (em) => {
      expect(await listUsers(em, tenantB, { limit: 10 })).toEqual([]);
      expect(await findUserById(em, tenantB, userB)).toBeNull();
      expect(await findUserByUsername(em, tenantB, "bob")).toBeNull();
      // The first wall removed: RLS alone still hides B.
      const all = await em.find(UserSchema, {});
      expect(all.map((user) => user.id)).toEqual([userA]);
      const raw = (await em.execute("select id from users")) as Array<{ id: string }>;
      expect(raw.map((row) => row.id)).toEqual([userA]);
      const tenants = (await em.execute("select id from tenants")) as Array<{ id: string }>;
      expect(tenants.map((row) => row.id)).toEqual([tenantA]);
    });
  });

  it("refuses an insert with tenant B's id inside tenant A", async () => {
    await expect(
      db.inTenant(tenantA, (em) => createUser(em, tenantB, { username: "mallory", passwordHash: "x", level: 2 })),
    ).rejects.toBeInstanceOf(TenantIsolationError);
    await expect(
      db.inTenant(tenantA, (em) =>
        em.execute("insert into users (tenant_id, username, password_hash, level) values (?, 'eve', 'x', 1)", [tenantB]),
      ),
    ).rejects.toBeInstanceOf(TenantIsolationError);
    const names = await db.asSystem(async (em) => (await em.find(UserSchema, {})).map((user) => user.username).sort());
    expect(names).toEqual(["alice", "bob"]);
  });

  it("updates and deletes nothing of tenant B inside tenant A", async () => {
    const changed = await db.inTenant(tenantA, async (em) => ({
      updated: await em.nativeUpdate(UserSchema, { id: userB }, { disabled: true }),
      deleted: await em.nativeDelete(UserSchema, { id: userB }),
    }));
    expect(changed).toEqual({ updated: 0, deleted: 0 });
    await expect(
      db.inTenant(tenantA, (em) => em.execute("update users set tenant_id = ? where id = ?", [tenantB, userA])),
    ).rejects.toBeInstanceOf(TenantIsolationError);
  });

  it("refuses to grant tenant B's role to a user of tenant A", async () => {
    await expect(db.inTenant(tenantA, (em) => setUserRoles(em, tenantA, userA, [roleB]))).rejects.toBeInstanceOf(
      ForeignKeyError,
    );
    await db.inTenant(tenantB, async (em) => {
      await setUserRoles(em, tenantB, userB, [roleB]);
      expect(await listUserRoleIds(em, tenantB, userB)).toEqual([roleB]);
    });
  });

  it("maps a duplicate username to AlreadyExistsError", async () => {
    const error = await db
      .inTenant(tenantA, (em) => createUser(em, tenantA, { username: "alice", passwordHash: "x", level: 2 }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AlreadyExistsError);
    expect((error as AlreadyExistsError).constraint).toBe("users_tenant_id_username_key");
  });

  it("maps a level outside 1..5 to InvalidDataError", async () => {
    await expect(
      db.inTenant(tenantA, (em) => createUser(em, tenantA, { username: "zed", passwordHash: "x", level: 9 })),
    ).rejects.toBeInstanceOf(InvalidDataError);
  });

  it("refuses a tenant id that is not a uuid", async () => {
    await expect(db.inTenant("not-a-uuid", async () => 1)).rejects.toBeInstanceOf(InvalidDataError);
  });

  it("lets asSystem see every tenant", async () => {
    await db.asSystem(async (em) => {
      expect((await findTenantByName(em, "beta"))?.id).toBe(tenantB);
      expect((await listTenants(em, { limit: 10 })).map((tenant) => tenant.name)).toEqual(["alpha", "beta"]);
    });
  });

  it("answers raw timestamptz as Date and bigint as number, as PGlite does", async () => {
    const [row] = (await db.asSystem((em) =>
      em.execute("select created_at, count(*) over () as n from tenants limit 1"),
    )) as Array<{ created_at: unknown; n: unknown }>;
    expect(row!.created_at).toBeInstanceOf(Date);
    expect(typeof row!.n).toBe("number");
  });

  it("keeps a string with a semicolon intact", async () => {
    const role = await db.inTenant(tenantA, (em) =>
      createRole(em, tenantA, { name: "odd; name", description: "a; b; 'c'", defaultPolicy: { note: "x;y" } }),
    );
    expect(role.id).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe("tenant isolation with a non-superuser owner", () => {
  const owner = `gatehouse_test_owner_${Math.random().toString(36).slice(2, 10)}`;
  let testDb: TestDatabase;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    await testDb.admin(`create role ${owner} login nosuperuser nocreatedb createrole`);
    await testDb.admin(`alter database ${testDb.name} owner to ${owner}`);
  });

  afterAll(async () => {
    if (!testDb) return;
    await testDb.admin(`drop database if exists ${testDb.name} with (force)`);
    await testDb.admin(`drop role if exists ${owner}`);
    await testDb.drop();
  });

  it("forces RLS on the owner: asSystem sees all, a bare transaction sees nothing", async () => {
    // The owner (not the superuser) migrates and serves its own database.
    const url = testDb.url.replace("postgres@", `${owner}@`);
    const db = await initDatabase({ url });
    try {
      const tenant = await db.asSystem(async (em) => (await createTenant(em, "gamma")).id);
      await db.inTenant(tenant, (em) => createUser(em, tenant, { username: "gina", passwordHash: "x", level: 2 }));
      const visible = await db.asSystem((em) => em.execute("select current_user as role, count(*) as n from users"));
      expect(visible).toEqual([{ role: owner, n: 1 }]);
      const bare = await db.orm.em.fork().transactional((em) => em.execute("select count(*) as n from users"));
      expect(bare).toEqual([{ n: 0 }]);
      const inOther = await db.inTenant("00000000-0000-4000-8000-000000000000", (em) =>
        em.execute("select count(*) as n from users"),
      );
      expect(inOther).toEqual([{ n: 0 }]);
    } finally {
      await db.close();
    }
  });
});
