import type { FilterQuery } from "@mikro-orm/core";
import { verifyAuditChain, type AuditChainReport } from "./audit-writer.js";
import { AuditEventSchema, type AuditEventEntity } from "./entities/audit-event.js";
import type { Tx } from "./tx.js";

/** AuditEventRow is one stored audit event as the log reads it back. */
export type AuditEventRow = Omit<AuditEventEntity, symbol>;

/** AuditLogQuery selects one page of a tenant's log, newest first. */
export interface AuditLogQuery {
  tenantId: string;
  /** limit is the most events answered. */
  limit: number;
  /** beforeSeq (decimal digits, up to 19) answers only events older than this one: keyset pagination. */
  beforeSeq?: string;
  roomId?: string;
  actorId?: string;
  action?: string;
  /** since and until bound created_at: since <= created_at < until. */
  since?: Date;
  until?: Date;
}

/**
 * AuditLogStore reads a tenant's audit log (writes go through audit-writer.ts,
 * which keeps the hash chain). Both methods run in a tenant-scoped
 * transaction and also name the tenant: two walls.
 */
export interface AuditLogStore {
  /** listEvents answers up to `limit` events matching `query`, by seq descending. */
  listEvents(tx: Tx, query: AuditLogQuery): Promise<AuditEventRow[]>;
  /** verifyChain re-hashes the tenant's chain from its first event to its head. */
  verifyChain(tx: Tx, tenantId: string): Promise<AuditChainReport>;
}

/** ormAuditLogStore is the AuditLogStore on MikroORM. */
export const ormAuditLogStore: AuditLogStore = {
  async listEvents(tx, query) {
    const where: FilterQuery<AuditEventEntity> = { tenantId: query.tenantId };
    // seq maps to a JS number; the bound goes to the database as text, so a 19-digit token stays exact.
    if (query.beforeSeq !== undefined) where.seq = { $lt: query.beforeSeq as unknown as number };
    if (query.roomId !== undefined) where.roomId = query.roomId;
    if (query.actorId !== undefined) where.actorId = query.actorId;
    if (query.action !== undefined) where.action = query.action;
    if (query.since !== undefined || query.until !== undefined) {
      where.createdAt = {
        ...(query.since !== undefined ? { $gte: query.since } : {}),
        ...(query.until !== undefined ? { $lt: query.until } : {}),
      };
    }
    // A read: no identity map to fill and flush-check for a page of events.
    return tx.find(AuditEventSchema, where, { orderBy: { seq: "desc" }, limit: query.limit, disableIdentityMap: true });
  },

  verifyChain(tx, tenantId) {
    return verifyAuditChain(tx, tenantId);
  },
};
