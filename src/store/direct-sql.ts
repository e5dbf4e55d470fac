import pg from "pg";
import { isBrokenConnectionError, mapDriverError } from "./errors.js";
import { APP_ROLE, TENANT_SETTING, normalizeUuid } from "./tenant-scope.js";

/** DirectQuery is one statement; a `name` makes it a prepared statement, parsed once per connection. */
export interface DirectQuery {
  name?: string;
  text: string;
  values?: unknown[];
}

/** DirectSql runs statements on one connection inside one transaction. */
export interface DirectSql {
  query<Row>(query: DirectQuery): Promise<Row[]>;
}

/**
 * DirectPool runs hot-path writes on plain `pg` connections, beside the ORM's
 * pool: no entity manager, query builder or unit of work per statement, and
 * prepared statements. The same role switch and tenant setting as
 * Database.inTenant, so row-level security applies exactly as there.
 */
export interface DirectPool {
  /** inTenant runs fn in one transaction as `gatehouse_app` scoped to tenantId; commits when it resolves. */
  inTenant<T>(tenantId: string, fn: (sql: DirectSql) => Promise<T>): Promise<T>;
  /**
   * script runs statements (values already inlined as literals, see sqlLiteral)
   * in one round trip and one implicit transaction, scoped like inTenant, and
   * answers the row count of each. Never retried: once sent, it may have committed.
   */
  script(tenantId: string, statements: readonly string[]): Promise<number[]>;
  close(): Promise<void>;
}

/**
 * sqlLiteral writes a value as an SQL literal for DirectPool.script: null,
 * a finite number, or text quoted by pg's escapeLiteral, with an optional cast.
 */
export function sqlLiteral(value: string | number | null, cast?: string): string {
  const suffix = cast ? `::${cast}` : "";
  if (value === null) return `null${suffix}`;
  if (typeof value === "number") {
    if (!Number.isFinite(value)) throw new Error("sqlLiteral: not a finite number");
    return `${value}${suffix}`;
  }
  return `${pg.escapeLiteral(value)}${suffix}`;
}

/** DirectPoolOptions size and bound the pool. */
export interface DirectPoolOptions {
  max?: number;
  connectTimeoutMs?: number;
}

/**
 * createDirectPool opens (lazily) a small pool on `url`. Errors come out as
 * StoreErrors like the ORM path's; a transaction whose connection died before
 * its work began is retried on a fresh connection, never one that may have
 * committed.
 */
export function createDirectPool(url: string, options: DirectPoolOptions = {}): DirectPool {
  const max = options.max ?? 2;
  const pool = new pg.Pool({ connectionString: url, max, connectionTimeoutMillis: options.connectTimeoutMs ?? 5000, keepAlive: true });
  // A connection that dies emits "error": on the pool while idle (the pool then
  // drops it), on the client itself while checked out. Either, unheard, would
  // crash the process; the work that used it fails through its query instead.
  pool.on("error", () => undefined);
  pool.on("connect", (client) => client.on("error", () => undefined));

  const attempt = async <T>(tenant: string, fn: (sql: DirectSql) => Promise<T>): Promise<{ value: T } | { retry: unknown }> => {
    const client = await pool.connect();
    let begun = false;
    try {
      // One round trip; the tenant id is a validated uuid.
      await client.query(`begin; set local role ${APP_ROLE}; select set_config('${TENANT_SETTING}', '${tenant}', true)`);
      begun = true;
      const value = await fn({ query: async <Row>(q: DirectQuery) => (await client.query(q)).rows as Row[] });
      await client.query("commit");
      client.release();
      return { value };
    } catch (error) {
      const broken = isBrokenConnectionError(error);
      if (!broken) await client.query("rollback").catch(() => undefined);
      client.release(broken ? (error as Error) : undefined);
      if (!begun && broken) return { retry: error };
      throw error;
    }
  };

  return {
    async inTenant(tenantId, fn) {
      const tenant = normalizeUuid(tenantId, "tenant_id");
      let last: unknown;
      for (let i = 0; i <= max; i++) {
        let outcome;
        try {
          outcome = await attempt(tenant, fn);
        } catch (error) {
          throw mapDriverError(error);
        }
        if ("value" in outcome) return outcome.value;
        last = outcome.retry;
      }
      throw mapDriverError(last);
    },
    async script(tenantId, statements) {
      const tenant = normalizeUuid(tenantId, "tenant_id");
      let client: pg.PoolClient | undefined;
      try {
        client = await pool.connect();
        // A multi-statement simple query is one implicit transaction: all of it commits or none.
        const text = [`set local role ${APP_ROLE}`, `select set_config('${TENANT_SETTING}', '${tenant}', true)`, ...statements].join(";\n");
        const results = (await client.query(text)) as unknown as pg.QueryResult[];
        client.release();
        return results.slice(2).map((r) => r.rowCount ?? 0);
      } catch (error) {
        client?.release(isBrokenConnectionError(error) ? (error as Error) : undefined);
        throw mapDriverError(error);
      }
    },
    async close() {
      await pool.end().catch(() => undefined);
    },
  };
}
