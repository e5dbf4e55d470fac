import type { ServiceImpl } from "@connectrpc/connect";
import type { AuditService } from "../../gen/gatehouse/v1/audit_pb.js";
import { listAuditEvents } from "../app/audit/list-audit-events.js";
import { verifyAuditChain } from "../app/audit/verify-audit-chain.js";
import type { AuditLogStore } from "../store/audit-log.js";
import { auditEventMessage, auditEventsInputOf } from "./audit-messages.js";
import { callOf } from "./call.js";
import { pageToken } from "./support.js";

/** AuditServiceDeps is what AuditService uses: the audit log's reads. */
export interface AuditServiceDeps {
  auditLog: AuditLogStore;
}

/**
 * createAuditService implements AuditService: the caller's tenant's log,
 * newest first with keyset pagination on seq, and the chain check. Both read
 * under the tenant's RLS scope (and name the tenant too: two walls).
 */
export function createAuditService(deps: AuditServiceDeps): ServiceImpl<typeof AuditService> {
  return {
    async listAuditEvents(req, ctx) {
      const page = await listAuditEvents(deps, callOf(ctx), auditEventsInputOf(req));
      return { events: page.events.map(auditEventMessage), nextPageToken: pageToken(page.next) };
    },

    async verifyAuditChain(_req, ctx) {
      const report = await verifyAuditChain(deps, callOf(ctx));
      return {
        ok: report.ok,
        eventsChecked: BigInt(report.eventsChecked),
        firstBrokenSeq: report.firstBrokenSeq === undefined ? undefined : BigInt(report.firstBrokenSeq),
      };
    },
  };
}
