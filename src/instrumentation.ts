import type { AuditStore } from "./interceptors/audit.js";
import type { LockManager } from "./locks/lock-manager.js";
import { LockedError } from "./locks/errors.js";
import type { Metrics } from "./metrics.js";
import type { SandboxPool } from "./sandbox/index.js";

/**
 * instrumentSandbox answers the pool with its runs counted and timed by
 * outcome (gatehouse_macro_runs_total, gatehouse_macro_run_duration_seconds)
 * and its saturation exported (gatehouse_sandbox_*). Pools, lock managers
 * and audit stores are plain objects: the wrappers copy them and replace
 * the one or two methods they observe.
 */
export function instrumentSandbox(pool: SandboxPool, metrics: Metrics): SandboxPool {
  metrics.watchSandbox(() => pool.stats());
  return {
    ...pool,
    async run(req) {
      try {
        const result = await pool.run(req);
        metrics.macroRuns.inc({ outcome: result.outcome });
        metrics.macroRunDuration.observe({ outcome: result.outcome }, result.durationMs / 1000);
        return result;
      } catch (err) {
        metrics.macroRuns.inc({ outcome: "failed" });
        throw err;
      }
    },
  };
}

/**
 * instrumentLocks answers the lock manager with acquisitions and conflicts
 * counted (gatehouse_lock_acquisitions_total, gatehouse_lock_conflicts_total).
 */
export function instrumentLocks(locks: LockManager, metrics: Metrics): LockManager {
  return {
    ...locks,
    async acquire(...args) {
      try {
        const info = await locks.acquire(...args);
        metrics.lockAcquisitions.inc();
        return info;
      } catch (err) {
        if (err instanceof LockedError) metrics.lockConflicts.inc();
        throw err;
      }
    },
  };
}

/**
 * instrumentAudit answers the audit store with the latency of each record
 * written observed (gatehouse_audit_write_duration_seconds).
 */
export function instrumentAudit<Tx>(audit: AuditStore<Tx>, metrics: Metrics): AuditStore<Tx> {
  const timed = async (write: () => Promise<void>) => {
    const started = performance.now();
    let outcome = "error";
    try {
      await write();
      outcome = "ok";
    } finally {
      metrics.auditWriteDuration.observe({ outcome }, (performance.now() - started) / 1000);
    }
  };
  return {
    ...audit,
    append: (tx, record) => timed(() => audit.append(tx, record)),
    appendStandalone: (record) => timed(() => audit.appendStandalone(record)),
  };
}
