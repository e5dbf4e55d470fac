import { performance } from "node:perf_hooks";

/**
 * Event-loop pressure: the main thread tells the sandbox workers, through one
 * shared word, while its event loop is busy, and a macro that has been running
 * for a while then pauses between its steps to give the CPU back. This keeps a
 * runaway macro from slowing everyone else's calls (docs/macros.md) without
 * lowering the workers' scheduling priority, which would starve every macro
 * whenever any other process keeps the machine's cores busy.
 */

const BUSY = 1;
const CALM = 0;

/** EventLoopPressureOptions tune the watch; the defaults suit a service. */
export interface EventLoopPressureOptions {
  /** intervalMs is how often the event loop's utilization is sampled (default 5). */
  intervalMs?: number;
  /** busyAbove is the utilization over one interval above which the loop counts as busy (default 0.5). */
  busyAbove?: number;
}

/** EventLoopPressure is the main thread's side: the shared word and its watch. */
export interface EventLoopPressure {
  /** buffer is shared with every worker (in its workerData). */
  readonly buffer: SharedArrayBuffer;
  /**
   * hold keeps the watch sampling until the returned release is called: the pool holds it
   * while runs are in flight, so an idle service does not wake every few milliseconds.
   */
  hold(): () => void;
  /** busy tells whether the loop counted as busy at the last sample. */
  busy(): boolean;
  close(): void;
}

/** watchEventLoopPressure samples this thread's event-loop utilization, while held, and publishes busy/calm. */
export function watchEventLoopPressure(options: EventLoopPressureOptions = {}): EventLoopPressure {
  const intervalMs = options.intervalMs ?? 5;
  const busyAbove = options.busyAbove ?? 0.5;
  const buffer = new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT);
  const word = new Int32Array(buffer);
  const calm = () => {
    if (Atomics.exchange(word, 0, CALM) === BUSY) Atomics.notify(word, 0);
  };
  let holds = 0;
  let timer: NodeJS.Timeout | undefined;
  const stop = () => {
    clearInterval(timer);
    timer = undefined;
    calm();
  };
  const start = () => {
    let last = performance.eventLoopUtilization();
    timer = setInterval(() => {
      const now = performance.eventLoopUtilization();
      const busy = performance.eventLoopUtilization(now, last).utilization > busyAbove;
      last = now;
      if (busy) Atomics.store(word, 0, BUSY);
      else calm();
    }, intervalMs);
    timer.unref();
  };
  return {
    buffer,
    hold() {
      if (holds++ === 0) start();
      let released = false;
      return () => {
        if (released) return;
        released = true;
        if (--holds === 0) stop();
      };
    },
    busy: () => Atomics.load(word, 0) === BUSY,
    close() {
      holds = 0;
      stop();
    },
  };
}

/** PacingOptions say how a worker gives way. */
export interface PacingOptions {
  /** freeMs is how long a run goes at full speed before it starts giving way (default 10). */
  freeMs?: number;
  /** pauseMs is the longest single pause while the loop stays busy (default 2). */
  pauseMs?: number;
}

/**
 * Pacer is the worker's side: `pace(startedAt)` is called between a run's
 * steps (from QuickJS's interrupt handler, about every half millisecond of
 * running) and blocks the worker thread while the event loop is busy, one
 * pause at a time, so the run still advances between pauses.
 */
export type Pacer = (startedAt: number) => void;

/** createPacer reads the shared word of `buffer`; without one, it never pauses. */
export function createPacer(buffer: SharedArrayBuffer | undefined, options: PacingOptions = {}): Pacer {
  if (!buffer) return () => {};
  const word = new Int32Array(buffer);
  const freeMs = options.freeMs ?? 10;
  const pauseMs = options.pauseMs ?? 2;
  return (startedAt) => {
    if (Atomics.load(word, 0) !== BUSY || Date.now() - startedAt < freeMs) return;
    Atomics.wait(word, 0, BUSY, pauseMs);
  };
}
