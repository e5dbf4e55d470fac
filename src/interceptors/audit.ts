import { Code, ConnectError, createContextKey, type Interceptor } from "@connectrpc/connect";
import { kAfterCommit, kAfterRollback, kAuditNote, kPrincipal, kRequestInfo, type AfterCommit, type AuditNote } from "../context.js";
import { ErrorDetailSchema } from "../../gen/gatehouse/v1/common_pb.js";
import type { Logger } from "../logger.js";
import { accessRuleOf, roomIdOf } from "./access-rules.js";
import { isInfrastructure } from "./authn.js";
import { reasonOfCode, toConnectError } from "./errors.js";

/** AuditOutcome is the outcome column of an audit record. */
export type AuditOutcome = "ALLOWED" | "DENIED" | "FAILED";

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
 * createAuditInterceptor records every denial, every failed mutation, and
 * every call of a method whose rule says `audit`. Successful mutations are
 * recorded by the unit-of-work interceptor inside their own transaction.
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
      try {
        await store.appendStandalone(record);
      } catch (err) {
        // The call's own result stands; a lost record is logged loudly.
        logger.error({ err, method: record.method, requestId: record.requestId }, "audit write failed");
      }
    };
    try {
      const res = await next(req);
      const recordedInTransaction = rule?.mutates && req.contextValues.get(kPrincipal) !== undefined;
      if (rule?.audit && !recordedInTransaction) await write("ALLOWED", "");
      return res;
    } catch (e) {
      const err = e instanceof ConnectError ? e : toConnectError(e);
      // The record's reason is the ErrorDetail reason clients see (audit.proto);
      // the safe message goes into details. Internal errors say nothing more.
      const internal = err.code === Code.Internal || err.code === Code.Unknown;
      const reason = internal ? "INTERNAL" : (err.findDetails(ErrorDetailSchema)[0]?.reason ?? reasonOfCode(err.code));
      if (!internal) note.details = { ...note.details, error: err.rawMessage.slice(0, 512) };
      if (deniedCodes.has(err.code)) {
        await write("DENIED", reason);
      } else if (rule?.mutates || rule?.audit) {
        await write("FAILED", reason);
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
    if (!rule?.mutates || !principal) return next(req);
    const afterCommit: AfterCommit[] = [];
    const afterRollback: AfterCommit[] = [];
    let res: Awaited<ReturnType<typeof next>>;
    try {
      res = await store.inTenantTransaction(principal.tenantId, async (tx) => {
        req.contextValues.set(kTransaction, tx);
        req.contextValues.set(kAfterCommit, afterCommit);
        req.contextValues.set(kAfterRollback, afterRollback);
        try {
          const res = await next(req);
          const note = req.contextValues.get(kAuditNote) ?? {};
          const record = recordOf(req, note, "ALLOWED", "");
          if (record) await store.append(tx, record);
          return res;
        } finally {
          req.contextValues.delete(kTransaction);
          req.contextValues.delete(kAfterCommit);
          req.contextValues.delete(kAfterRollback);
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
