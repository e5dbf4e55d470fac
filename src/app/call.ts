import type { AfterCommit, CheckedRoom, Principal, RequestInfo } from "../context.js";
import type { Tx } from "../store/tx.js";

/**
 * Call is what a use case knows of the request that runs it: who calls, from
 * where, the room its access rule checked, and how to reach the tenant's rows.
 * It knows nothing of RPC: the services layer builds it from the interceptor
 * chain's context (src/services/call.ts), a test builds it by hand
 * (test/support/app-call.ts).
 */
export interface Call {
  readonly principal: Principal;
  readonly request: RequestInfo;
  /** room is the room named by the method's access rule and the caller's role in it, when the rule checked one. */
  readonly room: CheckedRoom | undefined;
  /** signal aborts when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  /**
   * inTx runs `fn` in the call's transaction: for a mutating method the one
   * unit of work its audit record commits with (so every inTx shares it); for
   * a read, a tenant-scoped transaction of its own per inTx.
   */
  inTx<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** afterCommit runs `work` once the transaction has committed: cache invalidations broadcast to replicas. */
  afterCommit(work: AfterCommit): void;
  /** afterRollback runs `work` outside the transaction if the call fails: a failure record that must survive. */
  afterRollback(work: AfterCommit): void;
  /**
   * recordNow writes an ALLOWED audit record under `action` at once, before the call's own (RunMacro's start).
   * `facts` (resource, room) are what the use case knows so far: both records carry them.
   */
  recordNow(action: string, details: Record<string, unknown>, facts?: Omit<AuditFacts, "action" | "details">): Promise<void>;
}

/**
 * AuditFacts are what a use case tells the audit record of its call: what it
 * touched (`resource`, `roomId`), with names where it knows them, so that the
 * record still reads well once the thing is deleted. The action is derived
 * from the method (defaultAction) unless a use case records a different one.
 */
export interface AuditFacts {
  resource?: string;
  roomId?: string;
  details?: Record<string, unknown>;
  action?: string;
}

/** Outcome is a use case's result and the audit facts of the call that produced it. */
export interface Outcome<T> {
  value: T;
  audit?: AuditFacts;
}

/** outcome pairs a result with its audit facts. */
export function outcome<T>(value: T, audit?: AuditFacts): Outcome<T> {
  return audit === undefined ? { value } : { value, audit };
}
