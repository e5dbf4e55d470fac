import { AsyncLocalStorage } from "node:async_hooks";
import { dirname, resolve } from "node:path";
import type { PGlite } from "@electric-sql/pglite";
import { MikroORM, type Options } from "@mikro-orm/core";
import { Migrator } from "@mikro-orm/migrations";
import type { AbstractSqlDriver, SqlEntityManager } from "@mikro-orm/postgresql";
import { migrationsList } from "../../migrations/index.js";
import { entities } from "./entities/index.js";
import { mapDriverError } from "./errors.js";
import { migrateDatabase } from "./migrate.js";
import type { StoreEntityManager, StoreOrm } from "./orm.js";
import { createPGlite, EmbeddedPGliteDriver } from "./pglite-driver.js";
import { ServerPostgreSqlDriver } from "./postgres-driver.js";
import { pingDatabase, type PingResult } from "./ping.js";
import { createDirectPool, type DirectPool } from "./direct-sql.js";
import { runAsSystem, runInTenant, type TransactionCallback, type TransactionOptions } from "./tenant-scope.js";
import { lockDataDir, type DataDirLock } from "./data-dir-lock.js";

/**
 * StoreLogger is the slice of a logger this layer uses; a pino logger fits.
 */
export interface StoreLogger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
}

/** DatabaseOptions configure initDatabase. */
export interface DatabaseOptions {
  /**
   * url is a PostgreSQL connection URL (`postgres://user@host:5432/db`). Unset:
   * embedded PGlite in `dataDir`.
   */
  url?: string;
  /** dataDir is PGlite's data folder (default `./.gatehouse/pgdata`; `memory://` for none). */
  dataDir?: string;
  /**
   * lockDir is the folder held exclusively while PGlite runs on `dataDir`
   * (default: the folder `dataDir` is in, as `./.gatehouse` holds `pgdata`): a second process gets DataDirLockedError
   * before anything is opened or written. Not used with `url`, `pglite` or
   * `memory://`.
   */
  lockDir?: string;
  /** lockCommand says in the lock file what holds it (default "server"). */
  lockCommand?: string;
  /**
   * pglite is an already open PGlite instance to use instead of `dataDir`; it is
   * borrowed (close() leaves it open). For tests sharing one instance.
   */
  pglite?: PGlite;
  /** logger receives migration progress and a stale data-directory lock taken over (info, warn) and, with debugQueries, SQL (debug). */
  logger?: StoreLogger;
  /** debugQueries logs every query with its parameters at debug level. */
  debugQueries?: boolean;
  /** migrate applies pending migrations during init (default true). */
  migrate?: boolean;
  /** poolMin and poolMax size the PostgreSQL connection pool (default 0 and 10). */
  poolMin?: number;
  /** poolMax is the largest number of PostgreSQL connections (default 10). */
  poolMax?: number;
  /** connectTimeoutMs bounds opening one PostgreSQL connection (default 5000). */
  connectTimeoutMs?: number;
  /** acquireTimeoutMs bounds waiting for a pooled connection (default 10000). */
  acquireTimeoutMs?: number;
}

export type { Tx } from "./tx.js";

/** DatabaseMode says which engine a Database runs on. */
export type DatabaseMode = "postgres" | "pglite";

/** PingOptions tune Database.ping. */
export interface PingOptions {
  /** timeoutMs bounds the probe (default 1000). */
  timeoutMs?: number;
}

/**
 * Database is the persistence bundle handed to the rest of the service through
 * the dependencies object. Every query runs inside inTenant or asSystem.
 */
export interface Database {
  /** mode is "postgres" (url given) or "pglite" (embedded). */
  readonly mode: DatabaseMode;
  /**
   * orm is the MikroORM instance. An escape hatch for tests and tooling: its
   * global entity manager is locked (allowGlobalContext is off); use inTenant.
   */
  readonly orm: StoreOrm;
  /** appliedMigrations are the migrations applied by initDatabase, oldest first. */
  readonly appliedMigrations: readonly string[];
  /** initMs is how long initDatabase took, PGlite start-up and migrations included. */
  readonly initMs: number;
  /**
   * inTenant runs `fn` in a transaction as role `gatehouse_app` with the tenant
   * set, so row-level security confines it to `tenantId`'s rows; flushes and
   * commits when `fn` resolves, rolls back when it throws. Errors come out as
   * StoreErrors where they are database conditions. Do not nest calls (on PGlite,
   * with one connection, a nested call waits forever for the pool).
   */
  inTenant<T>(tenantId: string, fn: TransactionCallback<T>, options?: TransactionOptions): Promise<T>;
  /**
   * asSystem runs `fn` in a transaction without the role switch: it sees every
   * tenant. For bootstrap, login lookups by tenant name and ListTenants only.
   */
  asSystem<T>(fn: TransactionCallback<T>, options?: TransactionOptions): Promise<T>;
  /** migrate applies pending migrations (a no-op when there are none) and answers their names. */
  migrate(): Promise<string[]>;
  /** ping answers whether `select 1` succeeds within the timeout; it never throws. */
  ping(options?: PingOptions): Promise<PingResult>;
  /**
   * direct is a small pool of plain pg connections for hot-path writes that
   * need no ORM (the audit batch writer); PostgreSQL only, undefined on PGlite
   * (one connection, which the ORM owns).
   */
  readonly direct?: DirectPool;
  /** close ends the pool (and an owned PGlite instance). Safe to call twice. */
  close(): Promise<void>;
}

