/**
 * bench/outside/h2load — driving h2load (nghttp2's load generator, written
 * in C) from the outside bench: building its request bodies, running it
 * bounded in time, and reading its summary and per-request log. The parsing
 * and arithmetic here are pure (test/bench/h2load.test.ts covers them).
 */
import { spawn, spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";

/** h2loadInstallHint says how to get h2load when it is missing. */
export const h2loadInstallHint = "h2load is missing: install it with `apt-get update && apt-get install -y nghttp2-client` (Debian/Ubuntu; `brew install nghttp2` on macOS)";

/** h2loadVersion answers h2load's version line ("h2load nghttp2/1.52.0"), or undefined when it is not installed. */
export function h2loadVersion(): string | undefined {
  const r = spawnSync("h2load", ["--version"], { encoding: "utf8", timeout: 5_000 });
  if (r.error || r.status !== 0) return undefined;
  return r.stdout.trim().split("\n")[0];
}

/**
 * grpcFrame wraps one serialized message in a gRPC length-prefixed frame:
 * one flag byte (0: not compressed), the length as 4 bytes big-endian, the
 * message. h2load sends the file holding it as every request's body.
 */
export function grpcFrame(message: Uint8Array): Uint8Array {
  const frame = new Uint8Array(5 + message.length);
  new DataView(frame.buffer).setUint32(1, message.length, false);
  frame.set(message, 5);
  return frame;
}

/** H2loadSummary is what h2load's summary says about one run. */
export interface H2loadSummary {
  /** protocol is the application protocol h2load negotiated ("h2c", "http/1.1"). */
  protocol: string;
  /** seconds is the run's wall time ("finished in"). */
  seconds: number;
  /** requestsPerSecond is h2load's own figure (done requests over the wall time). */
  requestsPerSecond: number;
  total: number;
  started: number;
  done: number;
  succeeded: number;
  failed: number;
  errored: number;
  timeout: number;
  status: { "2xx": number; "3xx": number; "4xx": number; "5xx": number };
}

/** durationSeconds reads one of h2load's durations ("1.23s", "850.12ms", "912us"). */
export function durationSeconds(text: string): number {
  const m = /^([\d.]+)(us|ms|s)$/.exec(text.trim());
  if (!m) throw new Error(`not an h2load duration: ${JSON.stringify(text)}`);
  const value = Number(m[1]);
  return m[2] === "s" ? value : m[2] === "ms" ? value / 1e3 : value / 1e6;
}

/**
 * parseH2loadSummary reads h2load's standard output. It throws when a line
 * it needs is missing (h2load failed before measuring, say), naming it.
 */
export function parseH2loadSummary(output: string): H2loadSummary {
  const finished = /finished in ([\d.]+(?:us|ms|s)), ([\d.]+) req\/s/.exec(output);
  const requests = /requests: (\d+) total, (\d+) started, (\d+) done, (\d+) succeeded, (\d+) failed, (\d+) errored, (\d+) timeout/.exec(output);
  const status = /status codes: (\d+) 2xx, (\d+) 3xx, (\d+) 4xx, (\d+) 5xx/.exec(output);
  const missing = [!finished && "finished in", !requests && "requests:", !status && "status codes:"].filter(Boolean);
  if (missing.length > 0) throw new Error(`h2load output lacks ${missing.join(", ")}:\n${output.slice(-2000)}`);
  const n = (m: RegExpExecArray, i: number) => Number(m[i]);
  return {
    protocol: /Application protocol: (\S+)/.exec(output)?.[1] ?? "unknown",
    seconds: durationSeconds(finished![1]!),
    requestsPerSecond: Number(finished![2]),
    total: n(requests!, 1),
    started: n(requests!, 2),
    done: n(requests!, 3),
    succeeded: n(requests!, 4),
    failed: n(requests!, 5),
    errored: n(requests!, 6),
    timeout: n(requests!, 7),
    status: { "2xx": n(status!, 1), "3xx": n(status!, 2), "4xx": n(status!, 3), "5xx": n(status!, 4) },
  };
}

/** LoggedRequest is one line of h2load's `--log-file`. */
export interface LoggedRequest {
  /** startUs is when the request started, in µs since the epoch. */
  startUs: number;
  /** status is the HTTP status, -1 when the request failed. */
  status: number;
  /** durationUs is the request's latency in µs. */
  durationUs: number;
}

/**
 * parseH2loadLog reads h2load's per-request log: one request a line,
 * `<start µs since epoch>\t<HTTP status>\t<duration µs>`. Blank lines are
 * skipped; any other malformed line throws.
 */
export function parseH2loadLog(text: string): LoggedRequest[] {
  const out: LoggedRequest[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    const cells = line.split("\t");
    const [startUs, status, durationUs] = cells.map(Number);
    if (cells.length !== 3 || !Number.isFinite(startUs) || !Number.isFinite(status) || !Number.isFinite(durationUs)) {
      throw new Error(`not an h2load log line: ${JSON.stringify(line)}`);
    }
    out.push({ startUs: startUs!, status: status!, durationUs: durationUs! });
  }
  return out;
}

/**
 * percentile answers the nearest-rank percentile `p` (0 < p ≤ 100) of
 * `sorted` (ascending): the smallest value with at least p% of the values
 * at or below it. NaN for no values.
 */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (!(p > 0 && p <= 100)) throw new RangeError(`percentile ${p} is not in (0, 100]`);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, Math.max(1, rank)) - 1]!;
}

