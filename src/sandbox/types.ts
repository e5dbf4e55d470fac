/**
 * Public types of the macro sandbox: what a caller hands to a run, what it gets back, and the
 * host functions it provides. Nothing here depends on QuickJS or worker threads.
 */

/** HostModuleName is one of the modules a macro may import (subject to its policy's allowed imports). */
export type HostModuleName = "gatehouse:store" | "gatehouse:net" | "gatehouse:log";

/**
 * SandboxLimits are the effective policy limits of one run (docs/concepts.md). The pool clamps
 * `maxStackBytes` to what a worker thread's native stack can carry (1 MiB, `STACK_CEILING_BYTES`)
 * and `maxOutputBytes` to 16 MiB (`OUTPUT_CEILING_BYTES`).
 */
export interface SandboxLimits {
  /** timeoutMs is the wall-clock budget of the run, host calls included. */
  timeoutMs: number;
  /** memoryLimitBytes bounds how far the run may grow the QuickJS heap (a hard bound: see engine.ts). */
  memoryLimitBytes: number;
  /** maxStackBytes is QuickJS's stack limit; deeper recursion throws a catchable "stack overflow". */
  maxStackBytes: number;
  /** maxOutputBytes caps the UTF-8 bytes of all log lines (plus one byte each) and the JSON output together (at most 16 MiB). */
  maxOutputBytes: number;
  /**
   * maxHostCalls caps the store/net calls of one run; calls beyond it reject inside the macro with
   * an Error named "HostCallLimitExceeded" (uncaught: outcome "error"). At most 8 are served at a
   * time; the others wait in the worker.
   */
  maxHostCalls: number;
}

/** HostCallOptions accompany a host call; `signal` aborts when the run has ended (deadline, kill, close). */
export interface HostCallOptions {
  signal: AbortSignal;
}

/**
 * HostCall serves the macro's `gatehouse:store` and `gatehouse:net` calls. It runs on the main
 * thread with JSON arguments and returns a JSON-serializable value. Throw `HostDenied(reason)` to
 * refuse (the macro sees an error named "HostDenied"; if it escapes, the outcome is "denied") or
 * `HostError(message)` for a failure the macro may see; any other error reaches the macro as
 * "HostError: internal error" and is logged, never shown. `gatehouse:log` is served inside the
 * worker and never reaches this function.
 */
export type HostCall = (
  module: HostModuleName,
  fn: string,
  args: unknown[],
  options: HostCallOptions,
) => Promise<unknown>;

/** RunRequest is one execution of a macro. */
export interface RunRequest {
  /** code is an ES module whose `export default function` (may be async) is called. */
  code: string;
  /** input is JSON, passed as the first argument. */
  input: unknown;
  /** ctx is JSON, passed as the second argument. */
  ctx: unknown;
  limits: SandboxLimits;
  /** allowedImports lists the `gatehouse:*` modules the macro may import; any other import fails. */
  allowedImports: readonly string[];
  hostCall: HostCall;
  /** signal aborts the run (the worker is terminated and replaced); `run` then rejects with its reason. */
  signal?: AbortSignal;
}

/** RunOutcome says how the macro ended; every value but "ok" is the macro's failure, not the caller's. */
export type RunOutcome = "ok" | "error" | "timeout" | "memory_limit" | "output_limit" | "denied";

/** RunResult is the answer of one run. */
export interface RunResult {
  outcome: RunOutcome;
  /** output is the default export's (awaited) return value as JSON; absent when it returned undefined or failed. */
  output?: unknown;
  /** logs are the `gatehouse:log` lines, in order, within the output cap. */
  logs: string[];
  /** errorMessage explains every outcome but "ok" (for "denied": the host's reason). */
  errorMessage?: string;
  /** durationMs is the time from dispatch to a worker until the answer (queueing excluded). */
  durationMs: number;
  /**
   * memoryUsedBytes is QuickJS's estimate of the memory the run still holds at its end (globals,
   * the output; not garbage already freed), or the heap's growth when memory ran out.
   */
  memoryUsedBytes: number;
  /** hostCalls counts the store/net calls handed to `hostCall`. */
  hostCalls: number;
}

/** SandboxPoolStats is a snapshot of a pool, for metrics and tests. */
export interface SandboxPoolStats {
  /** size is the configured number of workers. */
  size: number;
  /** idle, busy and starting count the live workers by state. */
  idle: number;
  busy: number;
  starting: number;
  /** queued counts runs waiting for a worker. */
  queued: number;
  /** runs counts answered runs by outcome. */
  runs: Record<RunOutcome, number>;
  /** recycled counts workers replaced because their heap grew, their engine was tainted or they reached their run quota. */
  recycled: number;
  /** killed counts workers terminated by the parent: a run past its deadline plus grace, or an abort. */
  killed: number;
  /** crashed counts workers that died on their own (worker heap exhausted, internal failure). */
  crashed: number;
  /** spawnFailures counts workers that failed to start. */
  spawnFailures: number;
}

/** SandboxPool runs macros on worker threads, never on the caller's event loop. */
export interface SandboxPool {
  /**
   * run executes one macro and answers with its outcome. It rejects only when the request itself
   * is invalid (TypeError), the queue is full (SandboxBusyError), the pool is closed or unable to
   * start workers (SandboxUnavailableError), or `signal` aborted (its reason).
   */
  run(req: RunRequest): Promise<RunResult>;
  stats(): SandboxPoolStats;
  /** close refuses new runs, rejects queued ones, lets running ones finish (bounded by their deadlines) and stops the workers. */
  close(): Promise<void>;
}
