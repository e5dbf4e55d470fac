import { setTimeout as sleep } from "node:timers/promises";
import type { HostCall, HostModuleName, RunRequest, SandboxLimits, SandboxPool } from "../../src/sandbox/index.js";

/** LIMITS are the built-in policy defaults (docs/concepts.md). */
export const LIMITS: SandboxLimits = {
  timeoutMs: 1000,
  memoryLimitBytes: 32 * 1024 * 1024,
  maxStackBytes: 512 * 1024,
  maxOutputBytes: 64 * 1024,
  maxHostCalls: 1000,
};

export const ALL_IMPORTS: HostModuleName[] = ["gatehouse:store", "gatehouse:net", "gatehouse:log"];

/** HostCallRecord is one call seen by a recording host. */
export interface HostCallRecord {
  module: HostModuleName;
  fn: string;
  args: unknown[];
}

/** recordingHost answers host calls with `answer` and records them. */
export function recordingHost(
  answer: (call: HostCallRecord) => unknown = (call) => ({ echo: call }),
): { hostCall: HostCall; calls: HostCallRecord[] } {
  const calls: HostCallRecord[] = [];
  const hostCall: HostCall = async (module, fn, args) => {
    const call = { module, fn, args };
    calls.push(call);
    return answer(call);
  };
  return { hostCall, calls };
}

/** request builds a run request with defaults. */
export function request(
  code: string,
  overrides: Partial<Omit<RunRequest, "limits">> & { limits?: Partial<SandboxLimits> } = {},
): RunRequest {
  const { limits, ...rest } = overrides;
  return {
    code,
    input: null,
    ctx: null,
    allowedImports: ALL_IMPORTS,
    hostCall: recordingHost().hostCall,
    ...rest,
    limits: { ...LIMITS, ...limits },
  };
}

/** whenIdle waits until every worker of the pool is started and idle. */
export async function whenIdle(pool: SandboxPool, timeoutMs = 20_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const stats = pool.stats();
    if (stats.idle === stats.size) return;
    await sleep(10);
  }
  throw new Error(`pool not idle after ${timeoutMs} ms: ${JSON.stringify(pool.stats())}`);
}

/** mib formats bytes as MiB. */
export function mib(bytes: number): string {
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}

/** spinEventLoop keeps this thread's event loop busy until `done`, in 10 ms stretches between which timers and messages run. */
export async function spinEventLoop(done: () => boolean): Promise<void> {
  while (!done()) {
    const stretch = performance.now() + 10;
    while (performance.now() < stretch) {
      // busy
    }
    await new Promise((resolve) => setImmediate(resolve));
  }
}
