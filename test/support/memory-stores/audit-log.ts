import type { AuditChainReport } from "../../../src/store/audit-writer.js";
import type { AuditEventRow, AuditLogStore } from "../../../src/store/audit-log.js";

/** MemoryAuditLog is an in-memory AuditLogStore over `events`, for use-case tests. */
export interface MemoryAuditLog extends AuditLogStore {
  events: AuditEventRow[];
  /** chain is what verifyChain answers. */
  chain: AuditChainReport;
}

/** memoryAuditLog answers the same filters as the ORM store, over an array. */
export function memoryAuditLog(events: AuditEventRow[] = []): MemoryAuditLog {
  const store: MemoryAuditLog = {
    events,
    chain: { ok: true, eventsChecked: events.length },
    async listEvents(_tx, q) {
      return store.events
        .filter(
          (e) =>
            e.tenantId === q.tenantId &&
            (q.beforeSeq === undefined || BigInt(e.seq) < BigInt(q.beforeSeq)) &&
            (q.roomId === undefined || e.roomId === q.roomId) &&
            (q.actorId === undefined || e.actorId === q.actorId) &&
            (q.action === undefined || e.action === q.action) &&
            (q.since === undefined || e.createdAt >= q.since) &&
            (q.until === undefined || e.createdAt < q.until),
        )
        .sort((a, b) => b.seq - a.seq)
        .slice(0, q.limit);
    },
    async verifyChain() {
      return store.chain;
    },
  };
  return store;
}
