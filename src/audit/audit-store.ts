import type { EntityManager } from "@mikro-orm/postgresql";
import type { AuditStore } from "../interceptors/audit.js";
import type { Database } from "../store/database.js";
import { appendAuditEvent } from "../store/audit-writer.js";

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
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
 * interceptors: records go into the caller's transaction or a new one of
 * the record's tenant.
 */
export function createAuditStore(db: Database): AuditStore<EntityManager> {
  return {
    inTenantTransaction: (tenantId, fn) => db.inTenant(tenantId, fn),
    async append(tx, record) {
      const idOrNull = (v: string | undefined) => (v && uuidPattern.test(v) ? v : null);
      await appendAuditEvent(tx, {
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
    },
  };
}
