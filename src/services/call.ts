import type { HandlerContext } from "@connectrpc/connect";
import type { Call, Outcome } from "../app/call.js";
import { kAuditNote, kCallScope, kCheckedRoom, kRequestInfo, type CallScope } from "../context.js";
import type { Tx } from "../store/tx.js";
import { kAuditRecorder } from "../interceptors/audit.js";
import { principalOf } from "./support.js";

/**
 * callOf builds the use-case view of an RPC call from what the interceptor
 * chain put in its context once: the principal (authn), the checked room
 * (authz), the transaction scope (unit of work) and the audit recorder.
 */
export function callOf(ctx: HandlerContext): Call {
  const principal = principalOf(ctx);
  const scope = ctx.values.get(kCallScope) as CallScope<Tx> | undefined;
  if (!scope) throw new Error("no call scope: the unit-of-work interceptor did not run");
  return {
    principal,
    request: ctx.values.get(kRequestInfo),
    room: ctx.values.get(kCheckedRoom),
    signal: ctx.signal,
    inTx: (fn) => scope.run(fn),
    afterCommit: (work) => scope.afterCommit(work),
    afterRollback: (work) => scope.afterRollback(work),
    recordNow: async (action, details, facts) => {
      if (facts) answer(ctx, { value: undefined, audit: facts });
      await ctx.values.get(kAuditRecorder)?.now(action, details);
    },
  };
}

/**
 * answer hands a use case's audit facts to the call's audit record (the only
 * place a handler touches it) and returns its result.
 */
export function answer<T>(ctx: HandlerContext, done: Outcome<T>): T {
  if (done.audit) {
    const note = ctx.values.get(kAuditNote);
    if (note) {
      if (done.audit.action !== undefined) note.action = done.audit.action;
      if (done.audit.resource !== undefined) note.resource = done.audit.resource;
      if (done.audit.roomId !== undefined) note.roomId = done.audit.roomId;
      if (done.audit.details !== undefined) note.details = { ...note.details, ...done.audit.details };
    }
  }
  return done.value;
}
