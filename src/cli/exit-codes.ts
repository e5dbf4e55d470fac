import { Code, ConnectError } from "@gatehouse/client/node";

/**
 * ExitCode is what the `gatehouse` command exits with; docs/cli.md lists the
 * same table. Scripts can branch on it without parsing text.
 */
export const ExitCode = {
  /** ok: the command did what it was asked. */
  ok: 0,
  /** failure: anything not covered below (an internal error, an unexpected answer). */
  failure: 1,
  /** usage: bad flags or arguments, or no server URL configured. */
  usage: 2,
  /** unauthenticated: not logged in, or the token expired or was revoked (log in again). */
  unauthenticated: 3,
  /** denied: PERMISSION_DENIED (missing permission, room role, level; a rule denied it). */
  denied: 4,
  /** notFound: NOT_FOUND (no such room, macro, user, rule…). */
  notFound: 5,
  /** invalid: the server refused the input (INVALID_ARGUMENT, OUT_OF_RANGE), or `macros validate` found violations. */
  invalid: 6,
  /** conflict: ALREADY_EXISTS, ABORTED (VERSION_CONFLICT), FAILED_PRECONDITION (LOCKED, LOCK_REQUIRED…). */
  conflict: 7,
  /** unavailable: the server could not be reached or answered UNAVAILABLE, RESOURCE_EXHAUSTED or DEADLINE_EXCEEDED: try later. */
  unavailable: 8,
  /** checkFailed: the call worked but the answer is a failure: `audit verify` found a broken chain, `macros run` ended other than OK. */
  checkFailed: 9,
} as const;

/** exitCodeOf maps a failed call to its exit code. */
export function exitCodeOf(error: unknown): number {
  const code = ConnectError.from(error).code;
  switch (code) {
    case Code.Unauthenticated:
      return ExitCode.unauthenticated;
    case Code.PermissionDenied:
      return ExitCode.denied;
    case Code.NotFound:
      return ExitCode.notFound;
    case Code.InvalidArgument:
    case Code.OutOfRange:
      return ExitCode.invalid;
    case Code.AlreadyExists:
    case Code.Aborted:
    case Code.FailedPrecondition:
      return ExitCode.conflict;
    case Code.Unavailable:
    case Code.ResourceExhausted:
    case Code.DeadlineExceeded:
      return ExitCode.unavailable;
    default:
      return ExitCode.failure;
  }
}
