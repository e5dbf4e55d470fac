import type {
  QuickJSContext,
  QuickJSDeferredPromise,
  QuickJSHandle,
  QuickJSRuntime,
  QuickJSWASMModule,
  VmCallResult,
} from "quickjs-emscripten";
import type { HeapGuard } from "./engine.js";
import type { Pacer } from "./event-loop-pressure.js";
import {
  BRIDGE_GLOBAL,
  ENTRY_EXPORT,
  ENTRY_MODULE,
  ENTRY_SOURCE,
  HOST_FUNCTIONS,
  INTERNAL_MODULE,
  INTERNAL_SOURCE,
  MACRO_MODULE,
  SEAL_FUNCTION,
  SHIM_SOURCES,
  isHostModuleName,
} from "./host-modules.js";
import type { EngineResult, HostReply, RunJob } from "./protocol.js";
import type { HostModuleName, RunOutcome } from "./types.js";

/** EngineHost serves a run's store/net calls (in a worker: by asking the main thread). */
export interface EngineHost {
  call(module: HostModuleName, fn: string, argsJson: string): Promise<HostReply>;
}

/** Verdict is how a run ended, before measuring and cleaning up. */
interface Verdict {
  outcome: RunOutcome;
  outputJson?: string;
  errorMessage?: string;
}

type Settled =
  | { kind: "fulfilled"; value: QuickJSHandle }
  | { kind: "rejected"; error: QuickJSHandle }
  | { kind: "stopped" }
  | { kind: "stuck" };

const MAX_ERROR_MESSAGE_CHARS = 1000;

/** MAX_CONCURRENT_HOST_CALLS is how many of a run's host calls the main thread serves at once; more wait in the worker. */
const MAX_CONCURRENT_HOST_CALLS = 8;

/** MAX_WAITING_HOST_CALL_BYTES bounds the argument bytes of a run's unanswered host calls; calls beyond it reject. */
const MAX_WAITING_HOST_CALL_BYTES = 16 * 1024 * 1024;

interface HostCallTask {
  callId: number;
  module: HostModuleName;
  fn: string;
  argsJson: string;
}

/** MEMORY_USED_LINE is the "memory used <count> <bytes>" line of QuickJS's memory dump. */
const MEMORY_USED_LINE = /^memory used\s+\d+\s+(\d+)/m;

/** REFUSED_PREFIX names the modules a refused import request normalizes to (the loader refuses them). */
const REFUSED_PREFIX = "gatehouse:refused#";

/**
 * executeRun runs one job in a fresh QuickJS runtime and context of `module`, and always answers
 * (a failure of the engine itself taints it: the caller must then drop the module).
 */
export function executeRun(module: QuickJSWASMModule, job: RunJob, host: EngineHost, surroundings: RunSurroundings): Promise<EngineResult> {
  return new MacroRun(module, job, host, surroundings).execute();
}

/** RunSurroundings are what a run gets from its engine besides the job and the host. */
export interface RunSurroundings {
  guard: HeapGuard;
  maxHostPayloadBytes: number;
  /** pace is called between the macro's steps; it may block to give the CPU to the event loop. */
  pace: Pacer;
}

/**
 * MacroRun is the state of one run. The macro is loaded as the module "macro" under an entry
 * module that first imports the internal module; modules evaluate depth-first in import order,
 * so the internal module takes the bridge off the global object and seals module resolution
 * before any macro code runs. From then on every import request (that is, any `import()`) fails.
 */
class MacroRun {
  private readonly limits;
  private readonly allowed: ReadonlySet<string>;
  private readonly started: number;
  private readonly deadline: number;
  private readonly startHeap: number;
  private readonly guard: HeapGuard;
  private readonly maxHostPayloadBytes: number;
  private readonly pace: Pacer;
  private readonly owned: QuickJSHandle[] = [];
  private readonly pending = new Map<number, QuickJSDeferredPromise>();
  private readonly waiting: HostCallTask[] = [];
  private waitingBytes = 0;
  private serving = 0;
  private readonly denied: { error: QuickJSHandle; reason: string }[] = [];
  private readonly logs: string[] = [];
  private readonly refusals: string[] = [];
  private outputBytes = 0;
  private hostCalls = 0;
  private nextCallId = 1;
  private sealed = false;
  private finished = false;
  private tainted = false;
  private stop: { outcome: Exclude<RunOutcome, "ok" | "denied">; message: string } | undefined;
  private wake: (() => void) | undefined;
  private rt: QuickJSRuntime | undefined;
  private vm: QuickJSContext | undefined;
  private jsonParse: QuickJSHandle | undefined;
  private jsonStringify: QuickJSHandle | undefined;

