import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { initDatabase, type Database } from "../../src/store/database.js";
import { UnavailableError } from "../../src/store/errors.js";
import { createTenant, listTenants } from "../../src/store/repositories/tenants.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

describe("ping and reconnection on PostgreSQL", () => {
  let testDb: TestDatabase;
  let db: Database;

  const terminateBackends = () =>
    testDb.admin("select count(pg_terminate_backend(pid)) as n from pg_stat_activity where datname = ? and pid <> pg_backend_pid()", [
      testDb.name,
    ]);

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await initDatabase({ url: testDb.url, poolMin: 2, connectTimeoutMs: 2000, acquireTimeoutMs: 3000 });
    await db.asSystem((em) => createTenant(em, "pinged"));
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it("answers ok while the database is up", async () => {
    const result = await db.ping();
    expect(result.ok).toBe(true);
    expect(result.error).toBeUndefined();
  });

  it("recovers by itself after pg_terminate_backend kills every pooled connection", async () => {
    // Open several connections, then cut them all; use the pool again at once.
    await Promise.all(Array.from({ length: 4 }, () => db.asSystem((em) => em.execute("select pg_sleep(0.05)"))));
    const [killed] = (await terminateBackends()) as Array<{ n: number | string }>;
    expect(Number(killed!.n)).toBeGreaterThanOrEqual(4);
    expect((await db.ping()).ok).toBe(true);
    await Promise.all(Array.from({ length: 4 }, () => db.asSystem((em) => em.execute("select pg_sleep(0.05)"))));
    await terminateBackends();
    const tenants = await Promise.all(Array.from({ length: 4 }, () => db.asSystem((em) => listTenants(em, { limit: 5 }))));
    expect(tenants.map((list) => list.map((t) => t.name))).toEqual(Array(4).fill(["pinged"]));
  });

  it("fails a transaction whose connection dies mid-way with UnavailableError, and does not retry it", async () => {
    let runs = 0;
    const error = await db
      .asSystem(async (em) => {
        runs += 1;
        await terminateBackends();
        return em.execute("select 1");
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UnavailableError);
    expect(runs).toBe(1);
    expect((await db.ping()).ok).toBe(true);
  });

  it("fails while the database refuses connections, then recovers without a restart", async () => {
    await testDb.admin(`alter database ${testDb.name} allow_connections false`);
    try {
      await terminateBackends();
      await new Promise((resolve) => setTimeout(resolve, 50));
      const down = await db.ping({ timeoutMs: 1500 });
      expect(down.ok).toBe(false);
      expect(down.error).toBeInstanceOf(UnavailableError);
      expect(down.latencyMs).toBeLessThan(1600);
      const failedQuery = await db.asSystem((em) => listTenants(em, { limit: 1 })).catch((e: unknown) => e);
      expect(failedQuery).toBeInstanceOf(UnavailableError);
    } finally {
      await testDb.admin(`alter database ${testDb.name} allow_connections true`);
    }
    const up = await db.ping();
    expect(up.ok).toBe(true);
    expect((await db.asSystem((em) => listTenants(em, { limit: 1 }))).length).toBe(1);
  });

  it("answers not ok within the timeout when nothing listens", async () => {
    const nowhere = await initDatabase({ url: "postgres://postgres@127.0.0.1:1/none", migrate: false });
    try {
      const result = await nowhere.ping({ timeoutMs: 1000 });
      expect(result.ok).toBe(false);
      expect(result.error).toBeInstanceOf(UnavailableError);
    } finally {
      await nowhere.close();
    }
  });

  it("throws UnavailableError from initDatabase when the server is unreachable", async () => {
    await expect(initDatabase({ url: "postgres://postgres@127.0.0.1:1/none", connectTimeoutMs: 500 })).rejects.toBeInstanceOf(
      UnavailableError,
    );
  });
});
