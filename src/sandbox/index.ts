/**
 * The macro sandbox: QuickJS in a pool of worker threads, with bounded memory, deadlines
 * enforced from both sides, and host modules bridged as JSON.
 */
export { createSandboxPool, type SandboxPoolOptions } from "./pool.js";
export { HostDenied, HostError, SandboxBusyError, SandboxUnavailableError } from "./errors.js";
export type { SandboxLogger } from "./logger.js";
export { OUTPUT_CEILING_BYTES, STACK_CEILING_BYTES } from "./limits.js";
export { WORKER_RESOURCE_LIMITS } from "./worker-thread.js";
export type {
  HostCall,
  HostCallOptions,
  HostModuleName,
  RunOutcome,
  RunRequest,
  RunResult,
  SandboxLimits,
  SandboxPool,
  SandboxPoolStats,
} from "./types.js";