  constructor(
    private readonly module: QuickJSWASMModule,
    private readonly job: RunJob,
    private readonly host: EngineHost,
    surroundings: RunSurroundings,
  ) {
    ({ guard: this.guard, maxHostPayloadBytes: this.maxHostPayloadBytes, pace: this.pace } = surroundings);
    this.limits = job.limits;
    this.allowed = new Set(job.allowedImports.filter(isHostModuleName));
    this.started = Date.now();
    this.deadline = this.started + job.limits.timeoutMs;
    this.startHeap = this.guard.heapBytes();
  }

  async execute(): Promise<EngineResult> {
    let verdict: Verdict;
    try {
      verdict = await this.runMacro();
    } catch (error) {
      // A failure outside the guest (a trap in WebAssembly, the worker's native stack, an emscripten abort).
      this.tainted = true;
      verdict = this.stop ? this.stopVerdict() : this.hostFailureVerdict(error);
    }
    if (this.guard.ceilingHit()) this.tainted = true;
    const memoryUsedBytes = this.measureMemory(verdict);
    this.finished = true;
    this.wake?.();
    this.cleanUp();
    return {
      outcome: verdict.outcome,
      outputJson: verdict.outputJson,
      logs: this.logs,
      errorMessage: verdict.errorMessage,
      memoryUsedBytes,
      hostCalls: this.hostCalls,
      heapBytes: this.guard.heapBytes(),
      tainted: this.tainted,
    };
  }

  private get ctx(): QuickJSContext {
    if (!this.vm) throw new Error("sandbox: no context");
    return this.vm;
  }

  private async runMacro(): Promise<Verdict> {
    const rt = this.module.newRuntime();
    this.rt = rt;
    rt.setMemoryLimit(this.limits.memoryLimitBytes);
    rt.setMaxStackSize(this.limits.maxStackBytes);
    rt.setInterruptHandler(() => this.shouldInterrupt());
    rt.setModuleLoader(
      (name) => this.load(name),
      (base, requested) => this.normalize(base, requested),
    );
    const ctx = rt.newContext();
    this.vm = ctx;

    // Taken before any guest code runs, so a macro replacing JSON.* only fools itself.
    const json = this.own(ctx.getProp(ctx.global, "JSON"));
    this.jsonParse = this.own(ctx.getProp(json, "parse"));
    this.jsonStringify = this.own(ctx.getProp(json, "stringify"));
    const bridge = this.own(ctx.newFunction("bridge", (m, f, a) => this.onBridge(m, f, a)));
    ctx.defineProp(ctx.global, BRIDGE_GLOBAL, { value: bridge, configurable: true, enumerable: false });

    const evaluated = ctx.evalCode(ENTRY_SOURCE, ENTRY_MODULE, { type: "module", strict: true });
    if (evaluated.error) return this.errorVerdict(this.own(evaluated.error));
    const entry = await this.settle(this.own(evaluated.value));
    if (entry.kind !== "fulfilled") return this.settledVerdict(entry);
    if (!this.sealed) return this.engineBug("the entry module did not seal module loading");

    const main = this.own(ctx.getProp(entry.value, ENTRY_EXPORT));
    if (ctx.typeof(main) !== "function") {
      return { outcome: "error", errorMessage: "the macro must `export default function`" };
    }
    const input = this.parseJson(this.job.inputJson);
    if (input.error) return this.errorVerdict(input.error);
    const callerCtx = this.parseJson(this.job.ctxJson);
    if (callerCtx.error) return this.errorVerdict(callerCtx.error);

    const called = ctx.callFunction(main, ctx.undefined, input.value, callerCtx.value);
    if (called.error) return this.errorVerdict(this.own(called.error));
    const result = await this.settle(this.own(called.value));
    if (result.kind !== "fulfilled") return this.settledVerdict(result);
    const verdict = this.serialize(result.value);

    // Host calls the macro started but did not await still finish inside the run (and its deadline).
    while (this.pending.size > 0 && !this.stop) {
      await this.nextEvent();
      this.drainJobs();
    }
    return this.stop ? this.stopVerdict() : verdict;
  }

