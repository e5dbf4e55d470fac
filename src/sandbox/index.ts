/**
 * The macro sandbox: QuickJS in a pool of worker threads, with bounded memory, deadlines
 * enforced from both sides, and host modules bridged as JSON.
 */
export { createSandboxPool, type SandboxPoolOptions } from "./pool.js";
export { HostDenied, HostError, SandboxBusyError, SandboxUnavailableError } from "./errors.js";
export type { SandboxLogger } from "./logger.js";
export { STACK_CEILING_BYTES } from "./limits.js";
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
