import type { HandlerContext } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { kAfterCommit, kAfterRollback, kAuditNote, kPrincipal, kRequestInfo, type AfterCommit, type AuditNote, type Principal, type RequestInfo } from "../context.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { kTransaction } from "../interceptors/audit.js";

/** principalOf answers the authenticated caller (the authn interceptor put it there). */
export function principalOf(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(kPrincipal);
  if (!principal) throw new DomainError("unauthenticated", "UNAUTHENTICATED", "credentials required");
  return principal;
}

/** requestInfoOf answers the request id, client IP and user agent. */
export function requestInfoOf(ctx: HandlerContext): RequestInfo {
  return ctx.values.get(kRequestInfo);
}

/** auditNoteOf answers the mutable audit facts of this call. */
export function auditNoteOf(ctx: HandlerContext): AuditNote {
  let note = ctx.values.get(kAuditNote);
  if (!note) {
    note = {};
    ctx.values.set(kAuditNote, note);
  }
  return note;
}

/**
 * transactionOf answers the transaction of a mutating call, opened by the
 * unit-of-work interceptor; its audit record commits with it.
 */
export function transactionOf(ctx: HandlerContext): EntityManager {
  const tx = ctx.values.get(kTransaction) as EntityManager | undefined;
  if (!tx) throw new Error("no transaction: the method's access rule must say mutates");
  return tx;
}

/**
 * afterCommit runs `work` once the call's transaction has committed (at once
 * when the call has no transaction): for cache invalidations, so that no
 * replica reloads the old rows before the new ones are visible.
 */
export function afterCommit(ctx: HandlerContext, work: AfterCommit): void {
  const queue = ctx.values.get(kAfterCommit);
  if (queue) queue.push(work);
  else void Promise.resolve().then(work).catch(() => undefined);
}

/**
 * afterRollback runs `work` if the call's transaction rolls back (the call
 * fails), outside that transaction: for a record of the failure that must
 * survive the rollback. Without a transaction it is dropped.
 */
export function afterRollback(ctx: HandlerContext, work: AfterCommit): void {
  ctx.values.get(kAfterRollback)?.push(work);
}

/**
 * inCallerTenant runs a read in the caller's tenant (row-level security
 * scoped), or in the call's own transaction when it has one.
 */
export function inCallerTenant<T>(ctx: HandlerContext, deps: Deps, fn: (em: EntityManager) => Promise<T>): Promise<T> {
  const tx = ctx.values.get(kTransaction) as EntityManager | undefined;
  if (tx) return fn(tx);
  return deps.db.inTenant(principalOf(ctx).tenantId, fn);
}

/** PageRequest is the AIP pagination input. */
export interface PageRequest {
  pageSize: number;
  pageToken: string;
}

/** defaultPageSize is the page a List method returns for page_size 0. */
export const defaultPageSize = 50;

/** maxPageSize is the largest page a List method returns. */
export const maxPageSize = 1000;

/**
 * pageOf validates page_size (0 → 50, max 1000, negative refused) and decodes
 * page_token, an opaque base64url offset-free cursor of our own.
 */
export function pageOf(req: PageRequest): { limit: number; after: string | undefined } {
  if (!Number.isInteger(req.pageSize) || req.pageSize < 0) throw invalidArgument("page_size", "must be 0 or more", String(req.pageSize));
  const limit = req.pageSize === 0 ? defaultPageSize : Math.min(req.pageSize, maxPageSize);
  if (req.pageToken === "") return { limit, after: undefined };
  let after: string;
  try {
    after = Buffer.from(req.pageToken, "base64url").toString("utf8");
  } catch {
    throw invalidArgument("page_token", "is not a token this server issued");
  }
  if (!after.startsWith("c1:") || after.length > 512) throw invalidArgument("page_token", "is not a token this server issued");
  return { limit, after: after.slice(3) };
}

/** pageToken encodes a cursor as an opaque page_token. */
export function pageToken(cursor: string | undefined): string {
  return cursor === undefined ? "" : Buffer.from(`c1:${cursor}`, "utf8").toString("base64url");
}

/** requireText refuses an empty or overlong string field. */
export function requireText(field: string, value: string, max = 256): string {
  const trimmed = value.trim();
  if (trimmed === "") throw invalidArgument(field, "is required");
  if (trimmed.length > max) throw invalidArgument(field, `must be at most ${max} characters`);
  return trimmed;
}

/** actorUuid lives with the use cases (src/app/actor.ts); re-exported for the handlers not converted yet. */
export { actorUuid } from "../app/actor.js";
