/**
 * bench/policies measures GetEffectivePolicy calls per second over gRPC
 * beside bare methods on the same server: GetJwks (public: no
 * authentication, no database) and WhoAmI (authenticated, one read), plus
 * the in-process effectivePolicy() the sandbox calls per run (cache hits).
 *
 * Run: node --import tsx bench/policies.ts   (needs the local Postgres and
 * Redis; about 4 s per workload, BENCH_SECONDS to change)
 */
import { create } from "@bufbuild/protobuf";
import { PolicySchema, StringListSchema } from "../gen/gatehouse/v1/common_pb.js";
import { drive, headline, table, type LoadResult } from "./lib.js";
import { startBenchServer } from "./server.js";

const seconds = Number(process.env.BENCH_SECONDS ?? 3);
const concurrency = Number(process.env.BENCH_CONCURRENCY ?? 16);

// Limits raised to the configuration's maxima: measure the stack, not the limiter.
const server = await startBenchServer({
  GATEHOUSE_RATE_LIMIT_PER_MINUTE: "10000000",
  GATEHOUSE_LOGIN_RATE_LIMIT_PER_MINUTE: "10000000",
  GATEHOUSE_LOCKOUT_IP_FAILURES: "100000",
});
try {
  const client = server.client(server.adminToken);
  const roomId = (await client.rooms.createRoom({ name: "bench-room" })).room!.roomId;
  // A macro policy needs the macro, and writing it needs the macro's lock.
  const macroId = (await client.macros.updateMacros({ roomId, macros: [{ name: "bench-macro", code: "export default function () { return 1; }" }] })).macros[0]!.macroId;
  await client.locks.acquireLock({ roomId, target: `macro/${macroId}` });
  await client.policies.updateGlobalPolicy({
    policy: create(PolicySchema, { timeoutMs: 2000, networkEnabled: true, allowedHosts: create(StringListSchema, { values: ["*.example.com"] }) }),
  });
  await client.policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, { timeoutMs: 1500, maxHostCalls: 500 }) });
  await client.policies.updateMacroPolicy({
    roomId,
    macroId,
    policy: create(PolicySchema, { allowedHosts: create(StringListSchema, { values: ["api.example.com"] }) }),
  });
  const me = await client.auth.whoAmI({});
  const userId = me.user!.userId;
  const tenantId = me.tenantId;

  const results: LoadResult[] = [];
  const opts = { seconds, concurrency };
  results.push(await drive("GetJwks (public, bare)", () => client.auth.getJwks({}), opts));
  results.push(await drive("WhoAmI (authenticated, bare)", () => client.auth.whoAmI({}), opts));
  results.push(await drive("GetEffectivePolicy(room)", () => client.policies.getEffectivePolicy({ roomId }), opts));
  results.push(await drive("GetEffectivePolicy(room, macro, user)", () => client.policies.getEffectivePolicy({ roomId, macroId, userId }), opts));
  table(`gRPC over h2c, ${concurrency} concurrent callers, ${seconds} s each (Node ${process.version})`, results);
  const [jwks, whoAmI, , full] = results;
  headline("policies: GetEffectivePolicy(room, macro, user)", full!.perSecond, "calls/s", "", `WhoAmI ${whoAmI!.perSecond.toFixed(0)}, no-op ${jwks!.perSecond.toFixed(0)} calls/s`);

  // The sandbox's path: one call per run, inside the run's tenant transaction.
  const { deps } = server.gatehouse;
  await deps.db.inTenant(tenantId, async (em) => {
    const query = { tenantId, roomId, macroId, userId };
    await deps.policies.effectivePolicy(em, query);
    let calls = 0;
    const started = performance.now();
    while (performance.now() - started < seconds * 1000) {
      for (let i = 0; i < 1000; i++) await deps.policies.effectivePolicy(em, query);
      calls += 1000;
    }
    const perSecond = calls / ((performance.now() - started) / 1000);
    console.log(`\nin-process effectivePolicy() (cache hits, re-read at most once a second): ${Math.round(perSecond).toLocaleString("en-US")} calls/s`);
    headline("policies: in-process effectivePolicy() (cached)", perSecond, "calls/s");
  });
} finally {
  await server.close();
}
