import { availableParallelism } from "node:os";
import type { ResourceLimits } from "node:worker_threads";
import { INITIAL_HEAP_BYTES } from "./engine.js";
import { SandboxBusyError, SandboxUnavailableError } from "./errors.js";
import { watchEventLoopPressure, type EventLoopPressureOptions } from "./event-loop-pressure.js";
import { isHostModuleName } from "./host-modules.js";
import { normalizeLimits, roundUpToPages, SANDBOX_WORKER_NICE } from "./limits.js";
import { silentLogger, type SandboxLogger } from "./logger.js";
import type { RunJob } from "./protocol.js";
import type { HostCall, RunOutcome, RunRequest, RunResult, SandboxPool, SandboxPoolStats } from "./types.js";
import { WorkerHandle } from "./worker-handle.js";

/** SandboxPoolOptions configure a pool; every field has a default. */
export interface SandboxPoolOptions {
  /** size is the number of worker threads (default: the number of cores, at least 2). */
  size?: number;
  /**
   * maxWorkerHeapBytes is the fixed `maximum` of each worker's WebAssembly memory (default
   * 256 MiB): the absolute bound of a worker's QuickJS heap. A run's own bound is its memory
   * limit plus 8 MiB above the heap's base of 16 MiB, so this must exceed the largest memory
   * limit any policy allows by 24 MiB; larger limits are cut to it.
   */
  maxWorkerHeapBytes?: number;
  /** graceMs is how long past its deadline a run may take before its worker is terminated (default 150). */
  graceMs?: number;
  /** maxQueue is how many runs may wait for a worker before `run` rejects with SandboxBusyError (default 16 × size). */
  maxQueue?: number;
  /** recycleHeapBytes: a worker whose heap ends a run above this is replaced, returning the memory (default 48 MiB). */
  recycleHeapBytes?: number;
  /** maxRunsPerWorker: a worker is replaced after this many runs (default 10,000). */
  maxRunsPerWorker?: number;
  /** maxHostPayloadBytes caps the JSON of a host call's arguments and of its result (default 1 MiB). */
  maxHostPayloadBytes?: number;
  /** workerResourceLimits bound each thread's own V8 heap and stack (default: `WORKER_RESOURCE_LIMITS`). */
  workerResourceLimits?: ResourceLimits;
  /** workerNice is the worker threads' nice value (default SANDBOX_WORKER_NICE). */
  workerNice?: number;
  /**
   * eventLoopPressure: while this thread's event loop is busy, runs that have gone on for a
   * while pause between their steps (see event-loop-pressure.ts); `false` turns that off.
   */
  eventLoopPressure?: EventLoopPressureOptions | false;
  logger?: SandboxLogger;
}

interface Queued {
  job: RunJob;
  hostCall: HostCall;
  signal: AbortSignal | undefined;
  resolve: (result: RunResult) => void;
  reject: (reason: unknown) => void;
  onAbort: () => void;
}

const MIB = 1024 * 1024;
const MAX_RESPAWN_DELAY_MS = 30_000;

/**
 * createSandboxPool starts a pool of sandbox worker threads (each loads QuickJS once) and answers
 * runs on them, queueing when all are busy. A worker is replaced when it dies, is terminated
 * past a deadline or on abort, or when its heap grew (WebAssembly memory never shrinks).
 */
