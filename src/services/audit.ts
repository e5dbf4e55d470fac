import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate, timestampFromDate, type Timestamp } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { AuditEventSchema, AuditOutcome, AuditService, type AuditEvent } from "../../gen/gatehouse/v1/audit_pb.js";
import type { Deps } from "../deps.js";
import { invalidArgument, reasonCode } from "../domain/errors.js";
import { GENESIS_HASH, verifyAuditChain } from "../store/audit-writer.js";
import { inCallerTenant, pageOf, pageToken, principalOf, requireText } from "./support.js";

interface EventRow {
  seq: string | number;
  tenant_id: string;
  room_id: string | null;
  actor_id: string | null;
  actor_name: string | null;
  ip: string | null;
  user_agent: string | null;
  request_id: string | null;
  method: string | null;
  action: string;
  resource: string | null;
  outcome: string;
  reason: string | null;
  details: unknown;
  created_at: Date;
  prev_hash: string;
  hash: string;
}

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

function eventMessage(row: EventRow): AuditEvent {
  return create(AuditEventSchema, {
    seq: BigInt(row.seq),
    tenantId: row.tenant_id,
    roomId: row.room_id ?? "",
    actorId: row.actor_id ?? "",
    actorName: row.actor_name ?? "",
    ip: row.ip ?? "",
    userAgent: row.user_agent ?? "",
    requestId: row.request_id ?? "",
    method: row.method ?? "",
    action: row.action,
    resource: row.resource ?? "",
    outcome: outcomeOf[row.outcome] ?? AuditOutcome.UNSPECIFIED,
    reason: row.reason ?? "",
    reasonCode: reasonCode(row.reason ?? ""),
    details: detailsOf(row.details),
    createdAt: timestampFromDate(new Date(row.created_at)),
    prevHash: row.prev_hash === GENESIS_HASH ? "" : row.prev_hash,
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

/**
 * createAuditService implements AuditService: the caller's tenant's log,
 * newest first with keyset pagination on seq, and the chain check. Both read
 * under the tenant's RLS scope (and name the tenant too: two walls).
 */
export function createAuditService(deps: Deps): ServiceImpl<typeof AuditService> {
  return {
    async listAuditEvents(req, ctx) {
      const principal = principalOf(ctx);
      const { limit, after } = pageOf(req);
      const where = ["tenant_id = ?"];
      const params: unknown[] = [principal.tenantId];
      if (after !== undefined) {
        if (!/^[1-9]\d{0,18}$/.test(after)) throw invalidArgument("page_token", "is not a token this server issued");
        where.push("seq < ?");
        params.push(after);
      }
      if (req.roomId !== undefined && req.roomId !== "") {
        where.push("room_id = ?");
        params.push(req.roomId.toLowerCase());
      }
      if (req.actorId !== undefined && req.actorId !== "") {
        where.push("actor_id = ?");
        params.push(req.actorId.toLowerCase());
      }
      if (req.action !== undefined && req.action !== "") {
        where.push("action = ?");
        params.push(requireText("action", req.action, 128));
      }
      const since = req.since ? dateOf("since", req.since) : undefined;
      const until = req.until ? dateOf("until", req.until) : undefined;
      if (since && until && since.getTime() > until.getTime()) {
        throw invalidArgument("since", "must not be after until", since.toISOString());
      }
      if (since) {
        where.push("created_at >= ?");
        params.push(since);
      }
      if (until) {
        where.push("created_at < ?");
        params.push(until);
      }
      params.push(limit + 1);
      const rows = await inCallerTenant(ctx, deps, async (em) =>
        (await em.execute(
          `select seq, tenant_id, room_id, actor_id, actor_name, ip, user_agent, request_id, method, action, resource,
                  outcome, reason, details, created_at, prev_hash, hash
             from audit_events where ${where.join(" and ")} order by seq desc limit ?`,
          params,
        )) as EventRow[],
      );
      const page = rows.slice(0, limit);
      return { events: page.map(eventMessage), nextPageToken: rows.length > limit ? pageToken(String(page[page.length - 1]!.seq)) : "" };
    },

    async verifyAuditChain(_req, ctx) {
      const principal = principalOf(ctx);
      const report = await inCallerTenant(ctx, deps, (em) => verifyAuditChain(em, principal.tenantId));
      return {
        ok: report.ok,
        eventsChecked: BigInt(report.eventsChecked),
        firstBrokenSeq: report.firstBrokenSeq === undefined ? undefined : BigInt(report.firstBrokenSeq),
      };
    },
  };
}
