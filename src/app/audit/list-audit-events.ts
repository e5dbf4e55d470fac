import type { Call } from "../call.js";
import { invalidArgument } from "../../domain/errors.js";
import type { AuditEventRow, AuditLogStore } from "../../store/audit-log.js";

/** AuditEventsInput filters the caller's tenant's log; empty filters are left out. */
export interface AuditEventsInput {
  limit: number;
  /** after is the page cursor: the seq of the last event of the previous page. */
  after?: string;
  roomId?: string;
  actorId?: string;
  action?: string;
  since?: Date;
  until?: Date;
}

/** AuditEventsPage is one page, newest first, and the cursor of the next (undefined at the end). */
export interface AuditEventsPage {
  events: AuditEventRow[];
  next: string | undefined;
}

/** listAuditEvents answers one page of the caller's tenant's audit log. */
export async function listAuditEvents(
  stores: { auditLog: AuditLogStore },
  call: Call,
  input: AuditEventsInput,
): Promise<AuditEventsPage> {
  if (input.after !== undefined && !/^[1-9]\d{0,18}$/.test(input.after)) {
    throw invalidArgument("page_token", "is not a token this server issued");
  }
  if (input.since && input.until && input.since.getTime() > input.until.getTime()) {
    throw invalidArgument("since", "must not be after until", input.since.toISOString());
  }
  const rows = await call.inTx((tx) =>
    stores.auditLog.listEvents(tx, {
      tenantId: call.principal.tenantId,
      limit: input.limit + 1,
      ...(input.after !== undefined ? { beforeSeq: input.after } : {}),
      ...(input.roomId !== undefined ? { roomId: input.roomId.toLowerCase() } : {}),
      ...(input.actorId !== undefined ? { actorId: input.actorId.toLowerCase() } : {}),
      ...(input.action !== undefined ? { action: input.action } : {}),
      ...(input.since !== undefined ? { since: input.since } : {}),
      ...(input.until !== undefined ? { until: input.until } : {}),
    }),
  );
  const events = rows.slice(0, input.limit);
  return { events, next: rows.length > input.limit ? String(events[events.length - 1]!.seq) : undefined };
}
