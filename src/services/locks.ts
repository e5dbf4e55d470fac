import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import { LockSchema, LocksService, type Lock } from "../../gen/gatehouse/v1/locks_pb.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import { LockedError } from "../locks/errors.js";
import type { LockInfo } from "../locks/lock-manager.js";
import { lockScope, parseLockTarget } from "../locks/lock-targets.js";
import { heldLocks, lockTargetExists, recordLeaseExpiry, serializeLockQuota, type LockHolderRef } from "../store/lock-holdings.js";
import type { StoreEntityManager } from "../store/orm.js";
import { actorUuid, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, transactionOf } from "./support.js";

/** maxTtlSeconds is the longest lock lease (the shortest is config.lockMinTtlSeconds). */
export const maxTtlSeconds = 1800;

/** defaultTtlSeconds is the lease of an AcquireLock or RefreshLock that leaves ttl_seconds unset. */
export const defaultTtlSeconds = 900;

function lockMessage(info: LockInfo): Lock {
  return create(LockSchema, {
    target: info.target,
    ownerId: info.ownerId,
    ownerName: info.ownerName,
    fencingToken: info.fencingToken,
    acquiredAt: timestampFromDate(info.acquiredAt),
    expiresAt: timestampFromDate(info.expiresAt),
  });
}

/**
 * lockQuotaExceeded is RESOURCE_EXHAUSTED `LOCK_QUOTA` with the limit reached
 * and, as `layer`, which one: `user` (GATEHOUSE_LOCKS_PER_USER) or `tenant`
 * (GATEHOUSE_LOCKS_PER_TENANT).
 */
function lockQuotaExceeded(layer: "user" | "tenant", limit: number): DomainError {
  const whose = layer === "user" ? "you hold" : "this tenant holds";
  return new DomainError("resource_exhausted", "LOCK_QUOTA", `${whose} ${limit} locks, the most allowed; release one first`, { layer, limit });
}

/**
 * createLocksService implements LocksService over the lock manager (Redlock
 * over the configured Redis nodes, or in-process) with fencing tokens from
 * Postgres. Every acquisition, refresh, release and break is audited, and an
 * acquisition that finds the previous lease lapsed unreleased says so.
 *
 * AcquireLock takes only targets that exist in the room (NOT_FOUND
 * otherwise), and a new lock only while its holder holds fewer than
 * `locksPerUser` locks and the tenant fewer than `locksPerTenant`
 * (RESOURCE_EXHAUSTED `LOCK_QUOTA`); acquiring a lock one holds (a refresh)
 * is never refused by the quota. The counts come from `lock_targets`, under
 * a per-tenant advisory lock held until the call commits, so concurrent
 * acquisitions can't overshoot; a target someone else holds is refused
 * (LOCKED) before that lock is taken.
 */
