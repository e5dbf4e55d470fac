import type { DescMethod } from "@bufbuild/protobuf";
import { MethodOptions_IdempotencyLevel } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import { errorDetailOf } from "./error-detail.js";
import { isRefusedStream } from "./refused-stream.js";

/** RetryOptions configure createRetryInterceptor; every field has a default. */
export interface RetryOptions {
  /** maxAttempts counts the first try too (default 4). 1 means no retry. */
  maxAttempts?: number;
  /** initialBackoffMs is the first wait without a retry_after (default 100); it doubles per attempt, with jitter. */
  initialBackoffMs?: number;
  /** maxBackoffMs caps a wait without a retry_after (default 5000). */
  maxBackoffMs?: number;
  /** maxRetryAfterMs: a server asking to wait longer than this fails the call at once instead (default 30000). */
  maxRetryAfterMs?: number;
  /** onRetry is told about each retry before its wait (for logs). */
  onRetry?: (retry: RetryEvent) => void;
}

/** RetryEvent describes one retry: which method, after which error, the attempt about to be made and the wait before it. */
export interface RetryEvent {
  method: DescMethod;
  error: ConnectError;
  /** attempt is the number of the attempt about to be made (2 for the first retry). */
  attempt: number;
  delayMs: number;
}

/** isReadOnly tells whether a method declares no side effects (or idempotency) in its proto, so a repeat is harmless. */
function isReadOnly(method: DescMethod): boolean {
  return method.idempotency === MethodOptions_IdempotencyLevel.NO_SIDE_EFFECTS || method.idempotency === MethodOptions_IdempotencyLevel.IDEMPOTENT;
}

/**
 * isRetryable tells whether a failed call may be tried again. A call the
 * server refused unprocessed (HTTP/2 REFUSED_STREAM) always may; otherwise
 * only a read-only method (NO_SIDE_EFFECTS or IDEMPOTENT in the proto), and
 * only after UNAVAILABLE or RESOURCE_EXHAUSTED with reason RATE_LIMITED. A call
 * that changes something is never repeated on a failure that may have
 * happened after the server acted.
 */
export function isRetryable(error: unknown, method: DescMethod): boolean {
  if (isRefusedStream(error)) return true;
  if (!isReadOnly(method)) return false;
  const e = ConnectError.from(error);
  if (e.code === Code.Unavailable) return true;
  return e.code === Code.ResourceExhausted && errorDetailOf(e)?.reason === "RATE_LIMITED";
}

/** retryDelayMs answers how long to wait before an attempt: the server's retry_after if it gave one, else exponential backoff with jitter. */
export function retryDelayMs(error: ConnectError, attempt: number, options: Required<Omit<RetryOptions, "onRetry">>): number | undefined {
  const after = errorDetailOf(error)?.retryAfter;
  if (after) {
    const ms = Number(after.seconds) * 1000 + Math.ceil(after.nanos / 1e6);
    return ms > options.maxRetryAfterMs ? undefined : ms;
  }
  const ceiling = Math.min(options.maxBackoffMs, options.initialBackoffMs * 2 ** (attempt - 2));
  return Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(ConnectError.from(signal.reason ?? new Error("aborted"), Code.Canceled));
    const done = () => {
      clearTimeout(timer);
      reject(ConnectError.from(signal.reason ?? new Error("aborted"), Code.Canceled));
    };
    const timer = setTimeout(() => {
      signal.removeEventListener("abort", done);
      resolve();
    }, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

/**
 * createRetryInterceptor retries unary calls as isRetryable allows, up to
 * maxAttempts, waiting the server's retry_after or a backoff between tries.
 * The call's deadline and signal cover all its attempts. Streams are not
 * retried.
 */
export function createRetryInterceptor(options: RetryOptions = {}): Interceptor {
  const o = {
    maxAttempts: options.maxAttempts ?? 4,
    initialBackoffMs: options.initialBackoffMs ?? 100,
    maxBackoffMs: options.maxBackoffMs ?? 5000,
    maxRetryAfterMs: options.maxRetryAfterMs ?? 30_000,
  };
  return (next) => async (req) => {
    if (req.stream) return next(req);
    for (let attempt = 1; ; attempt++) {
      try {
        return await next(req);
      } catch (error) {
        if (attempt >= o.maxAttempts || req.signal.aborted || !isRetryable(error, req.method)) throw error;
        const e = ConnectError.from(error);
        const delayMs = retryDelayMs(e, attempt + 1, o);
        if (delayMs === undefined) throw error;
        options.onRetry?.({ method: req.method, error: e, attempt: attempt + 1, delayMs });
        await sleep(delayMs, req.signal);
      }
    }
  };
}
