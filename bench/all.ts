/**
 * bench/all — `npm run bench:inprocess`: runs every bench/ script in turn, each in a
 * child process of its own (so one script's server, workers and heap never
 * weigh on the next), shows each script's own output, then prints one table
 * of the headline figures (the `HEADLINE` lines the scripts print through
 * lib.ts `headline`) with each target beside its figure.
 *
 * The load generator runs in the server's own process here; `npm run bench`
 * (bench/outside.ts) measures from outside it.
 *
 * Run: npm run bench:inprocess            (all scripts, their default lengths: about 3 minutes)
 *      npm run bench:inprocess -- --quick (shorter runs: BENCH_SECONDS=2, BENCH_MS=1000, BENCH_RUNS=3000)
 *      npm run bench:inprocess -- check locks   (only the scripts named)
 */
import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { availableParallelism, cpus, totalmem } from "node:os";
import { fileURLToPath } from "node:url";
import { headlinePrefix, type Headline } from "./lib.js";

const benchDir = fileURLToPath(new URL(".", import.meta.url));
const args = process.argv.slice(2);
const quick = args.includes("--quick");
const only = args.filter((a) => !a.startsWith("--"));
/** Not in-process benchmarks: the helpers, this runner, the outside bench (`npm run bench`), and scratch files (leading underscore). */
const skip = new Set(["all.ts", "lib.ts", "server.ts", "outside.ts"]);
const scripts = readdirSync(benchDir)
  .filter((f) => f.endsWith(".ts") && !skip.has(f) && !f.startsWith("_"))
  .filter((f) => only.length === 0 || only.includes(f.replace(/\.ts$/, "")))
  .sort();

const quickEnv: Record<string, string> = quick ? { BENCH_SECONDS: "2", BENCH_MS: "1000", BENCH_RUNS: "3000" } : {};

interface ScriptResult {
  script: string;
  code: number | null;
  seconds: number;
  headlines: Headline[];
}

function runScript(script: string): Promise<ScriptResult> {
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, ["--import", "tsx", `bench/${script}`], {
      cwd: fileURLToPath(new URL("..", import.meta.url)),
      env: { ...process.env, ...quickEnv },
      stdio: ["ignore", "pipe", "inherit"],
    });
    const headlines: Headline[] = [];
    let pending = "";
    child.stdout.on("data", (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split("\n");
      pending = lines.pop() ?? "";
      for (const line of lines) {
        if (line.startsWith(headlinePrefix)) headlines.push(JSON.parse(line.slice(headlinePrefix.length)) as Headline);
        else process.stdout.write(`  ${line}\n`);
      }
    });
    child.on("exit", (code) => resolve({ script, code, seconds: (performance.now() - started) / 1000, headlines }));
  });
}

function format(value: number, unit: string): string {
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  const text = value.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
  return unit === "" ? text : unit === "×" ? `${text}×` : unit === "%" ? `${text}%` : `${text} ${unit}`;
}

const results: ScriptResult[] = [];
for (const script of scripts) {
  console.log(`\n=== bench/${script}${quick ? " (quick)" : ""}`);
  const result = await runScript(script);
  console.log(`=== bench/${script}: ${result.code === 0 ? "done" : `FAILED (exit ${result.code})`} in ${result.seconds.toFixed(0)} s`);
  results.push(result);
}

const cpu = cpus()[0]?.model.trim() ?? "unknown CPU";
console.log(`\n## Headline figures — node ${process.version}, ${availableParallelism()} cores (${cpu}), ${(totalmem() / 2 ** 30).toFixed(0)} GiB${quick ? ", quick runs" : ""}`);
console.log("\n| figure | value | target | met | note |");
console.log("|---|---:|---|:---:|---|");
for (const result of results) {
  if (result.code !== 0) console.log(`| bench/${result.script} | failed (exit ${result.code}) | | ✗ | |`);
  for (const h of result.headlines) {
    const met = h.met === null ? "" : h.met ? "✓" : "✗";
    console.log(`| ${h.name} | ${format(h.value, h.unit)} | ${h.target} | ${met} | ${h.note} |`);
  }
}
const failed = results.filter((r) => r.code !== 0).map((r) => r.script);
const missed = results.flatMap((r) => r.headlines).filter((h) => h.met === false).map((h) => h.name);
console.log(`\n${results.length} scripts in ${results.reduce((n, r) => n + r.seconds, 0).toFixed(0)} s; ${failed.length} failed${failed.length ? ` (${failed.join(", ")})` : ""}; ${missed.length} targets missed${missed.length ? ` (${missed.join("; ")})` : ""}`);
process.exitCode = failed.length > 0 ? 1 : 0;