export function createSandboxPool(options: SandboxPoolOptions = {}): SandboxPool {
  const size = Math.max(1, Math.floor(options.size ?? Math.max(2, availableParallelism())));
  const maxHeapBytes = Math.max(INITIAL_HEAP_BYTES + 16 * MIB, roundUpToPages(options.maxWorkerHeapBytes ?? 256 * MIB));
  const graceMs = options.graceMs ?? 150;
  const maxQueue = options.maxQueue ?? 16 * size;
  const recycleHeapBytes = options.recycleHeapBytes ?? 48 * MIB;
  const maxRuns = options.maxRunsPerWorker ?? 10_000;
  const maxHostPayloadBytes = options.maxHostPayloadBytes ?? MIB;
  const logger = options.logger ?? silentLogger;
  const pressure = options.eventLoopPressure === false ? undefined : watchEventLoopPressure(options.eventLoopPressure);

  const workers = new Set<WorkerHandle>();
  const queue: Queued[] = [];
  const inFlight = new Set<Promise<unknown>>();
  const runs: Record<RunOutcome, number> = {
    ok: 0,
    error: 0,
    timeout: 0,
    memory_limit: 0,
    output_limit: 0,
    denied: 0,
  };
  let recycled = 0;
  let killed = 0;
  let crashed = 0;
  let spawnFailures = 0;
  let consecutiveFailures = 0;
  let respawnTimer: NodeJS.Timeout | undefined;
  let pendingRespawns = 0;
  let nextRunId = 1;
  let closed = false;

  function spawn(): void {
    if (closed) return;
    const handle = new WorkerHandle({
      worker: { maxHeapBytes, maxHostPayloadBytes, nice: options.workerNice ?? SANDBOX_WORKER_NICE, eventLoopPressure: pressure?.buffer },
      resourceLimits: options.workerResourceLimits,
      graceMs,
      recycleHeapBytes,
      maxRuns,
      logger,
      onGone: (gone, reason) => onGone(gone, reason),
    });
    workers.add(handle);
    handle.ready.then(
      () => {
        consecutiveFailures = 0;
        dispatch();
      },
      () => {},
    );
  }

  function onGone(handle: WorkerHandle, reason: string): void {
    workers.delete(handle);
    if (closed) return;
    if (handle.everReady) {
      if (handle.endedBy === "killed") killed += 1;
      else if (handle.endedBy === "retired") recycled += 1;
      else crashed += 1;
      spawn();
      return;
    }
    spawnFailures += 1;
    consecutiveFailures += 1;
    logger.error({ reason }, "sandbox worker failed to start");
    // Starting keeps failing: answer waiting runs if no worker can take them, and retry with backoff.
    if (![...workers].some((w) => w.state !== "starting")) {
      const error = new SandboxUnavailableError(`sandbox workers fail to start: ${reason}`);
      for (const item of queue.splice(0)) settleQueued(item, () => item.reject(error));
    }
    pendingRespawns += 1;
    if (respawnTimer) return;
    const delay = Math.min(MAX_RESPAWN_DELAY_MS, 100 * 2 ** Math.min(consecutiveFailures, 10));
    respawnTimer = setTimeout(() => {
      respawnTimer = undefined;
      const count = pendingRespawns;
      pendingRespawns = 0;
      for (let i = 0; i < count; i++) spawn();
    }, delay);
    respawnTimer.unref();
  }

  function settleQueued(item: Queued, settle: () => void): void {
    item.signal?.removeEventListener("abort", item.onAbort);
    settle();
  }

  function dispatch(): void {
    while (queue.length > 0) {
      const handle = [...workers].find((w) => w.state === "idle");
      if (!handle) return;
      const item = queue.shift()!;
      item.signal?.removeEventListener("abort", item.onAbort);
      const release = pressure?.hold();
      const running = handle.run(item.job, item.hostCall, item.signal).then(
        (result) => {
          runs[result.outcome] += 1;
          item.resolve(result);
        },
        (reason: unknown) => item.reject(reason),
      );
      inFlight.add(running);
      void running.finally(() => {
        release?.();
        inFlight.delete(running);
        dispatch();
      });
    }
  }

  function toJob(req: RunRequest): RunJob {
    if (typeof req !== "object" || req === null) throw new TypeError("sandbox run: missing request");
    if (typeof req.code !== "string") throw new TypeError("sandbox run: code must be a string");
    if (typeof req.hostCall !== "function") throw new TypeError("sandbox run: hostCall must be a function");
    if (!Array.isArray(req.allowedImports) || !req.allowedImports.every((m) => typeof m === "string")) {
      throw new TypeError("sandbox run: allowedImports must be an array of strings");
    }
    return {
      runId: nextRunId++,
      code: req.code,
      inputJson: toJson("input", req.input),
      ctxJson: toJson("ctx", req.ctx),
      limits: normalizeLimits(req.limits),
      allowedImports: req.allowedImports.filter(isHostModuleName),
    };
  }

  for (let i = 0; i < size; i++) spawn();

  return {
    run(req) {
      if (closed) return Promise.reject(new SandboxUnavailableError("the sandbox pool is closed"));
      let job: RunJob;
      try {
        job = toJob(req);
      } catch (error) {
        return Promise.reject(error);
      }
      const signal = req.signal;
      if (signal?.aborted) return Promise.reject(signal.reason);
      if (consecutiveFailures > 0 && ![...workers].some((w) => w.state === "idle" || w.state === "busy")) {
        return Promise.reject(new SandboxUnavailableError("sandbox workers fail to start"));
      }
      if (queue.length >= maxQueue) return Promise.reject(new SandboxBusyError(maxQueue));
      return new Promise<RunResult>((resolve, reject) => {
        const item: Queued = {
          job,
          hostCall: req.hostCall,
          signal,
          resolve,
          reject,
          onAbort: () => {
            const index = queue.indexOf(item);
            if (index >= 0) queue.splice(index, 1);
            reject(signal?.reason);
          },
        };
        signal?.addEventListener("abort", item.onAbort, { once: true });
        queue.push(item);
        dispatch();
      });
    },

    stats(): SandboxPoolStats {
      const count = (state: WorkerHandle["state"]): number => [...workers].filter((w) => w.state === state).length;
      return {
        size,
        idle: count("idle"),
        busy: count("busy"),
        starting: count("starting"),
        queued: queue.length,
        runs: { ...runs },
        recycled,
        killed,
        crashed,
        spawnFailures,
      };
    },

    async close() {
      if (closed) return;
      closed = true;
      if (respawnTimer) clearTimeout(respawnTimer);
      const error = new SandboxUnavailableError("the sandbox pool is closed");
      for (const item of queue.splice(0)) settleQueued(item, () => item.reject(error));
      await Promise.allSettled([...inFlight]);
      await Promise.allSettled([...workers].map((w) => w.retire()));
      pressure?.close();
    },
  };
}

function toJson(name: string, value: unknown): string {
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    throw new TypeError(`sandbox run: ${name} is not JSON-serializable`, { cause: error });
  }
  return json ?? "null";
}