  // ---- module loading -------------------------------------------------------------------------

  /**
   * normalize maps an import request to a module name. QuickJS ignores a normalizer's failure
   * (it goes on to load an empty name), so a refused request maps to a fresh name that the
   * loader refuses with the reason; fresh, so that no loaded module can ever answer it.
   */
  private normalize(base: string, requested: string): string {
    if (!this.sealed) {
      if (base === ENTRY_MODULE && (requested === INTERNAL_MODULE || requested === MACRO_MODULE)) return requested;
      if (isHostModuleName(base) && requested === INTERNAL_MODULE) return requested;
      if (base === MACRO_MODULE && isHostModuleName(requested) && this.allowed.has(requested)) return requested;
    }
    const reason = this.sealed
      ? "import() is not allowed in macros"
      : `import of ${JSON.stringify(requested)} is not allowed`;
    this.refusals.push(reason);
    return `${REFUSED_PREFIX}${this.refusals.length - 1}`;
  }

  private load(name: string): string | { error: Error } {
    if (name.startsWith(REFUSED_PREFIX)) {
      return { error: new TypeError(this.refusals[Number(name.slice(REFUSED_PREFIX.length))] ?? "import refused") };
    }
    if (this.sealed) return { error: new TypeError("import() is not allowed in macros") };
    if (name === MACRO_MODULE) return this.job.code;
    if (name === INTERNAL_MODULE) return INTERNAL_SOURCE;
    if (isHostModuleName(name) && this.allowed.has(name)) return SHIM_SOURCES[name];
    return { error: new TypeError(`import of ${JSON.stringify(name)} is not allowed`) };
  }

  // ---- host bridge ----------------------------------------------------------------------------

  private onBridge(
    moduleArg: QuickJSHandle | undefined,
    fnArg: QuickJSHandle | undefined,
    argsArg: QuickJSHandle | undefined,
  ): QuickJSHandle | VmCallResult<QuickJSHandle> | undefined {
    const ctx = this.ctx;
    if (!moduleArg || !fnArg || !argsArg || ctx.typeof(moduleArg) !== "string" || ctx.typeof(fnArg) !== "string" || ctx.typeof(argsArg) !== "string") {
      throw new TypeError("invalid host call");
    }
    const module = ctx.getString(moduleArg);
    const fn = ctx.getString(fnArg);
    if (module === INTERNAL_MODULE && fn === SEAL_FUNCTION && !this.sealed) {
      this.sealed = true;
      return undefined;
    }
    if (!this.sealed || !isHostModuleName(module) || !HOST_FUNCTIONS[module].includes(fn)) {
      throw new TypeError("invalid host call");
    }
    if (!this.allowed.has(module)) {
      return { error: this.newDenied(`${module} is not among this macro's allowed imports`) };
    }
    const length = this.stringLength(argsArg);
    if (length > this.maxHostPayloadBytes) {
      return { error: this.newError("HostError", `${module} ${fn}: arguments exceed ${this.maxHostPayloadBytes} bytes`) };
    }
    const argsJson = ctx.getString(argsArg);
    if (module === "gatehouse:log") {
      this.appendLog(argsJson);
      return undefined;
    }
    if (this.hostCalls >= this.limits.maxHostCalls) {
      return {
        error: this.newError("HostCallLimitExceeded", `host call limit of ${this.limits.maxHostCalls} reached`),
      };
    }
    if (this.waitingBytes + argsJson.length > MAX_WAITING_HOST_CALL_BYTES) {
      return { error: this.newError("HostError", `too many host call bytes in flight (over ${MAX_WAITING_HOST_CALL_BYTES})`) };
    }
    this.hostCalls += 1;
    const callId = this.nextCallId++;
    const deferred = ctx.newPromise();
    this.pending.set(callId, deferred);
    this.waiting.push({ callId, module, fn, argsJson });
    this.waitingBytes += argsJson.length;
    this.serveHostCalls();
    // The library disposes the returned handle after handing the promise to the guest.
    return deferred.handle;
  }

