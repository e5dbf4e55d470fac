import { BigIntType, EntitySchema, PrimaryKeyProp } from "@mikro-orm/core";

/** AuditOutcome is the result an audit event records. */
export type AuditOutcome = "ALLOWED" | "DENIED" | "FAILED" | "CANCELED";

/**
 * AuditEventEntity is a row of `audit_events`: append-only (a trigger refuses
 * UPDATE, DELETE and TRUNCATE) and hash-chained per tenant. Read it through the
 * ORM; write it only with `appendAuditEvent` (audit-writer.ts), which computes
 * `seq`, `prevHash` and `hash`.
 */
export interface AuditEventEntity {
  [PrimaryKeyProp]?: ["tenantId", "seq"];
  /** tenantId is the tenant whose chain this event extends. */
  tenantId: string;
  /** seq numbers the tenant's events from 1 without gaps. */
  seq: number;
  /** roomId is the room the call was about, if any. */
  roomId: string | null;
  /** actorId is the calling user, if known. */
  actorId: string | null;
  /** actorName is the caller's username (or a description, e.g. `room-token`). */
  actorName: string | null;
  /** ip is the client address. */
  ip: string | null;
  /** userAgent is the client's user agent. */
  userAgent: string | null;
  /** requestId correlates the event with logs. */
  requestId: string | null;
  /** method is the RPC (`gatehouse.v1.UsersService/CreateUser`). */
  method: string | null;
  /** action is what was attempted (`users.create`, `auth.login`, ...). */
  action: string;
  /** resource names the target (`user/<id>`, `macro/<id>`). */
  resource: string | null;
  /** outcome is ALLOWED, DENIED, FAILED or CANCELED. */
  outcome: AuditOutcome;
  /** reason explains a denial or failure. */
  reason: string | null;
  /** details is free-form JSON with secrets already redacted. */
  details: unknown;
  /** createdAt has millisecond precision (the hash covers its ISO form). */
  createdAt: Date;
  /** prevHash is the previous event's hash (64 zeros for seq 1). */
  prevHash: string;
  /** hash is SHA-256 hex over the canonical JSON of this event and prevHash. */
  hash: string;
}

/** AuditEventSchema maps AuditEventEntity to the `audit_events` table. */
export const AuditEventSchema = new EntitySchema<AuditEventEntity>({
  name: "AuditEvent",
  tableName: "audit_events",
  properties: {
    tenantId: { type: "uuid", primary: true },
    seq: { type: new BigIntType("number"), primary: true },
    roomId: { type: "uuid", nullable: true },
    actorId: { type: "uuid", nullable: true },
    actorName: { type: "text", nullable: true },
    ip: { type: "text", nullable: true },
    userAgent: { type: "text", nullable: true },
    requestId: { type: "text", nullable: true },
    method: { type: "text", nullable: true },
    action: { type: "text" },
    resource: { type: "text", nullable: true },
    outcome: { type: "text" },
    reason: { type: "text", nullable: true },
    details: { type: "json", columnType: "jsonb", nullable: true },
    createdAt: { type: "datetime", columnType: "timestamptz(3)" },
    prevHash: { type: "text" },
    hash: { type: "text" },
  },
});
