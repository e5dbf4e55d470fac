import { newQuickJSWASMModuleFromVariant, newVariant, RELEASE_SYNC, type QuickJSWASMModule } from "quickjs-emscripten";
import { createPacer } from "./event-loop-pressure.js";
import { HEAP_HEADROOM_BYTES, WASM_PAGE_BYTES, roundUpToPages } from "./limits.js";
import { executeRun, type EngineHost } from "./macro-run.js";
import type { EngineResult, RunJob } from "./protocol.js";

/**
 * INITIAL_HEAP_BYTES is the initial size of the QuickJS WebAssembly memory; the release-sync
 * build of quickjs-emscripten 0.32 declares exactly this minimum (16 MiB) for its imported memory.
 */
export const INITIAL_HEAP_BYTES = 16 * 1024 * 1024;

/** SandboxEngineOptions configure one QuickJS module (one per worker). */
export interface SandboxEngineOptions {
  /** maxHeapBytes is the fixed `maximum` of the module's WebAssembly memory: no run can ever grow it further. */
  maxHeapBytes: number;
  /** maxHostPayloadBytes caps the JSON of a host call's arguments. */
  maxHostPayloadBytes: number;
  /** eventLoopPressure is the main thread's shared busy word (see event-loop-pressure.ts); runs never pause without it. */
  eventLoopPressure?: SharedArrayBuffer;
}

/**
 * HeapGuard bounds the growth of the WebAssembly memory run by run. Emscripten grows its heap by
 * calling `grow` on the memory object it was given; the guard refuses growth past the current
 * run's ceiling, so malloc fails and QuickJS throws "out of memory" instead of taking the heap
 * to the memory's maximum. The maximum stays as the absolute bound should anything grow the
 * memory another way.
 */
export interface HeapGuard {
  /** heapBytes is the current size of the memory. */
  heapBytes(): number;
  /** ceilingHit tells whether a growth was refused since the run began. */
  ceilingHit(): boolean;
}

/** SandboxEngine is one QuickJS module with a bounded memory, running one macro at a time. */
export interface SandboxEngine {
  /** module is the QuickJS module, for in-process use (benchmarks). */
  readonly module: QuickJSWASMModule;
  /** baseHeapBytes is the memory size right after loading. */
  readonly baseHeapBytes: number;
  /** maxHeapBytes is the memory's maximum. */
  readonly maxHeapBytes: number;
  heapBytes(): number;
  /** run executes one job in a fresh runtime and context; `host` serves its store/net calls. */
  run(job: RunJob, host: EngineHost): Promise<EngineResult>;
}

/**
 * createSandboxEngine loads the QuickJS sync variant once, into a WebAssembly memory whose
 * `maximum` is `maxHeapBytes` (rounded up to pages).
 */
export async function createSandboxEngine(options: SandboxEngineOptions): Promise<SandboxEngine> {
  const maxHeapBytes = Math.max(INITIAL_HEAP_BYTES, roundUpToPages(options.maxHeapBytes));
  const memory = new WebAssembly.Memory({
    initial: INITIAL_HEAP_BYTES / WASM_PAGE_BYTES,
    maximum: maxHeapBytes / WASM_PAGE_BYTES,
  });
  let ceiling = maxHeapBytes;
  let refused = false;
  const grow = WebAssembly.Memory.prototype.grow;
  Object.defineProperty(memory, "grow", {
    value(deltaPages: number): number {
      if (memory.buffer.byteLength + deltaPages * WASM_PAGE_BYTES > ceiling) {
        refused = true;
        throw new RangeError("sandbox heap ceiling reached");
      }
      return grow.call(memory, deltaPages);
    },
  });
  const module = await newQuickJSWASMModuleFromVariant(newVariant(RELEASE_SYNC, { wasmMemory: memory }));
  if (module.getWasmMemory() !== memory) throw new Error("sandbox engine: QuickJS did not adopt the bounded memory");
  const baseHeapBytes = memory.buffer.byteLength;
  const guard: HeapGuard = {
    heapBytes: () => memory.buffer.byteLength,
    ceilingHit: () => refused,
  };
  let running = false;
  const pace = createPacer(options.eventLoopPressure);

  return {
    module,
    baseHeapBytes,
    maxHeapBytes,
    heapBytes: guard.heapBytes,
    async run(job, host) {
      if (running) throw new Error("sandbox engine: one run at a time");
      running = true;
      const startHeap = memory.buffer.byteLength;
      ceiling = Math.min(
        maxHeapBytes,
        Math.max(startHeap, baseHeapBytes + job.limits.memoryLimitBytes + HEAP_HEADROOM_BYTES),
      );
      refused = false;
      try {
        return await executeRun(module, job, host, { guard, maxHostPayloadBytes: options.maxHostPayloadBytes, pace });
      } finally {
        ceiling = maxHeapBytes;
        running = false;
      }
    },
  };
}