export function createLocksService(deps: Deps): ServiceImpl<typeof LocksService> {
  /**
   * requireLockQuota refuses a new lock past either quota. A target someone
   * else holds answers LOCKED at once (without waiting for the tenant's
   * quota lock); one the caller holds is a refresh, never refused.
   */
  const requireLockQuota = async (tx: StoreEntityManager, scope: string, tenantId: string, holder: LockHolderRef & { principalId: string; target: string }) => {
    const current = await deps.locks.get(scope, holder.target);
    if (current && current.ownerId !== holder.principalId) throw new LockedError(current);
    if (current) return;
    await serializeLockQuota(tx, tenantId);
    const held = await heldLocks(tx, tenantId, holder);
    if (held.byHolder >= deps.config.locksPerUser) throw lockQuotaExceeded("user", deps.config.locksPerUser);
    if (held.byTenant >= deps.config.locksPerTenant) throw lockQuotaExceeded("tenant", deps.config.locksPerTenant);
  };
  const ttlMsOf = (ttl: number | undefined): number => {
    const seconds = ttl ?? defaultTtlSeconds;
    const min = deps.config.lockMinTtlSeconds;
    if (seconds < min || seconds > maxTtlSeconds) {
      throw invalidArgument("ttl_seconds", `must be from ${min} to ${maxTtlSeconds}`, String(seconds));
    }
    return seconds * 1000;
  };
  const scoped = (ctx: HandlerContext, req: { roomId: string; target: string }, action: string) => {
    const principal = principalOf(ctx);
    const roomId = req.roomId.toLowerCase();
    const target = parseLockTarget(req.target);
    const note = auditNoteOf(ctx);
    note.action = action;
    note.resource = target.text;
    note.roomId = roomId;
    return { principal, roomId, target, scope: lockScope(principal.tenantId, roomId) };
  };
  return {
    async acquireLock(req, ctx) {
      const { principal, roomId, target, scope } = scoped(ctx, req, "locks.acquire");
      const ttlMs = ttlMsOf(req.ttlSeconds);
      const tx = transactionOf(ctx);
      if (!(await lockTargetExists(tx, roomId, target.kind, target.id))) throw notFound(target.kind);
      await requireLockQuota(tx, scope, principal.tenantId, { id: actorUuid(principal), name: principal.username, principalId: principal.userId, target: target.text });
      const info = await deps.locks.acquire(scope, target.text, { id: principal.userId, name: principal.username }, ttlMs);
      // Bookkeeping for "expiry noticed": who had the previous token, and was it released?
      const [previous] = (await tx.execute(
        "select last_owner_id, last_owner_name, held, last_token from lock_targets where room_id = ? and target = ?",
        [roomId, target.text],
      )) as Array<{ last_owner_id: string | null; last_owner_name: string | null; held: boolean; last_token: string | number }>;
      const refreshed = previous && previous.held && previous.last_owner_id === actorUuid(principal) && previous.last_owner_name === principal.username && BigInt(previous.last_token) === info.fencingToken;
      const lapsed = previous?.held && !refreshed && previous.last_owner_id !== null;
      await tx.execute(
        "update lock_targets set last_owner_id = ?, last_owner_name = ?, last_acquired_at = ?, expires_at = ?, held = true where room_id = ? and target = ?",
        [actorUuid(principal), principal.username, info.acquiredAt, info.expiresAt, roomId, target.text],
      );
      auditNoteOf(ctx).details = {
        fencingToken: info.fencingToken.toString(),
        ttlSeconds: ttlMs / 1000,
        expiresAt: info.expiresAt.toISOString(),
        ...(refreshed ? { refreshed: true } : {}),
        ...(lapsed ? { previousLeaseExpired: { ownerId: previous!.last_owner_id, ownerName: previous!.last_owner_name } } : {}),
      };
      return { lock: lockMessage(info) };
    },

    async refreshLock(req, ctx) {
      const { principal, roomId, scope, target } = scoped(ctx, req, "locks.refresh");
      const ttlMs = ttlMsOf(req.ttlSeconds);
      const info = await deps.locks.refresh(scope, target.text, principal.userId, ttlMs);
      await recordLeaseExpiry(transactionOf(ctx), roomId, target.text, { id: actorUuid(principal), name: principal.username }, info.expiresAt);
      auditNoteOf(ctx).details = { fencingToken: info.fencingToken.toString(), expiresAt: info.expiresAt.toISOString() };
      return { lock: lockMessage(info) };
    },

    async releaseLock(req, ctx) {
      const { principal, roomId, scope, target } = scoped(ctx, req, "locks.release");
      await deps.locks.release(scope, target.text, principal.userId);
      await transactionOf(ctx).execute("update lock_targets set held = false where room_id = ? and target = ? and last_owner_name = ?", [roomId, target.text, principal.username]);
      return {};
    },

    async getLock(req, ctx) {
      const { scope, target } = scoped(ctx, req, "locks.get");
      const info = await deps.locks.get(scope, target.text);
      return { lock: info ? lockMessage(info) : undefined };
    },

    async listLocks(req, ctx) {
      // lock_targets marks the targets whose lease was taken and not released
      // or broken; the lock store says which of them are still held (a lease
      // that lapsed stays marked until its next acquisition).
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const page = pageOf(req);
      const scope = lockScope(principal.tenantId, roomId);
      const locks: Lock[] = [];
      let after = page.after;
      let exhausted = false;
      while (locks.length < page.limit && !exhausted) {
        const rows = (await inCallerTenant(ctx, deps, (em) =>
          em.execute(`select target from lock_targets where room_id = ? and held${after !== undefined ? " and target > ?" : ""} order by target limit ?`, [
            roomId,
            ...(after !== undefined ? [after] : []),
            page.limit + 1,
          ]),
        )) as Array<{ target: string }>;
        exhausted = rows.length <= page.limit;
        const infos = await Promise.all(rows.map((r) => deps.locks.get(scope, r.target)));
        for (const [i, info] of infos.entries()) {
          if (locks.length === page.limit) {
            exhausted = false;
            break;
          }
          after = rows[i]!.target;
          if (info) locks.push(lockMessage(info));
        }
      }
      return { locks, nextPageToken: exhausted ? "" : pageToken(after) };
    },

    async breakLock(req, ctx) {
      const { roomId, scope, target } = scoped(ctx, req, "locks.break");
      const info = await deps.locks.break(scope, target.text);
      await transactionOf(ctx).execute("update lock_targets set held = false where room_id = ? and target = ?", [roomId, target.text]);
      auditNoteOf(ctx).details = info
        ? { brokenHolder: { ownerId: info.ownerId, ownerName: info.ownerName, fencingToken: info.fencingToken.toString() } }
        : { wasFree: true };
      return { lock: info ? lockMessage(info) : undefined };
    },
  };
}
