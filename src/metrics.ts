import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Metrics are the Prometheus series Gatehouse exports at GET /metrics. */
export interface Metrics {
  registry: Registry;
  calls: Counter<"method" | "code">;
  latency: Histogram<"method" | "code">;
  /** macroRuns counts answered macro runs by outcome (ok, error, timeout, memory_limit, output_limit, denied, and "failed" when the run itself was refused). */
  macroRuns: Counter<"outcome">;
  /** macroRunDuration is a run's time on a worker, by outcome. */
  macroRunDuration: Histogram<"outcome">;
  /** lockAcquisitions counts editing locks granted (an owner re-acquiring its own lock included). */
  lockAcquisitions: Counter;
  /** lockConflicts counts acquisitions refused because someone else holds the lock. */
  lockConflicts: Counter;
  /** loginFailures counts refused logins by the error detail's reason (INVALID_CREDENTIALS, LOGIN_LOCKED, RATE_LIMITED, ...). */
  loginFailures: Counter<"reason">;
  /** loginLockouts counts logins refused because the account or the client address is locked out. */
  loginLockouts: Counter;
  /** auditWriteDuration is the time to write one audit record (standalone: until committed), by outcome. */
  auditWriteDuration: Histogram<"outcome">;
  /** sandboxWorkers, sandboxWorkersBusy and sandboxQueueLength read the pool when scraped (see watchSandbox). */
  sandboxWorkers: Gauge;
  sandboxWorkersBusy: Gauge;
  sandboxQueueLength: Gauge;
  /** watchSandbox points the sandbox gauges at a pool's stats. */
  watchSandbox(stats: () => { size: number; busy: number; queued: number }): void;
}

/** createMetrics makes a registry of our own (no global default registry). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gatehouse_" });
  const calls = new Counter({
    name: "gatehouse_rpc_calls_total",
    help: "RPC calls by method and status code",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "gatehouse_rpc_duration_seconds",
    help: "RPC latency by method and status code",
    labelNames: ["method", "code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const macroRuns = new Counter({
    name: "gatehouse_macro_runs_total",
    help: "Macro runs by outcome",
    labelNames: ["outcome"] as const,
    registers: [registry],
  });
  const macroRunDuration = new Histogram({
    name: "gatehouse_macro_run_duration_seconds",
    help: "Macro run time on a sandbox worker by outcome",
    labelNames: ["outcome"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  });
  const lockAcquisitions = new Counter({ name: "gatehouse_lock_acquisitions_total", help: "Editing locks granted", registers: [registry] });
  const lockConflicts = new Counter({ name: "gatehouse_lock_conflicts_total", help: "Lock acquisitions refused because another principal holds the lock", registers: [registry] });
  const loginFailures = new Counter({
    name: "gatehouse_login_failures_total",
    help: "Refused logins by reason",
    labelNames: ["reason"] as const,
    registers: [registry],
  });
  const loginLockouts = new Counter({ name: "gatehouse_login_lockouts_total", help: "Logins refused because the account or client address is locked out", registers: [registry] });
  const auditWriteDuration = new Histogram({
    name: "gatehouse_audit_write_duration_seconds",
    help: "Time to write one audit record by outcome (ok or error)",
    labelNames: ["outcome"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  let sandboxStats: () => { size: number; busy: number; queued: number } = () => ({ size: 0, busy: 0, queued: 0 });
  const sandboxWorkers = new Gauge({
    name: "gatehouse_sandbox_workers",
    help: "Configured sandbox worker threads",
    registers: [registry],
    collect() {
      this.set(sandboxStats().size);
    },
  });
  const sandboxWorkersBusy = new Gauge({
    name: "gatehouse_sandbox_workers_busy",
    help: "Sandbox workers running a macro",
    registers: [registry],
    collect() {
      this.set(sandboxStats().busy);
    },
  });
  const sandboxQueueLength = new Gauge({
    name: "gatehouse_sandbox_queue_length",
    help: "Macro runs waiting for a sandbox worker",
    registers: [registry],
    collect() {
      this.set(sandboxStats().queued);
    },
  });
  return {
    registry,
    calls,
    latency,
    macroRuns,
    macroRunDuration,
    lockAcquisitions,
    lockConflicts,
    loginFailures,
    loginLockouts,
    auditWriteDuration,
    sandboxWorkers,
    sandboxWorkersBusy,
    sandboxQueueLength,
    watchSandbox(stats) {
      sandboxStats = stats;
    },
  };
}