/** H2loadRun is what to run: h2load's load shape, one body for every request, headers, the URLs (round-robin per connection). */
export interface H2loadRun {
  urls: string[];
  requests: number;
  connections: number;
  /** streams is the concurrent streams per connection (pipelined requests with `h1`). */
  streams: number;
  bodyFile: string;
  headers: Record<string, string>;
  /** h1 makes h2load speak HTTP/1.1 (`--h1`) instead of h2c. */
  h1?: boolean;
  logFile?: string;
}

/** h2loadArgs answers h2load's command line for `run` (one thread: the machine's other core is the server's). */
export function h2loadArgs(run: H2loadRun): string[] {
  const args = ["-n", String(run.requests), "-c", String(run.connections), "-m", String(run.streams), "-t", "1", "-d", run.bodyFile];
  for (const [name, value] of Object.entries(run.headers)) args.push("-H", `${name}: ${value}`);
  if (run.h1) args.push("--h1");
  if (run.logFile) args.push("--log-file", run.logFile);
  return [...args, ...run.urls];
}

/** H2loadResult is one run's summary and its per-request latencies (ms, ascending) of the requests that got an answer. */
export interface H2loadResult {
  summary: H2loadSummary;
  latenciesMs: number[];
  /** failedInLog counts log lines with status -1 (no answer). */
  failedInLog: number;
}

/**
 * runH2load runs h2load once, killing it after `timeoutMs`; it throws when
 * h2load exits non-zero, is killed, or prints no summary. Needs `logFile`.
 */
export function runH2load(run: H2loadRun & { logFile: string }, timeoutMs: number): Promise<H2loadResult> {
  return new Promise((resolve, reject) => {
    const child = spawn("h2load", h2loadArgs(run), { stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
    child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, timeoutMs);
    child.on("error", (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      if (code !== 0) {
        reject(new Error(`h2load ${timedOut ? `killed after ${timeoutMs} ms` : signal ? `killed (${signal})` : `exited ${code}`}: ${(stderr + stdout).slice(-2000)}`));
        return;
      }
      try {
        const summary = parseH2loadSummary(stdout);
        const log = parseH2loadLog(readFileSync(run.logFile, "utf8"));
        const answered = log.filter((r) => r.status >= 0);
        resolve({ summary, latenciesMs: answered.map((r) => r.durationUs / 1e3).sort((a, b) => a - b), failedInLog: log.length - answered.length });
      } catch (err) {
        reject(err);
      }
    });
  });
}
