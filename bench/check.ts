/**
 * bench/check — CheckPermission calls/s over gRPC beside a bare no-op method
 * (GetJwks: public, answered from memory) on the same server and stack, with
 * p50/p99 of each and their ratio (target ≥ 0.8). Both run twice, interleaved,
 * so background load hits both alike; the better run of each is reported.
 *
 * Run: node --import tsx bench/check.ts   (BENCH_SECONDS, BENCH_CONCURRENCY)
 */
import { drive, headline, table, type LoadResult } from "./lib.js";
import { startBenchServer } from "./server.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);

const server = await startBenchServer();
try {
  const client = server.client(server.adminToken);
  const best = new Map<string, LoadResult>();
  const keep = (r: LoadResult) => {
    const prev = best.get(r.name);
    if (!prev || r.perSecond > prev.perSecond) best.set(r.name, r);
  };
  for (let round = 0; round < 2; round++) {
    keep(await drive("GetJwks (no-op)", () => client.auth.getJwks({}), { seconds, concurrency }));
    keep(await drive("CheckPermission (self)", () => client.users.checkPermission({ permission: "rooms.read" }), { seconds, concurrency }));
  }
  const noop = best.get("GetJwks (no-op)")!;
  const check = best.get("CheckPermission (self)")!;
  table(`bench/check — gRPC over h2c, ${concurrency} concurrent callers, ${seconds} s per run, best of 2 interleaved runs`, [noop, check]);
  const ratio = check.perSecond / noop.perSecond;
  console.log(`\nratio CheckPermission / no-op: ${ratio.toFixed(2)} (target ≥ 0.80)`);
  headline("check: CheckPermission", check.perSecond, "calls/s", "", `p50 ${check.p50Ms.toFixed(2)} ms, p99 ${check.p99Ms.toFixed(2)} ms`);
  headline("check: CheckPermission / no-op (GetJwks) calls/s", ratio, "×", "≥ 0.80", `no-op ${noop.perSecond.toFixed(0)} calls/s`, ratio >= 0.8);
} finally {
  await server.close();
}
