import { Code, createContextKey, type Interceptor } from "@connectrpc/connect";
import { kAfterCommit, kAfterRollback, kAuditNote, kCallScope, kPrincipal, kRequestInfo, type AfterCommit, type AuditNote } from "../context.js";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import type { Logger } from "../logger.js";
import { accessRuleOf, roomIdOf } from "./access-rules.js";
import { isInfrastructure } from "./authn.js";
import { reasonOfCode, toConnectError } from "./errors.js";
import { DomainError } from "../domain/errors.js";

/** AuditOutcome is the outcome column of an audit record. */
export type AuditOutcome = "ALLOWED" | "DENIED" | "FAILED" | "CANCELED";

/** AuditRecord is one audit event before the chain gives it seq and hashes. */
export interface AuditRecord {
  tenantId: string;
  roomId?: string;
  actorId?: string;
  actorName: string;
  ip: string;
  userAgent: string;
  requestId: string;
  method: string;
  action: string;
  resource: string;
  outcome: AuditOutcome;
  reason: string;
  details: Record<string, unknown>;
}

/**
 * AuditStore writes audit records: inside a caller's transaction (so a change
 * and its record commit together) or in a transaction of their own.
 */
export interface AuditStore<Tx> {
  /** inTenantTransaction runs fn in one transaction scoped to the tenant. */
  inTenantTransaction<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
  append(tx: Tx, record: AuditRecord): Promise<void>;
  /**
   * appendStandalone writes a record in a transaction of its own, resolving
   * once it has committed. Concurrent records of one tenant are grouped into
   * one transaction (group commit): the chain serializes appends per tenant.
   */
  appendStandalone(record: AuditRecord): Promise<void>;
}

/**
 * defaultAction names an action `<service>.<words>` from the RPC: the
 * method's words in snake_case without the service's own noun, e.g.
 * LocksService/BreakLock → `locks.break`, UsersService/SetUserRoles →
 * `users.set_roles`, PoliciesService/UpdateGlobalPolicy →
 * `policies.update_global`. Handlers name their actions the same way, so a
 * call denied before its handler ran is recorded under the same action as an
 * allowed one.
 */
export function defaultAction(serviceName: string, methodName: string): string {
  const service = serviceName.replace(/Service$/, "").toLowerCase();
  const singular = service.endsWith("ies") ? `${service.slice(0, -3)}y` : service.replace(/s$/, "");
  const words = (methodName.match(/[A-Z][a-z0-9]*/g) ?? [methodName]).map((w) => w.toLowerCase());
  const kept = words.filter((w) => w !== service && w !== singular);
  return `${service}.${(kept.length > 0 ? kept : words.slice(0, 1)).join("_")}`;
}

/** kTransaction holds the unit of work of a mutating call (its transaction). */
export const kTransaction = createContextKey<unknown>(undefined, { description: "transaction" });

/**
 * AuditRecorder lets a handler write its call's record at the moment its
 * work needs it, instead of after the handler returned: inside the handler's
 * own transaction (a call without the unit of work that still changes
 * something, like Login's session), or at once, before work that cannot be
 * undone starts (a macro run). Either fails closed: a record that cannot be
 * written throws AUDIT_UNAVAILABLE, so the work does not happen or rolls back.
 */
export interface AuditRecorder {
  /**
   * inTransaction appends the call's ALLOWED record (the note as it stands)
   * in `tx`; the interceptor then writes no record of its own for a call
   * that succeeds. If `tx` rolls back, the call fails and its failure is
   * recorded as usual.
   */
  inTransaction(tx: unknown): Promise<void>;
  /**
   * now writes an ALLOWED record under `action` with `details` at once, in
   * a transaction of its own. The call's own record is still written when
   * it ends.
   */
  now(action: string, details: Record<string, unknown>): Promise<void>;
}

/** kAuditRecorder holds the AuditRecorder of the current call (set by the audit interceptor). */
export const kAuditRecorder = createContextKey<AuditRecorder | undefined>(undefined, { description: "audit recorder" });

