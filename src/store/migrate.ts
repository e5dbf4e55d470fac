import type { Migrator } from "@mikro-orm/migrations";
import type { AbstractSqlConnection } from "@mikro-orm/postgresql";
import type { StoreOrm } from "./orm.js";

/**
 * MIGRATION_LOCK_ID is the Postgres advisory-lock key held while migrating.
 * Advisory locks are per database, so unrelated databases never wait on it.
 */
export const MIGRATION_LOCK_ID = 7_470_001_001;

/** MigrateOptions says how to serialize concurrent migrators. */
export interface MigrateOptions {
  /**
   * lock takes the advisory lock on a dedicated pooled connection (a server with
   * several replicas). Off for embedded PGlite: it has one connection and one
   * process, so there is nobody to race, and holding its only connection would
   * starve the migrator.
   */
  lock: boolean;
}

/** The slice of a raw pg client used to hold the lock. */
interface RawPgClient {
  query(text: string, values?: unknown[]): Promise<unknown>;
}

/**
 * migrateDatabase applies every pending migration of `migrationsList` (all or
 * nothing, in one transaction) and answers the names applied, oldest first. With
 * `lock`, it first takes the session advisory lock MIGRATION_LOCK_ID on a
 * connection of its own, outside the pool (so a pool of one still works), and
 * keeps it until done: a second replica starting at the same time waits, then
 * finds nothing pending. Closing that connection releases the lock, so it is
 * released even if this process dies.
 */
export async function migrateDatabase(orm: StoreOrm, options: MigrateOptions): Promise<string[]> {
  const migrator = orm.getMigrator() as Migrator;
  const run = async () => (await migrator.up()).map((migration) => migration.name);
  if (!options.lock) {
    return run();
  }
  const client = (orm.em.getConnection() as AbstractSqlConnection).getKnex().client;
  const holder = (await client.acquireRawConnection()) as RawPgClient;
  try {
    await holder.query("select pg_advisory_lock($1)", [MIGRATION_LOCK_ID]);
    return await run();
  } finally {
    await holder.query("select pg_advisory_unlock($1)", [MIGRATION_LOCK_ID]).catch(() => undefined);
    await client.destroyRawConnection(holder).catch(() => undefined);
  }
}
