import type { EntityManager } from "@mikro-orm/postgresql";
import { auditUnavailable, type AuditRecord, type AuditStore } from "../interceptors/audit.js";
import { DomainError } from "../domain/errors.js";
import type { Logger } from "../logger.js";
import type { Database } from "../store/database.js";
import type { DirectPool } from "../store/direct-sql.js";
import { appendAuditEvent, appendAuditEvents, appendAuditEventsAfterHead, appendAuditEventsDirect, type AuditEventInput, type ChainHead } from "../store/audit-writer.js";
import { isUuid } from "../domain/ids.js";

/** maxBatch bounds the records of one group commit. */
const maxBatch = 200;

const secretKey = /pass(word)?|secret|authorization|cookie|hmac|private|credential/i;
// Tokens are secrets, except fencing tokens, which are counters.
const isSecretKey = (key: string) => secretKey.test(key) || (/token$/i.test(key) && !/fencing/i.test(key));

/** redact drops values under keys that may hold secrets, at any depth. */
export function redact(value: unknown, depth = 0): unknown {
  if (depth > 8) return "[deep]";
  if (Array.isArray(value)) return value.slice(0, 100).map((v) => redact(v, depth + 1));
  if (value && typeof value === "object" && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, isSecretKey(k) ? "[redacted]" : redact(v, depth + 1)]),
    );
  }
  return value;
}

/**
 * createAuditStore adapts the hash-chained audit writer to the audit
 * interceptors: records go into the caller's transaction, or are grouped per
 * tenant into one transaction with other records written at the same time.
 * It fails closed: a record that cannot be written rejects with
 * auditUnavailable() (UNAVAILABLE, AUDIT_UNAVAILABLE), its cause logged here,
 * so that every caller, inside a transaction or not, answers that rather than
 * what the driver error would map to.
 */
export function createAuditStore(db: Database, logger?: Logger): AuditStore<EntityManager> {
  const failed = (err: unknown, record: AuditRecord): never => {
    if (err instanceof DomainError && err.reason === "AUDIT_UNAVAILABLE") throw err;
    logger?.error({ err, method: record.method, requestId: record.requestId, action: record.action }, "audit write failed: the call answers UNAVAILABLE");
    // A fresh error without the driver's as cause: the store's error mapping
    // would otherwise find the driver error in the chain and answer that.
    throw auditUnavailable();
  };
  const idOrNull = (v: string | undefined) => (v && isUuid(v) ? v : null);
  const inputOf = (record: AuditRecord): AuditEventInput => ({
    tenantId: record.tenantId,
    roomId: idOrNull(record.roomId),
    actorId: idOrNull(record.actorId),
    actorName: record.actorName,
    ip: record.ip,
    userAgent: record.userAgent,
    requestId: record.requestId,
    method: record.method,
    action: record.action,
    resource: record.resource.slice(0, 512),
    outcome: record.outcome,
    reason: record.reason.slice(0, 1024),
    details: redact(record.details),
  });
  const append = async (tx: EntityManager, record: AuditRecord) => {
    try {
      await appendAuditEvent(tx, inputOf(record));
    } catch (err) {
      failed(err, record);
    }
  };
  // Where each tenant's chain ended after this process's last standalone batch:
  // while no one else appends, the next batch needs one round trip.
  const heads = new Map<string, ChainHead>();
  const appendDirect = async (direct: DirectPool, tenantId: string, inputs: AuditEventInput[]) => {
    try {
      const expected = heads.get(tenantId);
      const records =
        (expected && (await appendAuditEventsAfterHead(direct, inputs, expected))) ||
        (await direct.inTenant(tenantId, (sql) => appendAuditEventsDirect(sql, inputs)));
      const last = records[records.length - 1]!;
      heads.set(tenantId, { seq: last.seq, hash: last.hash });
    } catch (err) {
      heads.delete(tenantId);
      throw err;
    }
  };
  const queues = new Map<string, Array<{ record: AuditRecord; done: (err?: unknown) => void }>>();
  const drain = async (tenantId: string) => {
    for (;;) {
      const queue = queues.get(tenantId);
      if (!queue || queue.length === 0) {
        queues.delete(tenantId);
        return;
      }
      const batch = queue.splice(0, maxBatch);
      try {
        const inputs = batch.map((item) => inputOf(item.record));
        if (db.direct) await appendDirect(db.direct, tenantId, inputs);
        else await db.inTenant(tenantId, (tx) => appendAuditEvents(tx, inputs));
        for (const item of batch) item.done();
      } catch (err) {
        for (const item of batch) item.done(err);
      }
    }
  };
  return {
    inTenantTransaction: (tenantId, fn) => db.inTenant(tenantId, fn),
    append,
    appendStandalone(record) {
      return new Promise<void>((resolve, reject) => {
        const done = (err?: unknown) => {
          if (err === undefined) return resolve();
          try {
            failed(err, record);
          } catch (mapped) {
            reject(mapped);
          }
        };
        const queue = queues.get(record.tenantId);
        if (queue) {
          queue.push({ record, done });
          return;
        }
        queues.set(record.tenantId, [{ record, done }]);
        void drain(record.tenantId);
      });
    },
  };
}
