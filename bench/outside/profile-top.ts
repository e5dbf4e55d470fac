/**
 * bench/outside/profile-top — the top entries of a V8 CPU profile (`node
 * --cpu-prof`), by self time per function and by total time per source file
 * of ours, as shares of the profile's samples. Shares stay meaningful on a
 * busy machine where absolute timings do not.
 *
 * Run: node --import tsx bench/outside/profile-top.ts <file.cpuprofile> [top=25]
 */
import { readFileSync } from "node:fs";

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: Node[];
  samples: number[];
  timeDeltas: number[];
}

const [file, topArg] = process.argv.slice(2);
if (!file) {
  console.error("usage: profile-top <file.cpuprofile> [top]");
  process.exit(2);
}
const top = Number(topArg ?? 25);
const profile = JSON.parse(readFileSync(file, "utf8")) as Profile;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const parent = new Map<number, number>();
for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
const selfCount = new Map<number, number>();
for (const s of profile.samples) selfCount.set(s, (selfCount.get(s) ?? 0) + 1);
const total = profile.samples.length;

const short = (url: string) => url.replace(/^file:\/\//, "").replace(/^.*\/node_modules\//, "~/").replace(/^.*\/(src|bench)\//, "$1/");
const label = (n: Node) => `${n.callFrame.functionName || "(anonymous)"} ${short(n.callFrame.url)}${n.callFrame.url ? `:${n.callFrame.lineNumber + 1}` : ""}`;

const self = new Map<string, number>();
for (const [id, count] of selfCount) {
  const l = label(byId.get(id)!);
  self.set(l, (self.get(l) ?? 0) + count);
}
// Inclusive time per source file of ours (src/), counted once per sample.
const inclusive = new Map<string, number>();
for (const [id, count] of selfCount) {
  const seen = new Set<string>();
  for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
    const url = byId.get(at)!.callFrame.url;
    const m = /\/(src\/[^?]+)$/.exec(url);
    if (m && !seen.has(m[1]!)) seen.add(m[1]!);
  }
  for (const f of seen) inclusive.set(f, (inclusive.get(f) ?? 0) + count);
}
const pct = (n: number) => `${((100 * n) / total).toFixed(1).padStart(5)}%`;
console.log(`${file}: ${total} samples`);
console.log(`\nself time, top ${top}:`);
for (const [l, n] of [...self].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${l}`);
console.log(`\ntotal time per file of src/, top ${top}:`);
for (const [f, n] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, top)) console.log(`  ${pct(n)}  ${f}`);