  /** serveHostCalls hands waiting host calls to the host, a few at a time, so that a macro cannot flood the main thread. */
  private serveHostCalls(): void {
    while (this.serving < MAX_CONCURRENT_HOST_CALLS && this.waiting.length > 0 && !this.finished) {
      const task = this.waiting.shift()!;
      this.serving += 1;
      const done = (reply: HostReply): void => {
        this.serving -= 1;
        this.waitingBytes -= task.argsJson.length;
        this.onHostReply(task.callId, reply);
        this.serveHostCalls();
      };
      this.host.call(task.module, task.fn, task.argsJson).then(done, () =>
        done({ ok: false, kind: "error", message: "internal error" }),
      );
    }
  }

  private onHostReply(callId: number, reply: HostReply): void {
    const deferred = this.pending.get(callId);
    if (this.finished || !deferred) return;
    this.pending.delete(callId);
    try {
      if (reply.ok) {
        if (reply.json === undefined) {
          deferred.resolve(this.ctx.undefined);
        } else {
          const parsed = this.parseJson(reply.json);
          if (parsed.error) deferred.reject(parsed.error);
          else deferred.resolve(parsed.value);
        }
      } else if (reply.kind === "denied") {
        deferred.reject(this.own(this.newDenied(reply.message)));
      } else {
        const name = reply.kind === "limit" ? "HostCallLimitExceeded" : "HostError";
        deferred.reject(this.own(this.newError(name, reply.message)));
      }
    } catch (error) {
      // Settling fails when the run already stopped (interrupted) or the engine broke.
      if (!this.stop) {
        this.tainted = true;
        this.stopWith("error", this.describeHostFailure(error));
      }
      deferred.dispose();
    }
    this.wake?.();
  }

  private appendLog(argsJson: string): void {
    let line: string;
    try {
      const parsed: unknown = JSON.parse(argsJson);
      line = Array.isArray(parsed) && typeof parsed[0] === "string" ? parsed[0] : String(parsed);
    } catch {
      throw new TypeError("invalid log call");
    }
    const bytes = Buffer.byteLength(line) + 1;
    if (this.outputBytes + bytes > this.limits.maxOutputBytes) {
      this.stopWith("output_limit", `logs and output exceed ${this.limits.maxOutputBytes} bytes`);
      throw new RangeError("output limit reached");
    }
    this.outputBytes += bytes;
    this.logs.push(line);
  }

  private newDenied(reason: string): QuickJSHandle {
    const error = this.newError("HostDenied", reason);
    this.denied.push({ error: error.dup(), reason });
    return error;
  }

  private newError(name: string, message: string): QuickJSHandle {
    return this.ctx.newError({ name, message });
  }

  // ---- running to completion ------------------------------------------------------------------

  private shouldInterrupt(): boolean {
    if (this.stop) return true;
    if (Date.now() >= this.deadline) {
      this.stopWith("timeout", `the macro ran past its ${this.limits.timeoutMs} ms deadline`);
      return true;
    }
    if (this.guard.ceilingHit()) {
      this.stopWith("memory_limit", `the macro exceeded its memory limit of ${this.limits.memoryLimitBytes} bytes`);
      return true;
    }
    this.pace(this.started);
    return false;
  }

  private stopWith(outcome: Exclude<RunOutcome, "ok" | "denied">, message: string): void {
    this.stop ??= { outcome, message };
  }

