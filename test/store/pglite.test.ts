import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrationsList } from "../../migrations/index.js";
import { appendAuditEvent, verifyAuditChain } from "../../src/store/audit-writer.js";
import { initDatabase, type Database } from "../../src/store/database.js";
import { UserSchema } from "../../src/store/entities/user.js";
import { AlreadyExistsError, TenantIsolationError } from "../../src/store/errors.js";
import { createRole } from "../../src/store/repositories/roles.js";
import { createTenant, findTenantByName } from "../../src/store/repositories/tenants.js";
import { createUser, listUsers } from "../../src/store/repositories/users.js";

describe("embedded PGlite", () => {
  // One PGlite for the whole file: creating one takes seconds.
  let pglite: PGlite;
  let db: Database;
  let pgliteMs: number;

  beforeAll(async () => {
    const started = performance.now();
    pglite = await PGlite.create("memory://");
    pgliteMs = performance.now() - started;
    db = await initDatabase({ pglite });
    console.info(`PGlite.create: ${pgliteMs.toFixed(0)} ms; initDatabase on it (migrations applied): ${db.initMs.toFixed(0)} ms`);
  }, 60_000);

  afterAll(async () => {
    await db?.close();
    await pglite?.close();
  });

  it("boots and applies the migrations", async () => {
    expect(db.mode).toBe("pglite");
    expect(db.appliedMigrations).toEqual(migrationsList.map((m) => m.name));
    expect((await db.ping()).ok).toBe(true);
  });

  it("applies nothing the second time", async () => {
    expect(await db.migrate()).toEqual([]);
    await db.close();
    db = await initDatabase({ pglite });
    expect(db.appliedMigrations).toEqual([]);
    expect(pglite.closed).toBe(false);
  });

  it("enforces row-level security as in PostgreSQL", async () => {
    const { a, b } = await db.asSystem(async (em) => ({
      a: (await createTenant(em, "alpha")).id,
      b: (await createTenant(em, "beta")).id,
    }));
    await db.inTenant(a, (em) => createUser(em, a, { username: "alice", passwordHash: "x", level: 2 }));
    await db.inTenant(b, (em) => createUser(em, b, { username: "bob", passwordHash: "x", level: 2 }));
    await db.inTenant(a, async (em) => {
      expect(await em.execute("select current_user as role")).toEqual([{ role: "gatehouse_app" }]);
      expect(await listUsers(em, b, { limit: 10 })).toEqual([]);
      expect((await em.find(UserSchema, {})).map((u) => u.username)).toEqual(["alice"]);
    });
    await expect(
      db.inTenant(a, (em) => createUser(em, b, { username: "mallory", passwordHash: "x", level: 2 })),
    ).rejects.toBeInstanceOf(TenantIsolationError);
    await expect(
      db.inTenant(a, (em) => createUser(em, a, { username: "alice", passwordHash: "x", level: 2 })),
    ).rejects.toBeInstanceOf(AlreadyExistsError);
    expect(await db.asSystem((em) => em.execute("select current_user as role"))).toEqual([{ role: "postgres" }]);
  });

  it("answers raw timestamptz as Date and bigint as number, as on PostgreSQL", async () => {
    const [row] = (await db.asSystem((em) =>
      em.execute("select created_at, count(*) over () as n from tenants limit 1"),
    )) as Array<{ created_at: unknown; n: unknown }>;
    expect(row!.created_at).toBeInstanceOf(Date);
    expect(typeof row!.n).toBe("number");
  });

  it("keeps values with semicolons (mikro-orm-pglite splits SQL on ';')", async () => {
    const tenant = (await db.asSystem((em) => findTenantByName(em, "alpha")))!.id;
    const role = await db.inTenant(tenant, (em) => createRole(em, tenant, { name: "a;b", description: "x; y" }));
    expect(role.id).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("keeps and verifies the audit chain, and the trigger refuses edits", async () => {
    const tenant = (await db.asSystem((em) => findTenantByName(em, "alpha")))!.id;
    for (let i = 0; i < 3; i += 1) {
      await db.inTenant(tenant, (em) =>
        appendAuditEvent(em, { tenantId: tenant, action: "test.run", outcome: "DENIED", userAgent: "a; b", details: { i } }),
      );
    }
    expect(await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant))).toEqual({ ok: true, eventsChecked: 3 });
    await expect(db.asSystem((em) => em.execute("delete from audit_events"))).rejects.toMatchObject({ code: "GH001" });
    await db.asSystem(async (em) => {
      await em.execute("alter table audit_events disable trigger audit_events_no_update_delete");
      await em.execute("update audit_events set details = '{\"i\": 9}' where tenant_id = ? and seq = 2", [tenant]);
      await em.execute("alter table audit_events enable trigger audit_events_no_update_delete");
    });
    expect(await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant))).toEqual({
      ok: false,
      eventsChecked: 2,
      firstBrokenSeq: 2,
    });
  });
});

describe("embedded PGlite in a data folder", () => {
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "gatehouse-pgdata-"));
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("persists data across restarts and migrates only once", async () => {
    const dataDir = join(dir, "nested", "pgdata");
    const first = await initDatabase({ dataDir });
    console.info(`initDatabase (PGlite, new data folder): ${first.initMs.toFixed(0)} ms`);
    try {
      expect(first.appliedMigrations).toEqual(migrationsList.map((m) => m.name));
      await first.asSystem((em) => createTenant(em, "kept"));
    } finally {
      await first.close();
    }
    const second = await initDatabase({ dataDir });
    console.info(`initDatabase (PGlite, existing data folder): ${second.initMs.toFixed(0)} ms`);
    try {
      expect(second.appliedMigrations).toEqual([]);
      expect((await second.asSystem((em) => findTenantByName(em, "kept")))?.name).toBe("kept");
    } finally {
      await second.close();
    }
  }, 60_000);
});
