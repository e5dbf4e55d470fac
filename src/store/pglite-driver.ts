import { mkdir } from "node:fs/promises";
import { resolve } from "node:path";
import { PGlite, type Results } from "@electric-sql/pglite";
import { AbstractSqlDriver, type Configuration } from "@mikro-orm/postgresql";
import { TextSafePostgreSqlPlatform } from "./text-platform.js";
import { PGliteConnection } from "mikro-orm-pglite";

/**
 * SingleResultPGliteConnection fixes mikro-orm-pglite 0.5.1, which guesses
 * "several statements" by splitting the SQL on `;` and then runs it with
 * `exec()`, getting an array of results. MikroORM inlines parameters, so any
 * string value containing `;` took that path and broke (inserts lost their
 * RETURNING row: "Cannot read properties of undefined (reading 'id')"). A
 * one-element array is unwrapped to the single result it is.
 */
class SingleResultPGliteConnection extends PGliteConnection {
  protected override transformRawResult<T>(response: Results | Results[], method: "all" | "get" | "run"): T {
    const single = Array.isArray(response) && response.length === 1 ? response[0]! : response;
    return super.transformRawResult<T>(single, method);
  }
}

/**
 * EmbeddedPGliteDriver is mikro-orm-pglite's PGliteDriver with the result fix
 * above. Give it a PGlite instance through
 * `driverOptions: { connection: { pglite: () => instance } }`.
 */
export class EmbeddedPGliteDriver extends AbstractSqlDriver<PGliteConnection> {
  constructor(config: Configuration) {
    super(config, new TextSafePostgreSqlPlatform(), SingleResultPGliteConnection, [
      "knex",
      "@electric-sql/pglite",
      "@harryplusplus/knex-pglite",
    ]);
  }
}

/**
 * createPGlite opens (creating if needed) an embedded PostgreSQL in `dataDir`,
 * or an in-memory one for `memory://`. One process at a time may open a data
 * folder. The first open in a process takes seconds (WASM compile).
 */
export async function createPGlite(dataDir: string): Promise<PGlite> {
  if (dataDir.startsWith("memory://")) {
    return PGlite.create(dataDir);
  }
  const absolute = resolve(dataDir);
  await mkdir(absolute, { recursive: true });
  return PGlite.create(absolute);
}
