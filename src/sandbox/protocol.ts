import type { HostModuleName, RunOutcome, SandboxLimits } from "./types.js";

/**
 * Messages between the pool (main thread) and a sandbox worker. Values cross as JSON strings so
 * that nothing but plain data ever reaches either side.
 */

/** WorkerOptions are a worker's `workerData`: fixed for its life. */
export interface WorkerOptions {
  /** maxHeapBytes is the `maximum` of the worker's WebAssembly.Memory (whole pages). */
  maxHeapBytes: number;
  /** maxHostPayloadBytes caps the JSON of a host call's arguments. */
  maxHostPayloadBytes: number;
  /** nice is the worker thread's nice value (0–19; Linux gives each thread its own). */
  nice: number;
  /** eventLoopPressure is the main thread's shared busy word; runs give way while it says busy. */
  eventLoopPressure?: SharedArrayBuffer;
}

/** RunJob is everything a worker needs for one run. */
export interface RunJob {
  runId: number;
  code: string;
  inputJson: string;
  ctxJson: string;
  limits: SandboxLimits;
  allowedImports: string[];
}

/** HostReply answers one host call. */
export type HostReply =
  | { ok: true; json: string | undefined }
  | { ok: false; kind: "denied" | "error" | "limit"; message: string };

/** EngineResult is a run's answer as the worker sees it. */
export interface EngineResult {
  outcome: RunOutcome;
  outputJson?: string;
  logs: string[];
  errorMessage?: string;
  memoryUsedBytes: number;
  hostCalls: number;
  /** heapBytes is the size of the worker's WebAssembly memory after the run. */
  heapBytes: number;
  /** tainted says the engine may be inconsistent (out of memory, native stack overflow, abort): replace the worker. */
  tainted: boolean;
}

/** ToWorker is a message from the pool to a worker. */
export type ToWorker =
  | { type: "run"; job: RunJob }
  | { type: "hostReply"; runId: number; callId: number; reply: HostReply };

/** FromWorker is a message from a worker to the pool. */
export type FromWorker =
  | { type: "ready"; heapBytes: number }
  | { type: "hostCall"; runId: number; callId: number; module: HostModuleName; fn: string; argsJson: string }
  | { type: "done"; runId: number; result: EngineResult };
