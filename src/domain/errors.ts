/**
 * ErrorKind is the class of a domain failure; the error interceptor maps each
 * kind to one Connect code (DESIGN.md §3). Domain code never imports Connect.
 */
export type ErrorKind =
  | "unauthenticated"
  | "permission_denied"
  | "not_found"
  | "invalid_argument"
  | "failed_precondition"
  | "resource_exhausted"
  | "aborted"
  | "already_exists"
  | "unavailable"
  | "unimplemented";

/** ErrorFacts are the structured facts carried to the client's ErrorDetail. */
export interface ErrorFacts {
  retryAfterSeconds?: number;
  holder?: { holderId: string; holderName: string; expiresAt: Date };
  field?: string;
  attemptedValue?: string;
  parentValue?: string;
  layer?: string;
  ruleIds?: string[];
  permission?: string;
  violations?: Array<{ line: number; column: number; message: string; file?: string; rule?: string }>;
  /** limit is the bound a refused quota reached (LOCK_QUOTA). */
  limit?: number;
}

/**
 * DomainError is a failure the caller caused or may act on: its message and
 * facts are safe to show. Anything else thrown is an internal error and is
 * never shown.
 */
export class DomainError extends Error {
  constructor(
    readonly kind: ErrorKind,
    /** reason is a stable UPPER_SNAKE_CASE word clients may branch on. */
    readonly reason: string,
    message: string,
    readonly facts: ErrorFacts = {},
  ) {
    super(message);
    this.name = "DomainError";
  }
}

/** notFound builds the NOT_FOUND error used for missing and other tenants' rows alike. */
export function notFound(what: string): DomainError {
  return new DomainError("not_found", "NOT_FOUND", `${what} not found`);
}

/** invalidArgument builds an INVALID_ARGUMENT error naming the field. */
export function invalidArgument(field: string, message: string, attemptedValue?: string): DomainError {
  return new DomainError("invalid_argument", "INVALID_ARGUMENT", `${field}: ${message}`, { field, attemptedValue });
}

/** permissionDenied builds a PERMISSION_DENIED error with its reason. */
export function permissionDenied(reason: string, message: string, facts: ErrorFacts = {}): DomainError {
  return new DomainError("permission_denied", reason, message, facts);
}

/** unavailable builds the UNAVAILABLE error for a dependency that is down. */
export function unavailable(what: string): DomainError {
  return new DomainError("unavailable", "UNAVAILABLE", `${what} is unavailable, try again`);
}
