import { PGlite } from "@electric-sql/pglite";
import { afterAll, beforeAll, describe } from "vitest";
import { initDatabase, type Database } from "../../src/store/database.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

/** StoreEngineName names the two engines every store runs on. */
export type StoreEngineName = "postgres" | "pglite";

/**
 * describeStoreOnEngines runs one store's conformance suite against a fresh,
 * migrated PostgreSQL database and an in-memory PGlite alike, as the lock
 * manager contract does for its implementations. `body` receives a getter:
 * the database exists only once beforeAll has run.
 */
export function describeStoreOnEngines(title: string, body: (db: () => Database, engine: StoreEngineName) => void): void {
  for (const engine of ["postgres", "pglite"] as const) {
    describe(`${title} on ${engine}`, () => {
      let db: Database | undefined;
      let testDb: TestDatabase | undefined;
      let pglite: PGlite | undefined;
      beforeAll(async () => {
        if (engine === "postgres") {
          testDb = await createTestDatabase();
          db = await initDatabase({ url: testDb.url });
        } else {
          pglite = await PGlite.create("memory://");
          db = await initDatabase({ pglite });
        }
      }, 60_000);
      afterAll(async () => {
        await db?.close();
        await testDb?.drop();
        await pglite?.close().catch(() => undefined);
      });
      body(() => {
        if (!db) throw new Error("the store database is not open yet (use it inside tests or hooks)");
        return db;
      }, engine);
    });
  }
}
