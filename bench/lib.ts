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
  const elapsed = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))] ?? 0;
  return { name, calls: latencies.length, errors, seconds: elapsed, perSecond: latencies.length / elapsed, p50Ms: pct(0.5), p99Ms: pct(0.99) };
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
