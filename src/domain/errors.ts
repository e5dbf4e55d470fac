import { ErrorReason } from "../../gen/gatehouse/v1/common_pb.js";

/**
 * Reason is every reason the server may give: the names of the proto enum
 * gatehouse.v1.ErrorReason without its `ERROR_REASON_` prefix. A reason that
 * is not in the enum (and so not documented there) does not compile; to add
 * one, add a documented value to ErrorReason in common.proto and regenerate.
 */
export type Reason = Exclude<keyof typeof ErrorReason, "UNSPECIFIED">;

/**
 * reasonCode answers the ErrorReason value of a reason word (`LOCKED` →
 * ErrorReason.LOCKED); UNSPECIFIED for the empty string or a word that is not
 * in the vocabulary (an audit row written before it existed).
 */
export function reasonCode(reason: string): ErrorReason {
  if (!isReason(reason)) return ErrorReason.UNSPECIFIED;
  return ErrorReason[reason];
}

/** isReason answers whether `word` is in the ErrorReason vocabulary. */
export function isReason(word: string): word is Reason {
  return word !== "UNSPECIFIED" && typeof (ErrorReason as unknown as Record<string, unknown>)[word] === "number";
}

/**
 * ErrorKind is the class of a domain failure; the error interceptor maps each
 * kind to one Connect code (docs/concepts.md). Domain code never imports Connect.
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
    /** reason is a stable word from the ErrorReason vocabulary that clients may branch on. */
    readonly reason: Reason,
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
export function permissionDenied(reason: Reason, message: string, facts: ErrorFacts = {}): DomainError {
  return new DomainError("permission_denied", reason, message, facts);
}

/** unavailable builds the UNAVAILABLE error for a dependency that is down. */
export function unavailable(what: string): DomainError {
  return new DomainError("unavailable", "UNAVAILABLE", `${what} is unavailable, try again`);
}
