import type { HandlerContext } from "@connectrpc/connect";
import { kAuditRecorder } from "../interceptors/audit.js";

/**
 * recordAuditIn writes the call's ALLOWED audit record inside `tx`, the
 * handler's own transaction, so that what the transaction changes commits
 * with its record or not at all (for a call without the unit of work, such
 * as Login starting a session). Set the audit note's facts first. Throws
 * UNAVAILABLE (AUDIT_UNAVAILABLE) when the record cannot be written, which
 * rolls `tx` back. Without the audit interceptor (unit tests) it does nothing.
 */
export async function recordAuditIn(ctx: HandlerContext, tx: unknown): Promise<void> {
  await ctx.values.get(kAuditRecorder)?.inTransaction(tx);
}

/**
 * recordAuditNow writes an ALLOWED audit record under `action` at once, for
 * work that cannot be undone once started (a macro run): call it before the
 * work, which must not start if it throws UNAVAILABLE (AUDIT_UNAVAILABLE).
 * The call's own record is still written when it ends.
 */
export async function recordAuditNow(ctx: HandlerContext, action: string, details: Record<string, unknown>): Promise<void> {
  await ctx.values.get(kAuditRecorder)?.now(action, details);
}
