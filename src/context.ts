import { createContextKey } from "@connectrpc/connect";
import type { Level, RoomRole } from "../gen/gatehouse/v1/common_pb.js";

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
  /**
   * account is the user's row as read with the session state (same cache and
   * invalidations), so WhoAmI answers without a database round trip.
   */
  account?: AccountSnapshot;
}

/** AccountSnapshot is what WhoAmI shows of a user beyond the Principal. */
export interface AccountSnapshot {
  roleIds: readonly string[];
  disabled: boolean;
  createdAt: Date;
  updatedAt: Date;
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

/**
 * CheckedRoom is the room a method's access rule names (its room_field) and
 * the caller's role in it, looked up once by the authorization interceptor so
 * that nothing after it asks again.
 */
export interface CheckedRoom {
  roomId: string;
  role: RoomRole;
}

/** kCheckedRoom holds the room the access rule checked, if it checked one. */
export const kCheckedRoom = createContextKey<CheckedRoom | undefined>(undefined, { description: "checked room" });

/**
 * CallScope is how a call reaches its tenant's rows, set by the unit-of-work
 * interceptor for every authenticated call: a mutating call runs its work in
 * the one transaction its audit record commits with; a read opens a
 * tenant-scoped transaction per `run`. `Tx` stays opaque here: interceptors
 * know nothing of the store.
 */
export interface CallScope<Tx> {
  run<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
  /** afterCommit runs work once the transaction has committed (at once for a read). */
  afterCommit(work: AfterCommit): void;
  /** afterRollback runs work outside the transaction if it rolls back (dropped for a read). */
  afterRollback(work: AfterCommit): void;
}

/** kCallScope holds the CallScope of the current authenticated call. */
export const kCallScope = createContextKey<CallScope<unknown> | undefined>(undefined, { description: "call scope" });
