import type { ResourceLimits, Worker } from "node:worker_threads";
import { HostDenied, HostError } from "./errors.js";
import { HOST_FUNCTIONS } from "./host-modules.js";
import type { SandboxLogger } from "./logger.js";
import type { EngineResult, FromWorker, HostReply, RunJob, ToWorker, WorkerOptions } from "./protocol.js";
import type { HostCall, HostModuleName, RunResult } from "./types.js";
import { startWorkerThread } from "./worker-thread.js";

/** WorkerHandleOptions configure one worker as the pool sees it. */
export interface WorkerHandleOptions {
  worker: WorkerOptions;
  /** resourceLimits bound the thread's own V8 heap and stack. */
  resourceLimits?: ResourceLimits;
  /** graceMs is how long past a run's deadline the worker may take before it is terminated. */
  graceMs: number;
  /** recycleHeapBytes: a worker whose QuickJS heap ends a run larger than this is replaced. */
  recycleHeapBytes: number;
  /** maxRuns: a worker is replaced after this many runs. */
  maxRuns: number;
  logger: SandboxLogger;
  /** onGone is called once when the worker is gone (failed to start, crashed, killed or retired). */
  onGone: (handle: WorkerHandle, reason: string) => void;
}

/** WorkerState is where a worker is in its life. */
export type WorkerState = "starting" | "idle" | "busy" | "retiring" | "dead";

interface CurrentRun {
  job: RunJob;
  hostCall: HostCall;
  allowed: ReadonlySet<string>;
  hostCalls: number;
  started: number;
  /** controller ends the run's host calls when the run ends; made on the first host call (most runs make none). */
  controller: AbortController | undefined;
  /** detach stops listening to the caller's signal. */
  detach: (() => void) | undefined;
  watchdog: NodeJS.Timeout;
  resolve: (result: RunResult) => void;
  reject: (reason: unknown) => void;
}

/**
 * WorkerHandle is one sandbox worker thread seen from the main thread: it starts the thread,
 * hands it a run, serves its host calls, and enforces the deadline independently of the
 * worker: a run still going `graceMs` after its deadline (stuck in a native operation that
 * QuickJS's interrupt cannot reach) gets its worker terminated.
 */
export class WorkerHandle {
  state: WorkerState = "starting";
  /** ready settles when the worker has loaded its engine (rejects if it fails to start). */
  readonly ready: Promise<void>;
  /** endedBy says why the worker ended: retired (recycled or closed), killed (deadline, abort) or crashed. */
  endedBy: "retired" | "killed" | "crashed" | undefined;
  /** everReady tells whether the worker ever finished starting. */
  everReady = false;
  /** exited settles when the thread is gone. */
  readonly exited: Promise<void>;
  private readonly worker: Worker;
  private markExited: () => void = () => {};
  private current: CurrentRun | undefined;
  private runs = 0;
  private gone = false;

  constructor(private readonly options: WorkerHandleOptions) {
    this.worker = startWorkerThread(options.worker, options.resourceLimits);
    this.worker.unref();
    let started: () => void = () => {};
    let failed: (error: unknown) => void = () => {};
    this.ready = new Promise<void>((resolve, reject) => {
      started = resolve;
      failed = reject;
    });
    this.ready.catch(() => {});
    this.exited = new Promise<void>((resolve) => {
      this.markExited = resolve;
    });
    this.worker.on("message", (message: FromWorker) => {
      if (message.type === "ready") {
        if (this.state !== "starting") return;
        this.state = "idle";
        this.everReady = true;
        started();
      } else if (message.type === "hostCall") {
        this.onHostCall(message);
      } else if (message.type === "done") {
        this.onDone(message.runId, message.result);
      }
    });
    this.worker.on("error", (error) => {
      if (this.state === "starting") failed(error);
      this.finish("error", error);
    });
    this.worker.on("exit", (code) => {
      if (this.state === "starting") failed(new Error(`sandbox worker exited with code ${code} while starting`));
      this.finish("exit", undefined);
      this.markExited();
    });
  }

  /** run hands a job to this (idle) worker. */
  run(job: RunJob, hostCall: HostCall, signal: AbortSignal | undefined): Promise<RunResult> {
    if (this.state !== "idle") return Promise.reject(new Error(`sandbox worker is ${this.state}`));
    this.state = "busy";
    return new Promise<RunResult>((resolve, reject) => {
      const watchdog = setTimeout(() => this.onDeadline(), job.limits.timeoutMs + this.options.graceMs);
      const current: CurrentRun = {
        job,
        hostCall,
        allowed: new Set(job.allowedImports),
        hostCalls: 0,
        started: performance.now(),
        controller: undefined,
        detach: undefined,
        watchdog,
        resolve,
        reject,
      };
      this.current = current;
      if (signal) {
        const onAbort = (): void => {
          if (this.current !== current) return;
          this.endRun(current);
          reject(signal.reason);
          this.kill("aborted by the caller");
        };
        signal.addEventListener("abort", onAbort, { once: true });
        current.detach = () => signal.removeEventListener("abort", onAbort);
      }
      this.post({ type: "run", job });
    });
  }

  /** retire ends an idle (or starting) worker; the pool starts a replacement when it is gone. */
  retire(): Promise<void> {
    if (this.state !== "dead") {
      this.endedBy ??= "retired";
      this.state = "retiring";
      void this.worker.terminate();
    }
    return this.exited;
  }

