import { createSandboxPool } from "../src/sandbox/index.js";
import { request, whenIdle } from "../test/sandbox/helpers.js";
const pool = createSandboxPool({ size: 1 });
await whenIdle(pool);
for (const n of [1e6, 3e6]) {
  const r = await pool.run(request(`export default function () { let x = 0; for (let i = 0; i < ${n}; i++) x += i % 7; return x; }`, { limits: { timeoutMs: 5000 } }));
  console.log(n, r.outcome, r.durationMs);
}
await pool.close();