  /** settle runs pending jobs until `handle` (a promise or a plain value) settles, the run stops, or nothing can settle it. */
  private async settle(handle: QuickJSHandle): Promise<Settled> {
    const ctx = this.ctx;
    for (;;) {
      this.drainJobs();
      if (this.stop) return { kind: "stopped" };
      const state = ctx.getPromiseState(handle);
      if (state.type === "fulfilled") {
        return { kind: "fulfilled", value: state.notAPromise ? handle : this.own(state.value) };
      }
      if (state.type === "rejected") return { kind: "rejected", error: this.own(state.error) };
      if (this.pending.size === 0) return { kind: "stuck" };
      await this.nextEvent();
    }
  }

  private drainJobs(): void {
    const rt = this.rt;
    if (!rt) return;
    while (!this.stop && rt.hasPendingJob()) {
      const result = rt.executePendingJobs(-1);
      if (result.error) {
        // Jobs turn exceptions into rejections; what escapes is an interrupt or a lack of memory.
        const verdict = this.errorVerdict(this.own(result.error));
        this.stopWith(verdict.outcome === "memory_limit" ? "memory_limit" : "error", verdict.errorMessage ?? "a job failed");
        return;
      }
      result.dispose();
    }
  }

  /** nextEvent waits for a host reply or the deadline. */
  private nextEvent(): Promise<void> {
    return new Promise<void>((resolve) => {
      const remaining = this.deadline - Date.now();
      if (remaining <= 0) {
        this.stopWith("timeout", `the macro ran past its ${this.limits.timeoutMs} ms deadline`);
        resolve();
        return;
      }
      const timer = setTimeout(() => {
        this.stopWith("timeout", `the macro ran past its ${this.limits.timeoutMs} ms deadline`);
        this.wake?.();
      }, remaining);
      this.wake = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
    });
  }

  // ---- values across the boundary -------------------------------------------------------------

  private parseJson(json: string): { value: QuickJSHandle; error?: undefined } | { error: QuickJSHandle } {
    const ctx = this.ctx;
    const text = this.own(ctx.newString(json));
    const parsed = ctx.callFunction(this.jsonParse!, ctx.undefined, text);
    if (parsed.error) return { error: this.own(parsed.error) };
    return { value: this.own(parsed.value) };
  }

  private serialize(value: QuickJSHandle): Verdict {
    const ctx = this.ctx;
    const serialized = ctx.callFunction(this.jsonStringify!, ctx.undefined, value);
    if (serialized.error) {
      const verdict = this.errorVerdict(this.own(serialized.error));
      if (verdict.outcome !== "error") return verdict;
      return { outcome: "error", errorMessage: `the output is not JSON-serializable: ${verdict.errorMessage}` };
    }
    const text = this.own(serialized.value);
    if (this.stop) return this.stopVerdict();
    if (ctx.typeof(text) !== "string") return { outcome: "ok" };
    const remaining = this.limits.maxOutputBytes - this.outputBytes;
    // Each UTF-16 unit takes at least one UTF-8 byte: refuse before copying a huge string out.
    if (this.stringLength(text) > remaining) return this.outputLimitVerdict();
    const json = ctx.getString(text);
    if (Buffer.byteLength(json) > remaining) return this.outputLimitVerdict();
    return { outcome: "ok", outputJson: json };
  }

  private outputLimitVerdict(): Verdict {
    return { outcome: "output_limit", errorMessage: `logs and output exceed ${this.limits.maxOutputBytes} bytes` };
  }

  private stringLength(handle: QuickJSHandle): number {
    const length = this.own(this.ctx.getProp(handle, "length"));
    return this.ctx.getNumber(length);
  }

  // ---- verdicts -------------------------------------------------------------------------------

  private settledVerdict(settled: Exclude<Settled, { kind: "fulfilled" }>): Verdict {
    if (settled.kind === "rejected") return this.errorVerdict(settled.error);
    if (settled.kind === "stuck") {
      return { outcome: "error", errorMessage: "the macro awaited a promise that can never settle" };
    }
    return this.stopVerdict();
  }

  private stopVerdict(): Verdict {
    const stop = this.stop ?? { outcome: "error", message: "the run stopped" };
    return { outcome: stop.outcome, errorMessage: stop.message };
  }

