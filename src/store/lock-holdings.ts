import type { StoreEntityManager } from "./orm.js";

/**
 * The lock service's bookkeeping in `lock_targets`, beside the leases
 * themselves (Redis or memory): whether a target exists in its room, who
 * holds what until when, and the counts the lock quotas are checked against.
 * Every function runs in the caller's tenant-scoped transaction.
 */

/** LockHolderRef is who acquires or holds a lock: a user (id) or a room token (no id, its actor name). */
export interface LockHolderRef {
  /** id is the user's id, or null for a room-token principal. */
  id: string | null;
  name: string;
}

/** lockTargetExists says whether `macro/<id>` or `repo/<id>` names a macro or repo of the room. */
export async function lockTargetExists(em: StoreEntityManager, roomId: string, kind: "macro" | "repo", id: string): Promise<boolean> {
  const table = kind === "macro" ? "macros" : "repos";
  const rows = (await em.execute(`select 1 from ${table} where room_id = ? and id = ?`, [roomId, id])) as unknown[];
  return rows.length > 0;
}

/**
 * serializeLockQuota makes the tenant's acquisitions wait for each other
 * until the transaction ends (a transaction-scoped advisory lock), so two
 * acquisitions can't both see room for one more lock.
 */
export async function serializeLockQuota(em: StoreEntityManager, tenantId: string): Promise<void> {
  await em.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [`gatehouse:lock-quota:${tenantId}`]);
}

/** HeldLocks are the counts a lock quota is checked against. */
export interface HeldLocks {
  /** byHolder counts the locks the holder holds now. */
  byHolder: number;
  /** byTenant counts the locks the tenant's holders hold now. */
  byTenant: number;
}

/** A held row counts until its expiry; rows from before expires_at existed count for the longest lease (30 minutes). */
const live = "held and coalesce(expires_at, last_acquired_at + interval '30 minutes') > now()";
const mine = "(last_owner_id = ? or (last_owner_id is null and ?::uuid is null and last_owner_name = ?))";

/** heldLocks counts the locks held now by `holder` and by the whole tenant. */
export async function heldLocks(em: StoreEntityManager, tenantId: string, holder: LockHolderRef): Promise<HeldLocks> {
  const rows = (await em.execute(
    `select count(*) filter (where ${mine})::int as by_holder, count(*)::int as by_tenant
       from lock_targets where tenant_id = ? and ${live}`,
    [holder.id, holder.id, holder.name, tenantId],
  )) as Array<{ by_holder: number; by_tenant: number }>;
  const row = rows[0]!;
  return { byHolder: Number(row.by_holder), byTenant: Number(row.by_tenant) };
}

/** recordLeaseExpiry stores the new end of the holder's lease on a target (AcquireLock, RefreshLock). */
export async function recordLeaseExpiry(em: StoreEntityManager, roomId: string, target: string, holder: LockHolderRef, expiresAt: Date): Promise<void> {
  await em.execute(`update lock_targets set expires_at = ? where room_id = ? and target = ? and held and ${mine}`, [
    expiresAt,
    roomId,
    target,
    holder.id,
    holder.id,
    holder.name,
  ]);
}

/** releaseDeletedTarget marks a deleted macro's or repo's lock as no longer held, so it stops counting against the quotas. */
export async function releaseDeletedTarget(em: StoreEntityManager, roomId: string, target: string): Promise<void> {
  await em.execute("update lock_targets set held = false where room_id = ? and target = ?", [roomId, target]);
}
