/**
 * Domain errors of the persistence layer, and the one place that classifies
 * driver errors (pg, PGlite, knex, MikroORM) into them.
 *
 * These are plain classes with no transport imports: the error interceptor maps
 * them to `ConnectError` codes (AlreadyExists → ALREADY_EXISTS, Unavailable →
 * UNAVAILABLE, ...). Messages never carry SQL or values, only the constraint name.
 */

import { errorChain } from "../domain/error-chain.js";

/**
 * StoreErrorKind names each domain error class, for switch statements that
 * prefer a string to `instanceof`.
 */
export type StoreErrorKind =
  | "already_exists"
  | "foreign_key"
  | "invalid_data"
  | "not_found"
  | "conflict"
  | "tenant_isolation"
  | "unavailable";

/** StoreErrorOptions are the optional facts an error may carry. */
export interface StoreErrorOptions {
  /** cause is the original driver error, kept for logs only. */
  cause?: unknown;
  /** constraint is the violated constraint's name, when Postgres reports one. */
  constraint?: string;
  /** sqlState is the Postgres SQLSTATE or the Node.js error code, when known. */
  sqlState?: string;
}

/**
 * StoreError is the base class of every error this layer throws on purpose.
 */
export abstract class StoreError extends Error {
  /** kind identifies the concrete class. */
  abstract readonly kind: StoreErrorKind;
  /** constraint is the violated constraint's name, if any. */
  readonly constraint: string | undefined;
  /** sqlState is the Postgres SQLSTATE or Node.js error code, if any. */
  readonly sqlState: string | undefined;

  constructor(message: string, options: StoreErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.constraint = options.constraint;
    this.sqlState = options.sqlState;
  }
}

/** AlreadyExistsError is a unique-constraint violation (SQLSTATE 23505). */
export class AlreadyExistsError extends StoreError {
  readonly kind = "already_exists" as const;
}

/**
 * ForeignKeyError is a foreign-key violation (SQLSTATE 23503): a referenced row is
 * missing (usually another tenant's id, so callers answer NOT_FOUND) or a row is
 * still referenced.
 */
export class ForeignKeyError extends StoreError {
  readonly kind = "foreign_key" as const;
}

/**
 * InvalidDataError is a value the database refused: check or not-null constraint,
 * malformed uuid, out-of-range number (SQLSTATE 23502, 23514, class 22).
 */
export class InvalidDataError extends StoreError {
  readonly kind = "invalid_data" as const;
}

/** NotFoundError is a row that a repository function required and did not find. */
export class NotFoundError extends StoreError {
  readonly kind = "not_found" as const;
}

/**
 * ConflictError is a serialization failure or deadlock (SQLSTATE 40001, 40P01):
 * the transaction may be retried.
 */
export class ConflictError extends StoreError {
  readonly kind = "conflict" as const;
}

/**
 * TenantIsolationError is a write refused by row-level security or a privilege
 * check (SQLSTATE 42501): code tried to touch another tenant's rows. Callers
 * should answer NOT_FOUND, never reveal that the row exists.
 */
export class TenantIsolationError extends StoreError {
  readonly kind = "tenant_isolation" as const;
}

/**
 * UnavailableError is a lost or refused database connection, a server shutting
 * down, or a pool that could not hand out a connection in time.
 */
export class UnavailableError extends StoreError {
  readonly kind = "unavailable" as const;
}

/** Node.js socket error codes that mean "the database is unreachable". */
const networkCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
]);

/** SQLSTATEs (besides class 08) that mean "the server went away or is refusing us". */
const unavailableStates = new Set([
  "57P01", // admin_shutdown (also pg_terminate_backend)
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now (starting up, recovering)
  "57P05", // idle_session_timeout
  "53300", // too_many_connections
  "53000", // insufficient_resources
  "25P03", // idle_in_transaction_session_timeout
  "3D000", // invalid_catalog_name: the database is gone
  "28000", // invalid_authorization_specification
  "28P01", // invalid_password
]);

