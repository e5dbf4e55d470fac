import { describe, expect, it } from "vitest";
import { markdownTable, report, type Row } from "../../bench/outside/report.js";

const row = (over: Partial<Row> & Pick<Row, "kind" | "perSecond">): Row => ({
  call: over.kind,
  protocol: "gRPC h2c",
  unit: "calls/s",
  decisionsPerCall: 1,
  p50Ms: 10,
  p99Ms: 20,
  problems: 0,
  ...over,
});

describe("report", () => {
  const rows = [
    row({ kind: "bare-noop", perSecond: 1300 }),
    row({ kind: "noop", perSecond: 1000 }),
    row({ kind: "check", perSecond: 700, p99Ms: 40 }),
    row({ kind: "checks", perSecond: 250, decisionsPerCall: 100 }),
    row({ kind: "whoami", perSecond: 590, p99Ms: 41 }),
    row({ kind: "run-macro", perSecond: 330 }),
    row({ kind: "lock", perSecond: 99, unit: "round trips/s" }),
    row({ kind: "noop", perSecond: 500, protocol: "Connect JSON HTTP/1.1" }),
    row({ kind: "check", perSecond: 100, protocol: "Connect JSON HTTP/1.1" }),
  ];
  const out = report(rows);
  const metOf = (i: number) => out[i]!.verdicts.map((v) => v.met);

  it("puts each row beside the no-op of its own protocol", () => {
    expect(out[0]!.ratio).toBeCloseTo(1.3);
    expect(out[2]!.ratio).toBeCloseTo(0.7);
    expect(out[8]!.ratio).toBeCloseTo(0.2);
  });

  it("marks CheckPermission ≥ 0.7× and its p99 ≤ 2× the no-op's, inclusive", () => {
    expect(metOf(2)).toEqual([true, true]);
  });

  it("marks WhoAmI below 0.6× and its p99 over 2× as not met", () => {
    expect(metOf(4)).toEqual([false, false]);
  });

  it("counts CheckPermissions(100) in decisions against 30× the single call's", () => {
    // 250 calls/s × 100 = 25,000 decisions/s against 30 × 700 = 21,000.
    expect(out[3]!.verdicts).toEqual([{ text: "decisions/s ≥ 30× CheckPermission's (35.71×)", met: true }]);
  });

  it("marks RunMacro ≥ 0.33× and lock round trips < 0.1× the no-op", () => {
    expect(metOf(5)).toEqual([true]);
    expect(metOf(6)).toEqual([false]);
  });

  it("marks the no-op's p99 beside runaway macros against 1.3× the idle no-op's", () => {
    const idle = row({ kind: "noop", perSecond: 1000, p99Ms: 20 });
    const [, within, beyond] = report([idle, row({ kind: "runaway", perSecond: 900, p99Ms: 26 }), row({ kind: "runaway", perSecond: 900, p99Ms: 27 })]);
    expect(within!.verdicts).toEqual([{ text: "p99 ≤ 1.3× the idle no-op's (1.30×)", met: true }]);
    expect(beyond!.verdicts.map((v) => v.met)).toEqual([false]);
  });

  it("sets no targets on the reference rows or on Connect rows", () => {
    expect(out[0]!.verdicts).toEqual([]);
    expect(out[1]!.verdicts).toEqual([]);
    expect(out[8]!.verdicts).toEqual([]);
  });

  it("marks a row with failed or non-OK calls as not met", () => {
    const [, bad] = report([row({ kind: "noop", perSecond: 1000 }), row({ kind: "run-macro", perSecond: 900, problems: 3 })]);
    expect(bad!.verdicts.map((v) => v.met)).toEqual([true, false]);
  });

  it("prints one Markdown line per row, decisions/s beside CheckPermissions", () => {
    const table = markdownTable(out).split("\n");
    expect(table).toHaveLength(2 + rows.length);
    expect(table[5]).toContain("250 (25,000 decisions/s)");
    expect(table[8]).toContain("99.0 round trips/s");
  });
});
