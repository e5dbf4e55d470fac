import { monitorEventLoopDelay } from "node:perf_hooks";

/** LoadResult is what one measured workload did. */
export interface LoadResult {
  name: string;
  calls: number;
  errors: number;
  seconds: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  /** latenciesMs are the calls' latencies, sorted. */
  latenciesMs: number[];
}

/**
 * drive calls `call` from `concurrency` loops for `seconds` (after a short
 * warm-up) and reports throughput and latency percentiles. Bounded in time.
 */
export async function drive(name: string, call: () => Promise<unknown>, opts: { seconds?: number; concurrency?: number; warmupSeconds?: number } = {}): Promise<LoadResult> {
  const seconds = opts.seconds ?? 3;
  const concurrency = opts.concurrency ?? 16;
  const warmupEnd = Date.now() + (opts.warmupSeconds ?? 0.5) * 1000;
  while (Date.now() < warmupEnd) await Promise.all(Array.from({ length: concurrency }, () => call().catch(() => undefined)));
  const latencies: number[] = [];
  let errors = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < end) {
        const t = performance.now();
        try {
          await call();
        } catch {
          errors++;
        }
        latencies.push(performance.now() - t);
      }
    }),
  );
  return resultOf(name, latencies, errors, (performance.now() - started) / 1000);
}

function resultOf(name: string, latencies: number[], errors: number, seconds: number): LoadResult {
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { name, calls: latencies.length, errors, seconds, perSecond: latencies.length / seconds, p50Ms: pct(0.5), p99Ms: pct(0.99), latenciesMs: latencies };
}

/** Workload is one thing to measure in alternating rounds; setup/teardown run around each of its rounds, unmeasured. */
export interface Workload {
  name: string;
  call: () => Promise<unknown>;
  concurrency?: number;
  setup?: () => void | Promise<void>;
  teardown?: () => void | Promise<void>;
}

/**
 * alternate measures workloads in turns (A B A B ...) for `rounds` rounds of
 * `seconds` each, after one unmeasured warm-up round of each, and merges each
 * workload's rounds into one result. Two workloads compared this way share the
 * machine's slow and fast moments, so their ratio is far steadier than that
 * of two back-to-back runs on a shared machine.
 */
export async function alternate(workloads: Workload[], opts: { rounds?: number; seconds?: number } = {}): Promise<LoadResult[]> {
  const rounds = opts.rounds ?? 3;
  const seconds = opts.seconds ?? 2;
  const measured = workloads.map(() => ({ latencies: [] as number[], errors: 0, seconds: 0 }));
  for (let round = -1; round < rounds; round++) {
    for (const [i, w] of workloads.entries()) {
      await w.setup?.();
      try {
        const r = await drive(w.name, w.call, { seconds: round < 0 ? 1 : seconds, concurrency: w.concurrency, warmupSeconds: round < 0 ? 1 : 0.2 });
        if (round < 0) continue;
        measured[i]!.latencies.push(...r.latenciesMs);
        measured[i]!.errors += r.errors;
        measured[i]!.seconds += r.seconds;
      } finally {
        await w.teardown?.();
      }
    }
  }
  return workloads.map((w, i) => resultOf(w.name, measured[i]!.latencies, measured[i]!.errors, measured[i]!.seconds));
}

/** table prints results as a fixed-width table. */
export function table(title: string, results: LoadResult[]): void {
  console.log(`\n${title}`);
  console.log("| workload | calls | errors | calls/s | p50 ms | p99 ms |");
  console.log("|---|---:|---:|---:|---:|---:|");
  for (const r of results) {
    console.log(`| ${r.name} | ${r.calls} | ${r.errors} | ${r.perSecond.toFixed(0)} | ${r.p50Ms.toFixed(2)} | ${r.p99Ms.toFixed(2)} |`);
  }
}

/** eventLoopDelay measures the event loop's p99 delay (ms) while fn runs. */
export async function eventLoopDelay<T>(fn: () => Promise<T>): Promise<{ result: T; p99Ms: number }> {
  const h = monitorEventLoopDelay({ resolution: 5 });
  h.enable();
  const result = await fn();
  h.disable();
  return { result, p99Ms: h.percentile(99) / 1e6 };
}

/** Headline is one figure of a bench script, as `npm run bench` (bench/all.ts) collects it. */
export interface Headline {
  name: string;
  value: number;
  unit: string;
  /** target is the goal as text ("≥ 0.80"), or "" when the figure has none. */
  target: string;
  note: string;
  /** met says whether the target was reached (null: no target). */
  met: boolean | null;
}

/** headlinePrefix starts the lines bench/all.ts reads from each script's output. */
export const headlinePrefix = "HEADLINE ";

/**
 * headline prints one headline figure as a machine-readable line (after the
 * script's own tables), for bench/all.ts to gather into one table.
 */
export function headline(name: string, value: number, unit: string, target = "", note = "", met: boolean | null = null): void {
  const line: Headline = { name, value, unit, target, note, met: target === "" ? null : met };
  console.log(headlinePrefix + JSON.stringify(line));
}