  private errorVerdict(error: QuickJSHandle): Verdict {
    if (this.stop) return this.stopVerdict();
    const ctx = this.ctx;
    const denied = this.denied.find((d) => ctx.sameValue(d.error, error));
    if (denied) return { outcome: "denied", errorMessage: denied.reason };
    const { name, message, location } = this.describe(error);
    if (name === "InternalError" && message === "out of memory") {
      this.tainted = true;
      return {
        outcome: "memory_limit",
        errorMessage: `the macro exceeded its memory limit of ${this.limits.memoryLimitBytes} bytes`,
      };
    }
    const text = `${name ? `${name}: ` : ""}${message}${location ? ` (at ${location})` : ""}`;
    return { outcome: "error", errorMessage: truncate(text) };
  }

  /** describe reads name, message and the first macro stack frame of a thrown value, without running guest code. */
  private describe(error: QuickJSHandle): { name: string; message: string; location?: string } {
    const ctx = this.ctx;
    const type = ctx.typeof(error);
    if (type !== "object") {
      if (type === "string") return { name: "", message: `uncaught ${JSON.stringify(truncate(ctx.getString(error)))}` };
      if (type === "number" || type === "boolean" || type === "undefined") {
        return { name: "", message: `uncaught ${String(ctx.dump(error))}` };
      }
      return { name: "", message: `uncaught ${type}` };
    }
    const read = (key: string): string | undefined => {
      const value = this.own(ctx.getProp(error, key));
      return ctx.typeof(value) === "string" ? ctx.getString(value) : undefined;
    };
    const name = read("name") ?? "";
    const message = read("message") ?? "uncaught non-error object";
    const frame = read("stack")
      ?.split("\n")
      .find((line) => line.includes(`${MACRO_MODULE}:`));
    const location = frame?.match(/\((macro:\d+(?::\d+)?)\)|\s(macro:\d+(?::\d+)?)/);
    return { name, message, location: location?.[1] ?? location?.[2] };
  }

  private hostFailureVerdict(error: unknown): Verdict {
    if (this.guard.ceilingHit()) {
      return {
        outcome: "memory_limit",
        errorMessage: `the macro exceeded its memory limit of ${this.limits.memoryLimitBytes} bytes`,
      };
    }
    return { outcome: "error", errorMessage: this.describeHostFailure(error) };
  }

  private describeHostFailure(error: unknown): string {
    if (error instanceof RangeError && /call stack/i.test(error.message)) {
      return "InternalError: stack overflow";
    }
    return "the sandbox engine failed while running the macro";
  }

  private engineBug(message: string): Verdict {
    this.tainted = true;
    return { outcome: "error", errorMessage: `sandbox: ${message}` };
  }

  // ---- measuring and cleaning up --------------------------------------------------------------

  private measureMemory(verdict: Verdict): number {
    const growth = Math.max(0, this.guard.heapBytes() - this.startHeap);
    if (this.tainted || verdict.outcome === "memory_limit" || !this.rt || !this.vm) return growth;
    try {
      this.rt.setMemoryLimit(-1);
      // The text dump, not computeMemoryUsage(): that one builds its answer in a second context
      // (created for it), which cost a quarter of a trivial run and counted itself as used.
      const used = MEMORY_USED_LINE.exec(this.rt.dumpMemoryUsage());
      const bytes = used ? Number(used[1]) : Number.NaN;
      return Number.isFinite(bytes) ? bytes : growth;
    } catch {
      this.tainted = true;
      return growth;
    }
  }

  private own<T extends QuickJSHandle>(handle: T): T {
    this.owned.push(handle);
    return handle;
  }

  private cleanUp(): void {
    try {
      for (const deferred of this.pending.values()) deferred.dispose();
      this.pending.clear();
      for (const { error } of this.denied) if (error.alive) error.dispose();
      for (let i = this.owned.length - 1; i >= 0; i--) {
        const handle = this.owned[i]!;
        if (handle.alive) handle.dispose();
      }
      this.vm?.dispose();
      this.rt?.dispose();
    } catch {
      this.tainted = true;
    }
  }
}

function truncate(text: string): string {
  return text.length > MAX_ERROR_MESSAGE_CHARS ? `${text.slice(0, MAX_ERROR_MESSAGE_CHARS)}…` : text;
}
