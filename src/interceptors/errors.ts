import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import { durationFromMs, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ErrorDetailSchema, LockHolderSchema, ViolationSchema, type ErrorDetail } from "../../gen/gatehouse/v1/common_pb.js";
import { DomainError, reasonCode, type ErrorKind, type Reason } from "../domain/errors.js";
import { StoreError } from "../store/errors.js";

const codeOfKind: Record<ErrorKind, Code> = {
  unauthenticated: Code.Unauthenticated,
  permission_denied: Code.PermissionDenied,
  not_found: Code.NotFound,
  invalid_argument: Code.InvalidArgument,
  failed_precondition: Code.FailedPrecondition,
  resource_exhausted: Code.ResourceExhausted,
  aborted: Code.Aborted,
  already_exists: Code.AlreadyExists,
  unavailable: Code.Unavailable,
  unimplemented: Code.Unimplemented,
};

const reasonOfCodes: Record<Code, Reason> = {
  [Code.Canceled]: "CANCELED",
  [Code.Unknown]: "UNKNOWN",
  [Code.InvalidArgument]: "INVALID_ARGUMENT",
  [Code.DeadlineExceeded]: "DEADLINE_EXCEEDED",
  [Code.NotFound]: "NOT_FOUND",
  [Code.AlreadyExists]: "ALREADY_EXISTS",
  [Code.PermissionDenied]: "PERMISSION_DENIED",
  [Code.ResourceExhausted]: "RESOURCE_EXHAUSTED",
  [Code.FailedPrecondition]: "FAILED_PRECONDITION",
  [Code.Aborted]: "ABORTED",
  [Code.OutOfRange]: "OUT_OF_RANGE",
  [Code.Unimplemented]: "UNIMPLEMENTED",
  [Code.Internal]: "INTERNAL",
  [Code.Unavailable]: "UNAVAILABLE",
  [Code.DataLoss]: "DATA_LOSS",
  [Code.Unauthenticated]: "UNAUTHENTICATED",
};

/** reasonOfCode is the generic reason of a Connect code, for errors that carry none of ours. */
export function reasonOfCode(code: Code): Reason {
  return reasonOfCodes[code] ?? "UNKNOWN";
}

/** errorDetail builds our ErrorDetail for a reason: `reason` and `reason_code` always agree. */
export function errorDetail(reason: Reason, message: string): ErrorDetail {
  return create(ErrorDetailSchema, { reason, reasonCode: reasonCode(reason), message });
}

/**
 * toConnectError turns anything thrown by a handler or interceptor into a
 * ConnectError carrying one gatehouse.v1.ErrorDetail. Domain errors keep
 * their message and facts; anything else becomes a bare "internal error"
 * with the original kept only as `cause` (for the log, never the client).
 * Given the call's signal, a failure that would be internal while the call
 * was aborted is what aborted it: CANCELED (reason CANCELED) when the client
 * cancelled or went away, DEADLINE_EXCEEDED when its deadline passed.
 */
export function toConnectError(err: unknown, signal?: AbortSignal): ConnectError {
  const mapped = mapError(err);
  if (signal?.aborted && mapped.code === Code.Internal) return abortedCall(signal.reason, err);
  return mapped;
}

/** abortedCall is the answer of a call whose signal fired: its deadline passed, or the client left. */
function abortedCall(reason: unknown, cause: unknown): ConnectError {
  const deadline = reason instanceof ConnectError && reason.code === Code.DeadlineExceeded;
  const code = deadline ? Code.DeadlineExceeded : Code.Canceled;
  const message = deadline ? "the call's deadline passed" : "the client cancelled the call";
  return new ConnectError(message, code, undefined, [
    { desc: ErrorDetailSchema, value: errorDetail(reasonOfCode(code), message) },
  ], cause);
}

function mapError(err: unknown): ConnectError {
  if (err instanceof StoreError) return mapError(domainErrorOfStore(err));
  if (err instanceof DomainError) {
    const facts = err.facts;
    const detail = create(ErrorDetailSchema, {
      reason: err.reason,
      reasonCode: reasonCode(err.reason),
      message: err.message,
      field: facts.field ?? "",
      attemptedValue: facts.attemptedValue ?? "",
      parentValue: facts.parentValue ?? "",
      layer: facts.layer ?? "",
      ruleIds: facts.ruleIds ?? [],
      permission: facts.permission ?? "",
      limit: facts.limit ?? 0,
      violations: (facts.violations ?? []).map((v) =>
        create(ViolationSchema, { line: v.line, column: v.column, message: v.message, file: v.file ?? "", rule: v.rule ?? "" }),
      ),
    });
    const metadata = new Headers();
    if (facts.retryAfterSeconds !== undefined) {
      const seconds = Math.max(1, Math.ceil(facts.retryAfterSeconds));
      detail.retryAfter = durationFromMs(seconds * 1000);
      metadata.set("retry-after", String(seconds));
    }
    if (facts.holder) {
      detail.holder = create(LockHolderSchema, {
        holderId: facts.holder.holderId,
        holderName: facts.holder.holderName,
        expiresAt: timestampFromDate(facts.holder.expiresAt),
      });
    }
    return new ConnectError(err.message, codeOfKind[err.kind], metadata, [{ desc: ErrorDetailSchema, value: detail }], err);
  }
  if (err instanceof ConnectError) {
    if (err.code === Code.Internal || err.code === Code.Unknown) {
      return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
    }
    if (err.findDetails(ErrorDetailSchema).length > 0) return err;
    const reason: Reason = err.code === Code.ResourceExhausted && /read limit|max/i.test(err.rawMessage) ? "MESSAGE_TOO_LARGE" : reasonOfCode(err.code);
    return new ConnectError(err.rawMessage, err.code, err.metadata, [
      { desc: ErrorDetailSchema, value: errorDetail(reason, err.rawMessage) },
    ], err.cause ?? err);
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}

/**
 * createErrorInterceptor maps every failure below it to a ConnectError with
 * our ErrorDetail. Streams are mapped when they fail to start; a failure
 * mid-stream is mapped by the handler's own iterator.
 */
export function createErrorInterceptor(): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      throw toConnectError(err, req.signal);
    }
  };
}

/** domainErrorOfStore gives a database condition a safe, generic message. */
function domainErrorOfStore(err: StoreError): DomainError {
  switch (err.kind) {
    case "already_exists":
      return new DomainError("already_exists", "ALREADY_EXISTS", "already exists");
    case "foreign_key":
      return new DomainError("invalid_argument", "INVALID_ARGUMENT", "refers to something that does not exist");
    case "invalid_data":
      return new DomainError("invalid_argument", "INVALID_ARGUMENT", err.message);
    case "not_found":
    case "tenant_isolation":
      return new DomainError("not_found", "NOT_FOUND", "not found");
    case "conflict":
      return new DomainError("aborted", "CONFLICT", "concurrent change, retry");
    case "unavailable":
      return new DomainError("unavailable", "UNAVAILABLE", "database unavailable, try again");
  }
}
