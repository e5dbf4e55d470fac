import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createDirectPool, type DirectPool } from "../../src/store/direct-sql.js";
import { initDatabase, type Database } from "../../src/store/database.js";
import { UnavailableError } from "../../src/store/errors.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";

/**
 * The direct pool's connections die under it (through a TCP proxy): a call
 * that was using one fails as UNAVAILABLE, the process keeps running (pg
 * emits "error" on a checked-out client, which crashes a process without a
 * listener), and the pool serves again once the database is back.
 */
describe("direct pool when its connections die", () => {
  let testDb: TestDatabase;
  let db: Database;
  let proxy: TcpProxy;
  let pool: DirectPool;
  let tenant: string;

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await initDatabase({ url: testDb.url });
    tenant = await db.asSystem(async (em) => (await createTenant(em, "direct")).id);
    const target = new URL(testDb.url);
    proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
    target.port = String(proxy.port);
    pool = createDirectPool(target.toString(), { connectTimeoutMs: 1000 });
  });

  afterAll(async () => {
    await pool?.close();
    await proxy?.close();
    await db?.close();
    await testDb?.drop();
  });

  const answers = (n: number) => pool.inTenant(tenant, async (sql) => (await sql.query<{ n: number }>({ text: "select $1::int as n", values: [n] }))[0]!.n);

  it("fails a transaction whose connection dies between its statements, and serves again after", async () => {
    expect(await answers(1)).toBe(1);
    const failed = pool.inTenant(tenant, async (sql) => {
      await sql.query({ text: "select 1" });
      proxy.cut();
      await sleep(50); // the socket closes while the client is checked out and idle
      return sql.query({ text: "select 2" });
    });
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    proxy.restore();
    expect(await answers(2)).toBe(2);
  });

  it("fails a statement whose connection dies while it runs", async () => {
    const failed = pool.inTenant(tenant, async (sql) => {
      setTimeout(() => proxy.cut(), 100);
      return sql.query({ text: "select pg_sleep(2)" });
    });
    await expect(failed).rejects.toBeInstanceOf(UnavailableError);
    proxy.restore();
    expect(await answers(3)).toBe(3);
  });

  it("fails a one-round-trip script whose connection dies, and serves again after", async () => {
    setTimeout(() => proxy.cut(), 100);
    await expect(pool.script(tenant, ["select pg_sleep(2)"])).rejects.toBeInstanceOf(UnavailableError);
    proxy.restore();
    expect(await pool.script(tenant, ["select 1"])).toEqual([1]);
  });

  it("drops connections that died while idle", async () => {
    await Promise.all([answers(4), answers(5)]);
    proxy.cut();
    await sleep(50);
    proxy.restore();
    expect(await answers(6)).toBe(6);
  });
});