/**
 * auditUnavailable is the error of a call whose audit record cannot be
 * written: UNAVAILABLE, reason AUDIT_UNAVAILABLE. The audit log fails
 * closed: such a call leaves nothing behind.
 */
export function auditUnavailable(): DomainError {
  return new DomainError("unavailable", "AUDIT_UNAVAILABLE", "the audit log cannot be written, try again");
}

/** failClosed runs an audit write; a failure is logged and becomes auditUnavailable(). */
async function failClosed(logger: Logger | undefined, record: AuditRecord, write: () => Promise<void>): Promise<void> {
  try {
    await write();
  } catch (err) {
    if (err instanceof DomainError && err.reason === "AUDIT_UNAVAILABLE") throw err; // the store logged it
    logger?.error({ err, method: record.method, requestId: record.requestId, action: record.action }, "audit write failed: the call answers UNAVAILABLE");
    // A fresh error without the driver's as cause: the store's error mapping
    // would otherwise find the driver error in the chain and answer that.
    throw auditUnavailable();
  }
}

const deniedCodes = new Set([Code.PermissionDenied, Code.Unauthenticated, Code.NotFound]);

function recordOf(req: Parameters<Parameters<Interceptor>[0]>[0], note: AuditNote, outcome: AuditOutcome, reason: string): AuditRecord | undefined {
  const principal = req.contextValues.get(kPrincipal);
  const tenantId = note.tenantId ?? principal?.tenantId;
  if (!tenantId) return undefined;
  const info = req.contextValues.get(kRequestInfo);
  const roomFromMessage = req.stream ? undefined : roomIdOf(req.method, req.message);
  return {
    tenantId,
    roomId: note.roomId ?? (typeof roomFromMessage === "string" && roomFromMessage !== "" ? roomFromMessage : undefined),
    actorId: note.actorId ?? principal?.userId,
    actorName: note.actorName ?? principal?.username ?? "",
    ip: info.ip,
    userAgent: info.userAgent.slice(0, 256),
    requestId: info.requestId,
    method: `${req.service.typeName}/${req.method.name}`,
    action: note.action ?? defaultAction(req.service.name, req.method.name),
    resource: note.resource ?? "",
    outcome,
    reason,
    details: note.details ?? {},
  };
}

/**
 * createAuditInterceptor records every denial, every failed or cancelled
 * mutation, and every call of a method whose rule says `audit`. Successful
 * mutations are recorded by the unit-of-work interceptor inside their own
 * transaction; a handler may write its record earlier through the call's
 * AuditRecorder. The log fails closed: when a record cannot be written, the
 * call answers UNAVAILABLE (AUDIT_UNAVAILABLE) instead of its result or its
 * refusal, so nothing is answered, allowed or denied without its record.
 */
export function createAuditInterceptor<Tx>(store: AuditStore<Tx>, logger: Logger): Interceptor {
  return (next) => async (req) => {
    if (isInfrastructure(req.service.typeName)) return next(req);
    const rule = accessRuleOf(req.method);
    const note: AuditNote = {};
    req.contextValues.set(kAuditNote, note);
    const write = async (outcome: AuditOutcome, reason: string) => {
      const record = recordOf(req, note, outcome, reason);
      if (!record) return;
      await failClosed(logger, record, () => store.appendStandalone(record));
    };
    let recordedInHandler = false;
    req.contextValues.set(kAuditRecorder, {
      async inTransaction(tx) {
        const record = recordOf(req, note, "ALLOWED", "");
        if (!record) return;
        await failClosed(logger, record, () => store.append(tx as Tx, record));
        recordedInHandler = true;
      },
      async now(action, details) {
        const record = recordOf(req, { ...note, action, details }, "ALLOWED", "");
        if (!record) return;
        await failClosed(logger, record, () => store.appendStandalone(record));
      },
    });
    try {
      const res = await next(req);
      const recordedInTransaction = (rule?.mutates && req.contextValues.get(kPrincipal) !== undefined) || recordedInHandler;
      if (rule?.audit && !recordedInTransaction) await write("ALLOWED", "");
      return res;
    } catch (e) {
      const err = toConnectError(e, req.signal);
      // The record's reason is the ErrorDetail reason clients see (audit.proto);
      // the safe message goes into details. Internal errors say nothing more.
      const internal = err.code === Code.Internal || err.code === Code.Unknown;
      const reason = internal ? "INTERNAL" : (err.findDetails(ErrorDetailSchema)[0]?.reason ?? reasonOfCode(err.code));
      if (!internal) note.details = { ...note.details, error: err.rawMessage.slice(0, 512) };
      if (deniedCodes.has(err.code)) {
        await write("DENIED", reason);
      } else if (rule?.mutates || rule?.audit) {
        await write(err.code === Code.Canceled ? "CANCELED" : "FAILED", reason);
      }
      throw e;
    }
  };
}

