import { BigIntType, EntitySchema } from "@mikro-orm/core";

/**
 * AuditHeadEntity is a row of `audit_heads`: the tip of one tenant's audit chain.
 * `appendAuditEvent` locks it (`FOR UPDATE`) so appends in a tenant are serialized
 * and `seq` has no gaps; `verifyAuditChain` checks the chain ends where it says.
 */
export interface AuditHeadEntity {
  /** tenantId is the tenant whose chain this is. */
  tenantId: string;
  /** lastSeq is the seq of the newest event (0 before the first). */
  lastSeq: number;
  /** lastHash is the hash of the newest event (64 zeros before the first). */
  lastHash: string;
}

/** AuditHeadSchema maps AuditHeadEntity to the `audit_heads` table. */
export const AuditHeadSchema = new EntitySchema<AuditHeadEntity>({
  name: "AuditHead",
  tableName: "audit_heads",
  properties: {
    tenantId: { type: "uuid", primary: true },
    lastSeq: { type: new BigIntType("number") },
    lastHash: { type: "text" },
  },
});
