import { createContextKey } from "@connectrpc/connect";
import type { Level } from "../gen/gatehouse/v1/common_pb.js";

/**
 * Principal is the authenticated caller of a request.
 */
export interface Principal {
  userId: string;
  username: string;
  tenantId: string;
  level: Level;
  sessionId: string;
  /** permissions is the union of the user's roles' keys. */
  permissions: ReadonlySet<string>;
  roles: readonly string[];
  /** via tells how the caller authenticated; cookie calls that mutate need CSRF. */
  via: "bearer" | "cookie" | "room-token";
  /** roomToken, for room-token callers, is the one room and role it grants. */
  roomToken?: { roomId: string; role: number };
  sessionExpiresAt?: Date;
}

/** RequestInfo is what the transport tells about a request. */
export interface RequestInfo {
  requestId: string;
  ip: string;
  userAgent: string;
  startedAt: bigint;
}

/** kRequestInfo holds the request id, client address and user agent. */
export const kRequestInfo = createContextKey<RequestInfo>(
  { requestId: "", ip: "", userAgent: "", startedAt: 0n },
  { description: "request info" },
);

/** kPrincipal holds the authenticated caller, if any. */
export const kPrincipal = createContextKey<Principal | undefined>(undefined, { description: "principal" });

/**
 * AuditNote lets a handler add facts to the audit record of its call
 * (resource, room, details, action) without writing the record itself.
 */
export interface AuditNote {
  action?: string;
  resource?: string;
  roomId?: string;
  details?: Record<string, unknown>;
  /** tenantId overrides the principal's tenant (login before a principal exists). */
  tenantId?: string;
  actorId?: string;
  actorName?: string;
}

/** kAuditNote holds the mutable audit facts of the current call. */
export const kAuditNote = createContextKey<AuditNote | undefined>(undefined, { description: "audit note" });

/**
 * AfterCommit is work to do once a mutating call's transaction has committed:
 * cache invalidations broadcast to other replicas, which must not reload the
 * old rows before the new ones are visible.
 */
export type AfterCommit = () => void | Promise<void>;

/** kAfterCommit holds the after-commit work of the current call's unit of work. */
export const kAfterCommit = createContextKey<AfterCommit[] | undefined>(undefined, { description: "after commit" });

/**
 * kAfterRollback holds work to do once a mutating call's transaction has
 * rolled back (the call failed): a record of the failure that must outlive
 * the rollback, such as a repo's `last_error`. It runs outside the failed
 * transaction, and never after a commit.
 */
export const kAfterRollback = createContextKey<AfterCommit[] | undefined>(undefined, { description: "after rollback" });