  /** kill terminates the worker now, whatever it is doing. */
  kill(reason: string): void {
    if (this.state === "dead") return;
    this.endedBy ??= "killed";
    this.options.logger.warn({ reason }, "sandbox worker terminated");
    this.state = "retiring";
    void this.worker.terminate();
  }

  private post(message: ToWorker): void {
    this.worker.postMessage(message);
  }

  private onDeadline(): void {
    const current = this.current;
    if (!current) return;
    this.endRun(current);
    current.resolve(
      this.answer(current, {
        outcome: "timeout",
        errorMessage: `the macro ran past its ${current.job.limits.timeoutMs} ms deadline and its worker was stopped`,
      }),
    );
    this.kill("run past its deadline plus grace");
  }

  private onDone(runId: number, result: EngineResult): void {
    const current = this.current;
    if (!current || current.job.runId !== runId) return;
    this.endRun(current);
    this.runs += 1;
    const recycle = result.tainted || result.heapBytes > this.options.recycleHeapBytes || this.runs >= this.options.maxRuns;
    // Decide before answering, so that the pool never hands this worker another run.
    if (recycle) this.retire();
    else this.state = "idle";
    let output: unknown;
    try {
      output = result.outputJson === undefined ? undefined : JSON.parse(result.outputJson);
    } catch {
      current.resolve(this.answer(current, { outcome: "error", errorMessage: "the output is not valid JSON" }));
      return;
    }
    current.resolve({
      outcome: result.outcome,
      ...(output === undefined ? {} : { output }),
      logs: result.logs,
      ...(result.errorMessage === undefined ? {} : { errorMessage: result.errorMessage }),
      durationMs: elapsed(current.started),
      memoryUsedBytes: result.memoryUsedBytes,
      hostCalls: current.hostCalls,
    });
  }

  private onHostCall(message: Extract<FromWorker, { type: "hostCall" }>): void {
    const current = this.current;
    if (!current || current.job.runId !== message.runId) return;
    void this.serveHostCall(current, message.module, message.fn, message.argsJson).then((reply) => {
      if (this.current !== current || this.state !== "busy") return;
      this.post({ type: "hostReply", runId: message.runId, callId: message.callId, reply });
    });
  }

  /** serveHostCall checks a call again on this side (module allowed, known function, cap) and runs it. */
  private async serveHostCall(current: CurrentRun, module: HostModuleName, fn: string, argsJson: string): Promise<HostReply> {
    if (module === "gatehouse:log" || !current.allowed.has(module) || !HOST_FUNCTIONS[module]?.includes(fn)) {
      return { ok: false, kind: "denied", message: `${module} ${fn} is not allowed for this macro` };
    }
    if (current.hostCalls >= current.job.limits.maxHostCalls) {
      return { ok: false, kind: "limit", message: `host call limit of ${current.job.limits.maxHostCalls} reached` };
    }
    current.hostCalls += 1;
    const maxBytes = this.options.worker.maxHostPayloadBytes;
    try {
      const args: unknown = JSON.parse(argsJson);
      if (!Array.isArray(args)) return { ok: false, kind: "error", message: "invalid host call" };
      const value = await current.hostCall(module, fn, args, { signal: (current.controller ??= new AbortController()).signal });
      const json = value === undefined ? undefined : JSON.stringify(value);
      if (json !== undefined && json.length > maxBytes) {
        return { ok: false, kind: "error", message: `${module} ${fn}: result exceeds ${maxBytes} bytes` };
      }
      return { ok: true, json };
    } catch (error) {
      if (error instanceof HostDenied) return { ok: false, kind: "denied", message: error.reason };
      if (error instanceof HostError) return { ok: false, kind: "error", message: error.message };
      this.options.logger.error({ err: error, module, fn }, "sandbox host call failed");
      return { ok: false, kind: "error", message: "internal error" };
    }
  }

  private endRun(current: CurrentRun): void {
    clearTimeout(current.watchdog);
    current.detach?.();
    current.controller?.abort();
    if (this.current === current) this.current = undefined;
  }

  private answer(current: CurrentRun, verdict: Pick<RunResult, "outcome" | "errorMessage">): RunResult {
    return {
      ...verdict,
      logs: [],
      durationMs: elapsed(current.started),
      memoryUsedBytes: 0,
      hostCalls: current.hostCalls,
    };
  }

  /** finish handles the worker's end (exit or error): a run in flight answers, and the pool hears once. */
  private finish(kind: "error" | "exit", error: unknown): void {
    const current = this.current;
    if (current) {
      this.endRun(current);
      const outOfMemory = (error as { code?: string } | undefined)?.code === "ERR_WORKER_OUT_OF_MEMORY";
      if (this.endedBy !== "killed") this.options.logger.error({ err: error, kind }, "sandbox worker died during a run");
      current.resolve(
        this.answer(
          current,
          outOfMemory
            ? { outcome: "memory_limit", errorMessage: "the sandbox worker ran out of memory" }
            : { outcome: "error", errorMessage: "the sandbox worker failed while running the macro" },
        ),
      );
    }
    this.state = "dead";
    this.endedBy ??= "crashed";
    if (!this.gone) {
      this.gone = true;
      this.options.onGone(this, kind === "error" ? String(error) : "exited");
    }
  }
}

function elapsed(started: number): number {
  return Math.round((performance.now() - started) * 100) / 100;
}