/**
 * createUnitOfWorkInterceptor runs each authenticated mutating call in one
 * tenant-scoped transaction and appends its audit record in that same
 * transaction: no change is committed without its record, and a failure
 * leaves nothing half-written. Work a handler registered with `kAfterCommit`
 * (cache invalidations) runs once the transaction has committed, and never
 * after a rollback; work registered with `kAfterRollback` (a failure record
 * that must outlive the rollback) runs once it has rolled back, outside it.
 */
export function createUnitOfWorkInterceptor<Tx>(store: AuditStore<Tx>, logger?: Logger): Interceptor {
  return (next) => async (req) => {
    if (isInfrastructure(req.service.typeName)) return next(req);
    const rule = accessRuleOf(req.method);
    const principal = req.contextValues.get(kPrincipal);
    if (!principal) return next(req);
    if (!rule?.mutates) {
      // A read opens a tenant-scoped transaction only when its handler asks for one.
      req.contextValues.set(kCallScope, {
        run: (fn) => store.inTenantTransaction(principal.tenantId, fn),
        afterCommit: (work) => void Promise.resolve().then(work).catch((err: unknown) => logger?.warn({ err, method: req.method.name }, "after-commit work failed")),
        afterRollback: () => undefined,
      });
      return next(req);
    }
    const afterCommit: AfterCommit[] = [];
    const afterRollback: AfterCommit[] = [];
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await store.inTenantTransaction(principal.tenantId, async (tx) => {
        req.contextValues.set(kTransaction, tx);
        req.contextValues.set(kAfterCommit, afterCommit);
        req.contextValues.set(kAfterRollback, afterRollback);
        req.contextValues.set(kCallScope, {
          run: (fn) => fn(tx),
          afterCommit: (work) => afterCommit.push(work),
          afterRollback: (work) => afterRollback.push(work),
        });
        try {
          const res = await next(req);
          const note = req.contextValues.get(kAuditNote) ?? {};
          const record = recordOf(req, note, "ALLOWED", "");
          // No change commits without its record: a failed append rolls it all back.
          if (record) await failClosed(logger, record, () => store.append(tx, record));
          return res;
        } finally {
          req.contextValues.delete(kTransaction);
          req.contextValues.delete(kAfterCommit);
          req.contextValues.delete(kAfterRollback);
          req.contextValues.delete(kCallScope);
        }
      });
    } catch (err) {
      for (const work of afterRollback) {
        try {
          await work();
        } catch (workErr) {
          logger?.warn({ err: workErr, method: req.method.name }, "after-rollback work failed");
        }
      }
      throw err;
    }
    for (const work of afterCommit) {
      try {
        await work();
      } catch (err) {
        // The change is committed; a lost invalidation is bounded by cache TTLs.
        logger?.warn({ err, method: req.method.name }, "after-commit work failed");
      }
    }
    return res;
  };
}
