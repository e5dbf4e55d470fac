import type { HandlerContext } from "@connectrpc/connect";
import { AuditedFailure } from "../app/audited-failure.js";
import type { Outcome } from "../app/call.js";
import { answer } from "./call.js";

/**
 * answered awaits a use case and answers its result like `answer`; if it
 * failed with audit facts (AuditedFailure), the facts go to the call's record
 * and the use case's own error is thrown, as if it had been thrown directly.
 */
export async function answered<T>(ctx: HandlerContext, pending: Promise<Outcome<T>>): Promise<T> {
  try {
    return answer(ctx, await pending);
  } catch (err) {
    if (!(err instanceof AuditedFailure)) throw err;
    answer(ctx, { value: undefined, audit: err.audit });
    throw err.error;
  }
}
