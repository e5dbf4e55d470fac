import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import { AuditEventSchema, AuditOutcome, type AuditEvent, type ListAuditEventsRequest } from "../../gen/gatehouse/v1/audit_pb.js";
import type { AuditEventsInput } from "../app/audit/list-audit-events.js";
import { invalidArgument, reasonCode } from "../domain/errors.js";
import { GENESIS_HASH } from "../store/audit-writer.js";
import type { AuditEventRow } from "../store/audit-log.js";
import { pageOf, requireText } from "./support.js";

const outcomeOf: Record<string, AuditOutcome> = {
  ALLOWED: AuditOutcome.ALLOWED,
  DENIED: AuditOutcome.DENIED,
  FAILED: AuditOutcome.FAILED,
  CANCELED: AuditOutcome.CANCELED,
};

function detailsOf(value: unknown): JsonObject | undefined {
  if (value === null || value === undefined) return undefined;
  if (typeof value === "object" && !Array.isArray(value)) return value as JsonObject;
  return { value } as unknown as JsonObject;
}

/** auditEventMessage maps a stored event to its proto message (the genesis prev_hash reads as empty). */
export function auditEventMessage(row: AuditEventRow): AuditEvent {
  return create(AuditEventSchema, {
    seq: BigInt(row.seq),
    tenantId: row.tenantId,
    roomId: row.roomId ?? "",
    actorId: row.actorId ?? "",
    actorName: row.actorName ?? "",
    ip: row.ip ?? "",
    userAgent: row.userAgent ?? "",
    requestId: row.requestId ?? "",
    method: row.method ?? "",
    action: row.action,
    resource: row.resource ?? "",
    outcome: outcomeOf[row.outcome] ?? AuditOutcome.UNSPECIFIED,
    reason: row.reason ?? "",
    reasonCode: reasonCode(row.reason ?? ""),
    details: detailsOf(row.details),
    createdAt: timestampFromDate(new Date(row.createdAt)),
    prevHash: row.prevHash === GENESIS_HASH ? "" : row.prevHash,
    hash: row.hash,
  });
}

/** minSeconds and maxSeconds bound a valid Timestamp (0001-01-01 to 9999-12-31, as protobuf defines it). */
const minSeconds = -62_135_596_800n;
const maxSeconds = 253_402_300_799n;

/** dateOf converts a Timestamp filter, refusing one protobuf calls invalid (out of range, nanos outside 0..999,999,999). */
function dateOf(field: string, ts: Timestamp): Date {
  if (ts.seconds < minSeconds || ts.seconds > maxSeconds || ts.nanos < 0 || ts.nanos > 999_999_999) {
    throw invalidArgument(field, "must be a valid timestamp between 0001-01-01 and 9999-12-31", `${ts.seconds}s ${ts.nanos}ns`);
  }
  return timestampDate(ts);
}

/** auditEventsInputOf reads ListAuditEvents' filters; an empty filter field means "any". */
export function auditEventsInputOf(req: ListAuditEventsRequest): AuditEventsInput {
  const { limit, after } = pageOf(req);
  const input: AuditEventsInput = { limit };
  if (after !== undefined) input.after = after;
  if (req.roomId !== undefined && req.roomId !== "") input.roomId = req.roomId;
  if (req.actorId !== undefined && req.actorId !== "") input.actorId = req.actorId;
  if (req.action !== undefined && req.action !== "") input.action = requireText("action", req.action, 128);
  if (req.since) input.since = dateOf("since", req.since);
  if (req.until) input.until = dateOf("until", req.until);
  return input;
}
