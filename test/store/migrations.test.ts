import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initDatabase, type Database } from "../../src/store/database.js";
import { MIGRATION_LOCK_ID } from "../../src/store/migrate.js";
import { migrationsList } from "../../migrations/index.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

const tenantTables = ["tenants", "users", "roles", "user_roles", "sessions", "audit_events", "audit_heads"];
const allMigrations = migrationsList.map((m) => m.name);
/**
 * platformTables are not a tenant's and have a wall of their own: global_policy
 * (read by every tenant, tested below), signing_keys (the platform tenant only,
 * test/store/signing-keys-store.test.ts).
 */
const platformTables = new Set(["global_policy", "signing_keys"]);

describe("migrations on PostgreSQL", () => {
  let testDb: TestDatabase;
  let db: Database;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await initDatabase({ url: testDb.url });
    console.info(`initDatabase (PostgreSQL, fresh database, migrations applied): ${db.initMs.toFixed(0)} ms`);
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it("applies every migration on a fresh database", async () => {
    expect(db.mode).toBe("postgres");
    expect(db.appliedMigrations).toEqual(allMigrations);
    const rows = (await db.asSystem((em) =>
      em.execute("select tablename from pg_tables where schemaname = current_schema() order by tablename"),
    )) as Array<{ tablename: string }>;
    expect(rows.map((row) => row.tablename)).toEqual(
      expect.arrayContaining([...tenantTables, "mikro_orm_migrations"]),
    );
  });

  it("is a no-op the second time, in the same process and in a new one", async () => {
    expect(await db.migrate()).toEqual([]);
    const again = await initDatabase({ url: testDb.url });
    try {
      expect(again.appliedMigrations).toEqual([]);
      console.info(`initDatabase (PostgreSQL, nothing pending): ${again.initMs.toFixed(0)} ms`);
    } finally {
      await again.close();
    }
    const applied = (await db.asSystem((em) => em.execute("select name from mikro_orm_migrations"))) as Array<{
      name: string;
    }>;
    expect(applied.map((row) => row.name).sort()).toEqual([...allMigrations].sort());
  });

  it("lets exactly one of two replicas starting together migrate", async () => {
    const fresh = await createTestDatabase();
    try {
      const [a, b] = await Promise.all([initDatabase({ url: fresh.url }), initDatabase({ url: fresh.url })]);
      try {
        expect([...a.appliedMigrations, ...b.appliedMigrations]).toEqual(allMigrations);
      } finally {
        await Promise.all([a.close(), b.close()]);
      }
    } finally {
      await fresh.drop();
    }
  });

  it("waits for the advisory lock held by another migrator", async () => {
    const fresh = await createTestDatabase();
    try {
      const holder = await initDatabase({ url: fresh.url, migrate: false });
      const knex = holder.orm.em.getConnection().getKnex();
      const trx = await knex.transaction();
      await trx.raw("select pg_advisory_xact_lock(?)", [MIGRATION_LOCK_ID]);
      let done = false;
      const starting = initDatabase({ url: fresh.url }).then((other) => {
        done = true;
        return other;
      });
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(done).toBe(false);
      await trx.commit();
      const other = await starting;
      expect(other.appliedMigrations).toEqual(allMigrations);
      await other.close();
      await holder.close();
    } finally {
      await fresh.drop();
    }
  });

  it("creates gatehouse_app as a NOLOGIN, non-superuser, NOBYPASSRLS role", async () => {
    const rows = (await db.asSystem((em) =>
      em.execute("select rolcanlogin, rolsuper, rolbypassrls from pg_roles where rolname = 'gatehouse_app'"),
    )) as Array<{ rolcanlogin: boolean; rolsuper: boolean; rolbypassrls: boolean }>;
    expect(rows).toEqual([{ rolcanlogin: false, rolsuper: false, rolbypassrls: false }]);
  });

  it("puts every table behind both walls: tenant_id, forced RLS, two policies, app-role grants", async () => {
    // A guard for future migrations: it checks every table, not a fixed list.
    const rows = (await db.asSystem((em) =>
      em.execute(
        `select c.relname, c.relrowsecurity, c.relforcerowsecurity,
                (select count(*) from pg_policies p where p.schemaname = current_schema() and p.tablename = c.relname) as policies,
                exists (select 1 from information_schema.columns col
                         where col.table_schema = current_schema() and col.table_name = c.relname
                           and col.column_name = 'tenant_id' and col.data_type = 'uuid' and col.is_nullable = 'NO') as has_tenant_id,
                has_table_privilege('gatehouse_app', c.oid, 'select') as app_can_select
           from pg_class c
          where c.relkind = 'r' and c.relnamespace = current_schema()::regnamespace and c.relname <> 'mikro_orm_migrations'
          order by c.relname`,
      ),
    )) as Array<{
      relname: string;
      relrowsecurity: boolean;
      relforcerowsecurity: boolean;
      policies: number;
      has_tenant_id: boolean;
      app_can_select: boolean;
    }>;
    expect(rows.map((row) => row.relname)).toEqual(expect.arrayContaining(tenantTables));
    for (const row of rows) {
      if (platformTables.has(row.relname)) continue;
      expect(row, row.relname).toMatchObject({
        relrowsecurity: true,
        relforcerowsecurity: true,
        policies: 2,
        has_tenant_id: row.relname !== "tenants",
        app_can_select: true,
      });
    }
    const migrationsGrant = await db.asSystem((em) =>
      em.execute("select has_table_privilege('gatehouse_app', 'mikro_orm_migrations', 'select') as granted"),
    );
    expect(migrationsGrant).toEqual([{ granted: false }]);
  });

  it("grants the app role no UPDATE or DELETE on the audit log", async () => {
    const rows = await db.asSystem((em) =>
      em.execute(
        `select has_table_privilege('gatehouse_app', 'audit_events', 'update') as can_update,
                has_table_privilege('gatehouse_app', 'audit_events', 'delete') as can_delete,
                has_table_privilege('gatehouse_app', 'audit_events', 'insert') as can_insert`,
      ),
    );
    expect(rows).toEqual([{ can_update: false, can_delete: false, can_insert: true }]);
  });

  it("lets every tenant read the one global policy row, and only the platform tenant's scope update it", async () => {
    const [platform, other] = await db.asSystem(async (em) => {
      const rows = (await em.execute(
        "insert into tenants (name) values ('default'), ('migrations-other') on conflict (name) do update set name = excluded.name returning id, name",
      )) as Array<{ id: string; name: string }>;
      return [rows.find((r) => r.name === "default")!.id, rows.find((r) => r.name === "migrations-other")!.id];
    });
    const read = (tenant: string) => db.inTenant(tenant, (em) => em.execute("select id from global_policy"));
    expect(await read(other!)).toEqual([{ id: true }]);
    expect(await read(platform!)).toEqual([{ id: true }]);
    const update = (tenant: string) =>
      db.inTenant(tenant, (em) => em.execute("update global_policy set updated_at = now() returning id"));
    expect(await update(other!)).toEqual([]);
    expect(await update(platform!)).toEqual([{ id: true }]);
    await expect(db.inTenant(platform!, (em) => em.execute("delete from global_policy"))).rejects.toMatchObject({ kind: "tenant_isolation" });
    await expect(db.inTenant(platform!, (em) => em.execute("insert into global_policy (id) values (true)"))).rejects.toMatchObject({
      kind: "tenant_isolation",
    });
  });
});
