/**
 * bench/rules measures runtime-rule evaluation throughput for a tenant with
 * 10, 1,000 and 10,000 rules (many subjects, few rules each), against a
 * naive full scan over the same precompiled rules for comparison.
 *
 * Run: node --import tsx bench/rules.ts   (about 1 s per measurement)
 */
import { hostGlobMatches, parseHost, parseHostGlob } from "../src/domain/host-glob.js";
import { compilePathGlob } from "../src/domain/path-glob.js";
import { createRuleIndex, ruleActions, type Rule, type RuleAction, type RuleQuery } from "../src/domain/rules.js";
import { headline } from "./lib.js";

const measureMs = Number(process.env.BENCH_MS ?? 1000);

/** mulberry32 is a small seeded PRNG, so every run benchmarks the same tenant. */
function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const random = mulberry32(42);
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
const int = (n: number): number => Math.floor(random() * n);
const uuid = (kind: number, n: number): string =>
  `${kind.toString(16).padStart(8, "0")}-0000-4000-8000-${n.toString(16).padStart(12, "0")}`;

function resourceFor(action: RuleAction | "*", wildcardShare: number): string {
  const k = int(200);
  if (action === "net.fetch") {
    return random() < wildcardShare ? pick([`*.h${k}.example.com`, `**.h${k}.example.com`]) : pick([`h${k}.example.com`, `api.h${k}.example.com:8443`]);
  }
  return random() < wildcardShare ? pick([`c${k}/*`, `c${k}/**`, `c${k}/r*`]) : pick([`c${k}`, `c${k}/r${int(50)}`]);
}

function tenant(size: number): { rules: Rule[]; users: number; rooms: number; macros: number } {
  const users = Math.max(1, Math.ceil((size * 0.45) / 3));
  const rooms = Math.max(1, Math.ceil((size * 0.24) / 3));
  const macros = Math.max(1, Math.ceil((size * 0.2) / 2));
  const rules: Rule[] = [];
  for (let i = 0; i < size; i++) {
    const r = random();
    const subject =
      r < 0.01 ? "*" : r < 0.11 ? `role:r${int(20)}` : r < 0.56 ? `user:${uuid(1, int(users))}` : r < 0.8 ? `room:${uuid(2, int(rooms))}` : `macro:${uuid(3, int(macros))}`;
    const action = random() < 0.1 ? "*" : pick(ruleActions);
    rules.push({ id: `rule-${i}`, subject, action, resource: resourceFor(action === "*" ? pick(ruleActions) : action, 0.4), effect: random() < 0.2 ? "deny" : "allow" });
  }
  return { rules, users, rooms, macros };
}

function queries(t: ReturnType<typeof tenant>, count: number): RuleQuery[] {
  const out: RuleQuery[] = [];
  for (let i = 0; i < count; i++) {
    const action = pick(ruleActions);
    const k = int(200);
    const resource = action === "net.fetch" ? pick([`h${k}.example.com`, `api.h${k}.example.com`, `api.h${k}.example.com:8443`, `x.y.h${k}.example.com`]) : pick([`c${k}`, `c${k}/r${int(50)}`, `c${k}/r${int(50)}/x`]);
    out.push({
      subjects: [`user:${uuid(1, int(t.users))}`, `role:r${int(20)}`, `role:r${int(20)}`, `room:${uuid(2, int(t.rooms))}`, `macro:${uuid(3, int(t.macros))}`],
      action,
      resource,
      baselineAllowed: random() < 0.5,
    });
  }
  return out;
}

/** createNaiveScan evaluates by testing every rule, with the same precompiled matchers. */
function createNaiveScan(rules: Rule[]): (q: RuleQuery) => number {
  const compiled = rules.map((rule) => {
    const host = parseHostGlob(rule.resource);
    const path = rule.resource.includes("**.") ? undefined : compilePathGlob(rule.resource);
    return { rule, host, path };
  });
  return (q) => {
    const subjects = new Set(q.subjects);
    const parsed = q.action === "net.fetch" ? parseHost(q.resource) : undefined;
    let matched = 0;
    for (const { rule, host, path } of compiled) {
      if (rule.subject !== "*" && !subjects.has(rule.subject)) continue;
      if (rule.action !== "*" && rule.action !== q.action) continue;
      const ok = q.action === "net.fetch" ? host !== undefined && parsed !== undefined && hostGlobMatches(host, parsed) : path?.test(q.resource) === true;
      if (ok) matched++;
    }
    return matched;
  };
}

/** throughput runs `fn` over the queries for about measureMs and answers calls per second. */
function throughput(qs: RuleQuery[], fn: (q: RuleQuery) => unknown): number {
  for (let i = 0; i < 2000; i++) fn(qs[i % qs.length]!);
  let calls = 0;
  const start = performance.now();
  let elapsed = 0;
  while (elapsed < measureMs) {
    for (let i = 0; i < 1000; i++) fn(qs[(calls + i) % qs.length]!);
    calls += 1000;
    elapsed = performance.now() - start;
  }
  return (calls / elapsed) * 1000;
}

const fmt = (n: number): string => Math.round(n).toLocaleString("en-US").padStart(12);

console.log(`rule evaluation (Node ${process.version}, ~${measureMs} ms per figure)`);
console.log(`${"rules".padStart(7)} ${"index build".padStart(12)} ${"indexed eval/s".padStart(15)} ${"full scan eval/s".padStart(17)} ${"matched/eval".padStart(13)}`);
for (const size of [10, 1_000, 10_000]) {
  const t = tenant(size);
  const buildStart = performance.now();
  const index = createRuleIndex(t.rules);
  const buildMs = performance.now() - buildStart;
  const qs = queries(t, 4096);
  let matched = 0;
  for (const q of qs) matched += index.evaluate(q).matchedRuleIds.length;
  const indexed = throughput(qs, (q) => index.evaluate(q));
  const scan = throughput(qs, createNaiveScan(t.rules));
  headline(`rules: evaluation with ${size.toLocaleString("en-US")} rules (indexed)`, indexed, "evals/s", "", `full scan ${Math.round(scan).toLocaleString("en-US")}/s`);
  console.log(
    `${String(size).padStart(7)} ${`${buildMs.toFixed(1)} ms`.padStart(12)} ${fmt(indexed).padStart(15)} ${fmt(scan).padStart(17)} ${(matched / qs.length).toFixed(2).padStart(13)}`,
  );
}