/** currentTransaction is the tenant transaction the running code is inside, if any. */
const currentTransaction = new AsyncLocalStorage<{ tenantId: string; tx: StoreEntityManager }>();

/** DEFAULT_DATA_DIR is where embedded PGlite keeps its data by default. */
export const DEFAULT_DATA_DIR = "./.gatehouse/pgdata";

/**
 * initDatabase connects to PostgreSQL (`url`) or starts embedded PGlite
 * (`dataDir`), applies pending migrations under an advisory lock, and answers the
 * Database. Connection failures throw UnavailableError.
 */
export async function initDatabase(options: DatabaseOptions = {}): Promise<Database> {
  const started = performance.now();
  const logger = options.logger;
  const mode: DatabaseMode = options.url ? "postgres" : "pglite";
  const common: Options<AbstractSqlDriver, SqlEntityManager> = {
    entities,
    extensions: [Migrator],
    migrations: {
      migrationsList,
      tableName: "mikro_orm_migrations",
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
    },
    ensureDatabase: false,
    allowGlobalContext: false,
    forceUtcTimezone: true,
    colors: false,
    debug: options.debugQueries ? ["query", "query-params"] : false,
    logger: (message: string) => logger?.debug(message),
  };

  // knex reports dropped pool connections through its own logger (console by default).
  const knexLog = {
    warn: (message: unknown) => logger?.warn(`database: ${String(message)}`),
    error: (message: unknown) => logger?.warn(`database: ${String(message)}`),
    deprecate: (method: unknown, alternative: unknown) => logger?.debug(`knex: ${String(method)} is deprecated, use ${String(alternative)}`),
    debug: (message: unknown) => logger?.debug(`knex: ${String(message)}`),
  };

  let ownedPglite: PGlite | undefined;
  let dirLock: DataDirLock | undefined;
  const pgliteDir = options.dataDir ?? DEFAULT_DATA_DIR;
  if (!options.url && !options.pglite && !pgliteDir.startsWith("memory://")) {
    // One process per data directory: two PGlite instances on one folder
    // each see only their own writes, and one side's are lost.
    dirLock = lockDataDir(options.lockDir ?? dirname(resolve(pgliteDir)), options.lockCommand);
    if (dirLock.tookOver) {
      const was = dirLock.tookOver;
      logger?.warn(`data directory ${dirLock.dir}: took over the lock of process ${was.pid} (${was.command}, since ${was.acquiredAt}), which is gone`);
    }
  }
  let orm: StoreOrm;
  try {
    if (options.url) {
      orm = await MikroORM.init<AbstractSqlDriver, SqlEntityManager>({
        ...common,
        driver: ServerPostgreSqlDriver,
        clientUrl: options.url,
        pool: { min: options.poolMin ?? 0, max: options.poolMax ?? 10 },
        driverOptions: {
          connection: { connectionTimeoutMillis: options.connectTimeoutMs ?? 5000, keepAlive: true },
          acquireConnectionTimeout: options.acquireTimeoutMs ?? 10_000,
          log: knexLog,
        },
      });
    } else {
      const pglite = options.pglite ?? (ownedPglite = await createPGlite(pgliteDir));
      orm = await MikroORM.init<AbstractSqlDriver, SqlEntityManager>({
        ...common,
        driver: EmbeddedPGliteDriver,
        dbName: "postgres",
        driverOptions: {
          connection: { pglite: () => pglite },
          acquireConnectionTimeout: options.acquireTimeoutMs ?? 10_000,
          log: knexLog,
        },
      });
    }
  } catch (error) {
    await ownedPglite?.close().catch(() => undefined);
    dirLock?.release();
    throw mapDriverError(error);
  }

  const migrate = async (): Promise<string[]> => {
    try {
      const applied = await migrateDatabase(orm, { lock: mode === "postgres" });
      for (const name of applied) {
        logger?.info(`applied migration ${name}`);
      }
      return applied;
    } catch (error) {
      throw mapDriverError(error);
    }
  };

  const direct = options.url ? createDirectPool(options.url, { connectTimeoutMs: options.connectTimeoutMs ?? 5000 }) : undefined;
  let closed = false;
  const close = async (): Promise<void> => {
    if (closed) return;
    closed = true;
    await direct?.close();
    try {
      await orm.close(true);
      await ownedPglite?.close();
    } finally {
      dirLock?.release();
    }
  };

  let appliedMigrations: string[] = [];
  if (options.migrate ?? true) {
    try {
      appliedMigrations = await migrate();
    } catch (error) {
      await close().catch(() => undefined);
      throw error;
    }
  }

  return {
    mode,
    orm,
    direct,
    appliedMigrations,
    initMs: performance.now() - started,
    inTenant: (tenantId, fn, transactionOptions) => {
      // A call made inside an open transaction of the same tenant joins it:
      // one connection per request (PGlite has only one), and a change made
      // under a unit of work commits or rolls back with it.
      const current = currentTransaction.getStore();
      if (current && current.tenantId === tenantId.toLowerCase()) return fn(current.tx);
      return runInTenant(orm, tenantId, (tx) => currentTransaction.run({ tenantId: tenantId.toLowerCase(), tx }, () => fn(tx)), transactionOptions);
    },
    asSystem: (fn, transactionOptions) => runAsSystem(orm, fn, transactionOptions),
    migrate,
    ping: (pingOptions) => pingDatabase(orm, pingOptions?.timeoutMs ?? 1000),
    close,
  };
}
