/**
 * HostDenied is thrown by a host function to refuse a call (a rule or policy says no). The macro
 * sees an Error named "HostDenied" carrying `reason`; if it lets it escape, the run's outcome is
 * "denied" with `reason` as its error message.
 */
export class HostDenied extends Error {
  override readonly name = "HostDenied";
  constructor(readonly reason: string) {
    super(reason);
  }
}

/**
 * HostError is thrown by a host function for a failure the macro may see (not found, bad
 * argument, upstream failure). Its message reaches the macro as an Error named "HostError".
 */
export class HostError extends Error {
  override readonly name = "HostError";
}

/** SandboxBusyError rejects a run when every worker is busy and the queue is full. */
export class SandboxBusyError extends Error {
  override readonly name = "SandboxBusyError";
  constructor(readonly queueLimit: number) {
    super(`sandbox busy: ${queueLimit} runs already queued`);
  }
}

/** SandboxUnavailableError rejects a run when the pool is closed or cannot start its workers. */
export class SandboxUnavailableError extends Error {
  override readonly name = "SandboxUnavailableError";
}
