import type { HandlerContext } from "@connectrpc/connect";
import { outcome, type AuditFacts } from "../app/call.js";
import { answer } from "./call.js";

/**
 * requestFacts hands the audit record the facts a request names before its
 * use case runs (the target's id, the attempted values), so that a refused
 * or failed call is recorded with them too; the use case's Outcome adds what
 * it learns on success.
 */
export function requestFacts(ctx: HandlerContext, facts: AuditFacts): void {
  answer(ctx, outcome(undefined, facts));
}