/** Message fragments of connection failures that carry no code (pg, knex, PGlite). */
const unavailableMessages = [
  /connection terminated/i,
  /connection ended unexpectedly/i,
  /timeout acquiring a connection/i,
  /client has encountered a connection error/i,
  /client was closed and is not queryable/i,
  /connection is closed/i,
  /pglite is closed/i,
  /server closed the connection unexpectedly/i,
  /cannot use a pool after calling end/i,
  /is not currently accepting connections/i,
];

/** APPEND_ONLY_SQLSTATE is raised by the audit table's append-only trigger (migrations/0001-init.ts). */
export const APPEND_ONLY_SQLSTATE = "GH001";

/**
 * classifyDriverError turns a driver error into a StoreError, or answers
 * undefined when the error is not a recognised database condition (a bug: the
 * caller should treat it as internal). Already-classified errors pass through.
 * The cause chain is followed, so errors wrapped by MikroORM or by our own code
 * are recognised too.
 */
export function classifyDriverError(error: unknown): StoreError | undefined {
  for (const current of errorChain(error)) {
    if (current instanceof StoreError) {
      return current;
    }
    const classified = classifyOne(current, error);
    if (classified) {
      return classified;
    }
  }
  return undefined;
}

/**
 * mapDriverError is classifyDriverError for `catch` blocks: it answers the
 * StoreError, or the original error when there is none.
 */
export function mapDriverError(error: unknown): unknown {
  return classifyDriverError(error) ?? error;
}

/** isUnavailableError says whether an error means the database is unreachable. */
export function isUnavailableError(error: unknown): boolean {
  return classifyDriverError(error) instanceof UnavailableError;
}

/** SQLSTATEs and socket codes of a connection that was open and then died. */
const brokenConnectionCodes = new Set(["57P01", "57P02", "08003", "08006", "ECONNRESET", "EPIPE"]);
const brokenConnectionMessages = [
  /connection terminated/i,
  /connection ended unexpectedly/i,
  /client has encountered a connection error/i,
  /server closed the connection unexpectedly/i,
];

/**
 * isBrokenConnectionError says whether an error came from a pooled connection
 * that had died (backend terminated, server restarted, socket reset), as opposed
 * to a database that refuses new connections. The pool drops such a connection,
 * so work that had not started yet may be retried at once on another.
 */
export function isBrokenConnectionError(error: unknown): boolean {
  for (const current of errorChain(error)) {
    const code = (current as Error & DriverErrorFields).code;
    if (typeof code === "string" && brokenConnectionCodes.has(code)) return true;
    if (brokenConnectionMessages.some((re) => re.test(current.message))) return true;
  }
  return false;
}

interface DriverErrorFields {
  code?: unknown;
  constraint?: unknown;
  name?: unknown;
}

function classifyOne(current: Error, original: unknown): StoreError | undefined {
  const fields = current as Error & DriverErrorFields;
  const code = typeof fields.code === "string" ? fields.code : undefined;
  const constraint = typeof fields.constraint === "string" ? fields.constraint : undefined;
  const options: StoreErrorOptions = { cause: original, constraint, sqlState: code };
  const what = constraint ? ` (${constraint})` : "";
  if (code !== undefined) {
    if (code === "23505") return new AlreadyExistsError(`already exists${what}`, options);
    if (code === "23503") return new ForeignKeyError(`referenced row missing or still referenced${what}`, options);
    if (code === "23502" || code === "23514" || code.startsWith("22")) {
      return new InvalidDataError(`invalid value${what}`, options);
    }
    if (code === "40001" || code === "40P01") return new ConflictError("transaction conflict, retry", options);
    if (code === "42501") return new TenantIsolationError("row not accessible in this tenant", options);
    if (code.startsWith("08") || unavailableStates.has(code) || networkCodes.has(code)) {
      return new UnavailableError("database unavailable", options);
    }
  }
  if (fields.name === "KnexTimeoutError" || unavailableMessages.some((re) => re.test(current.message))) {
    return new UnavailableError("database unavailable", options);
  }
  if (current instanceof AggregateError) {
    // net.connect to "localhost" tries ::1 and 127.0.0.1 and reports both refusals together.
    for (const inner of current.errors) {
      if (inner instanceof Error) {
        const classified = classifyOne(inner, original);
        if (classified instanceof UnavailableError) return classified;
      }
    }
  }
  return undefined;
}
