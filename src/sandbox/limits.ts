import type { SandboxLimits } from "./types.js";

/** WASM_PAGE_BYTES is the WebAssembly page size; memory sizes are whole pages. */
export const WASM_PAGE_BYTES = 65_536;

/**
 * STACK_CEILING_BYTES is the largest QuickJS stack limit a worker thread carries: measured on
 * Node 20, a 2 MiB QuickJS stack recursed ~10,000 frames, 4 MiB overflowed the worker's native
 * stack (V8 RangeError inside WebAssembly, which taints the engine). Half of the safe value.
 */
export const STACK_CEILING_BYTES = 1024 * 1024;

/** STACK_FLOOR_BYTES is the smallest stack limit (QuickJS reads 0 as "no limit", so never pass it). */
export const STACK_FLOOR_BYTES = 32 * 1024;

/**
 * OUTPUT_CEILING_BYTES is the largest output cap (logs plus output) a run may have: they are
 * held in the worker's own V8 heap and copied to the main thread.
 */
export const OUTPUT_CEILING_BYTES = 16 * 1024 * 1024;

/** HEAP_HEADROOM_BYTES is heap a run may grow beyond its memory limit, for the runtime, context and JSON marshalling. */
export const HEAP_HEADROOM_BYTES = 8 * 1024 * 1024;

/** MAX_TIMEOUT_MS is the largest deadline a timer can carry. */
export const MAX_TIMEOUT_MS = 2_147_483_647;

/** roundUpToPages rounds a byte count up to whole WebAssembly pages, in bytes. */
export function roundUpToPages(bytes: number): number {
  return Math.ceil(bytes / WASM_PAGE_BYTES) * WASM_PAGE_BYTES;
}

function check(name: keyof SandboxLimits, value: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
    throw new TypeError(`sandbox limits: ${name} must be a number in [${min}, ${max}], got ${String(value)}`);
  }
  return Math.floor(value);
}

/**
 * normalizeLimits validates a run's limits (TypeError on nonsense), clamps the stack limit to
 * [STACK_FLOOR_BYTES, STACK_CEILING_BYTES] and the output cap to OUTPUT_CEILING_BYTES.
 */
export function normalizeLimits(limits: SandboxLimits): SandboxLimits {
  if (typeof limits !== "object" || limits === null) throw new TypeError("sandbox limits: missing");
  const stack = check("maxStackBytes", limits.maxStackBytes, 0);
  return {
    timeoutMs: check("timeoutMs", limits.timeoutMs, 1, MAX_TIMEOUT_MS),
    memoryLimitBytes: check("memoryLimitBytes", limits.memoryLimitBytes, 1024 * 1024),
    maxStackBytes: Math.min(STACK_CEILING_BYTES, Math.max(STACK_FLOOR_BYTES, stack)),
    maxOutputBytes: Math.min(OUTPUT_CEILING_BYTES, check("maxOutputBytes", limits.maxOutputBytes, 0)),
    maxHostCalls: check("maxHostCalls", limits.maxHostCalls, 0),
  };
}

/**
 * SANDBOX_WORKER_NICE is the sandbox worker threads' default nice value: the event loop's own.
 * Measured here: at nice 19, a macro needing 130 ms of CPU timed out after 3 s beside two
 * spinning processes (the worker got ~1.5% of a core); runs give way to the event loop
 * through event-loop-pressure.ts instead.
 */
export const SANDBOX_WORKER_NICE = 0;
