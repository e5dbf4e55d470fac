/**
 * bench/outside/report — the outside bench's table: each measured row with
 * its ratio to the Gatehouse no-op of the same protocol and issue 19's
 * targets beside it, met or not. Pure (test/bench/report.test.ts).
 */

/** Kind names what a row measured, so the targets can find their rows. */
export type Kind = "bare-noop" | "noop" | "runaway" | "check" | "checks" | "whoami" | "run-macro" | "lock";

/** Row is one measured workload. */
export interface Row {
  kind: Kind;
  /** call is the row's label ("UsersService/CheckPermission (self, allowed)"). */
  call: string;
  /** protocol says how it was called ("gRPC h2c", "Connect JSON HTTP/1.1"). */
  protocol: string;
  /** perSecond is answered calls per second (round trips for the lock row). */
  perSecond: number;
  /** unit is what perSecond counts ("calls/s", "round trips/s"). */
  unit: string;
  /** decisionsPerCall is the permission decisions one call makes (100 for CheckPermissions(100)). */
  decisionsPerCall: number;
  p50Ms: number;
  p99Ms: number;
  /** problems are h2load's failed/errored/non-2xx requests and non-OK gRPC codes counted by the server; 0 when clean. */
  problems: number;
}

/** Verdict is one target beside a row. */
export interface Verdict {
  text: string;
  met: boolean;
}

/** ReportedRow is a row with its ratio to the no-op of its protocol and its targets. */
export interface ReportedRow extends Row {
  /** ratio is perSecond ÷ the Gatehouse no-op's calls/s of the same protocol (undefined without one). */
  ratio?: number;
  verdicts: Verdict[];
}

const x = (n: number) => `${n.toFixed(2)}×`;

/**
 * report puts each row beside the Gatehouse no-op of its protocol and
 * issue 19's targets (gRPC rows only: the issue states them for gRPC):
 * CheckPermission ≥ 0.7× and WhoAmI ≥ 0.6× the no-op, the p99 of each
 * ≤ 2× the no-op's; CheckPermissions(100) ≥ 30× the single call's
 * decisions/s; RunMacro ≥ 0.33×; AcquireLock+ReleaseLock ≥ 0.1×; the
 * no-op's p99 beside two runaway macros ("runaway") ≤ 1.3× the idle no-op's.
 */
export function report(rows: readonly Row[]): ReportedRow[] {
  const noopOf = (protocol: string) => rows.find((r) => r.kind === "noop" && r.protocol === protocol);
  const checkOf = (protocol: string) => rows.find((r) => r.kind === "check" && r.protocol === protocol);
  return rows.map((row) => {
    const noop = noopOf(row.protocol);
    const ratio = noop && noop.perSecond > 0 ? row.perSecond / noop.perSecond : undefined;
    const verdicts: Verdict[] = [];
    const grpc = row.protocol.startsWith("gRPC");
    const atLeast = (min: number) => {
      if (ratio !== undefined) verdicts.push({ text: `≥ ${min}× no-op`, met: ratio >= min });
    };
    const p99AtMost = (max: number) => {
      if (noop && noop.p99Ms > 0) {
        const p99Ratio = row.p99Ms / noop.p99Ms;
        verdicts.push({ text: `p99 ≤ ${max}× no-op's (${x(p99Ratio)})`, met: p99Ratio <= max });
      }
    };
    if (grpc) {
      if (row.kind === "check") {
        atLeast(0.7);
        p99AtMost(2);
      } else if (row.kind === "whoami") {
        atLeast(0.6);
        p99AtMost(2);
      } else if (row.kind === "run-macro") {
        atLeast(0.33);
      } else if (row.kind === "runaway") {
        if (noop && noop.p99Ms > 0) {
          const p99Ratio = row.p99Ms / noop.p99Ms;
          verdicts.push({ text: `p99 ≤ 1.3× the idle no-op's (${x(p99Ratio)})`, met: p99Ratio <= 1.3 });
        }
      } else if (row.kind === "lock") {
        atLeast(0.1);
      } else if (row.kind === "checks") {
        const single = checkOf(row.protocol);
        if (single && single.perSecond > 0) {
          const times = (row.perSecond * row.decisionsPerCall) / (single.perSecond * single.decisionsPerCall);
          verdicts.push({ text: `decisions/s ≥ 30× CheckPermission's (${x(times)})`, met: times >= 30 });
        }
      }
    }
    if (row.problems > 0) verdicts.push({ text: `${row.problems} failed or non-OK calls`, met: false });
    return { ...row, ratio, verdicts };
  });
}

/** formatNumber prints a figure with digits fitting its size (1,234 · 12.3 · 1.23). */
export function formatNumber(n: number): string {
  if (!Number.isFinite(n)) return "–";
  const digits = Math.abs(n) >= 100 ? 0 : Math.abs(n) >= 10 ? 1 : 2;
  return n.toLocaleString("en-US", { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** markdownTable prints reported rows as the Markdown table docs/performance.md shows. */
export function markdownTable(rows: readonly ReportedRow[]): string {
  const lines = ["| call | protocol | calls/s | p50 ms | p99 ms | ÷ no-op | target | met |", "|---|---|---:|---:|---:|---:|---|---|"];
  for (const r of rows) {
    const perSecond = r.unit === "calls/s" ? formatNumber(r.perSecond) : `${formatNumber(r.perSecond)} ${r.unit.replace(/\/s$/, "")}/s`;
    const decisions = r.decisionsPerCall > 1 ? ` (${formatNumber(r.perSecond * r.decisionsPerCall)} decisions/s)` : "";
    const target = r.verdicts.map((v) => v.text).join("; ");
    const met = r.verdicts.map((v) => (v.met ? "met" : "not met")).join("; ");
    lines.push(
      `| ${r.call} | ${r.protocol} | ${perSecond}${decisions} | ${formatNumber(r.p50Ms)} | ${formatNumber(r.p99Ms)} | ${r.ratio === undefined ? "" : x(r.ratio)} | ${target} | ${met} |`,
    );
  }
  return lines.join("\n");
}
