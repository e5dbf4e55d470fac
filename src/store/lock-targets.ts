import type { FilterQuery } from "@mikro-orm/core";
import { LockTargetSchema, type LockTargetEntity } from "./entities/lock-target.js";
import type { Tx } from "./tx.js";

/** LockHolderRef is who acquires or holds a lock: a user (id) or a room token (no id, its actor name). */
export interface LockHolderRef {
  /** id is the user's id, or null for a room-token principal. */
  id: string | null;
  name: string;
}

/** HeldLocks are the counts a lock quota is checked against. */
export interface HeldLocks {
  /** byHolder counts the locks the holder holds now. */
  byHolder: number;
  /** byTenant counts the locks the tenant's holders hold now. */
  byTenant: number;
}

/** LastHolding is what lock_targets remembers of a target's last acquisition. */
export interface LastHolding {
  ownerId: string | null;
  ownerName: string | null;
  held: boolean;
  lastToken: bigint;
}

/**
 * LockTargetStore is the lock service's bookkeeping in `lock_targets`, beside
 * the leases themselves (Redis or memory): whether a target exists in its
 * room, who holds what until when, the counts the lock quotas are checked
 * against, and the fencing tokens. Every method runs in a tenant-scoped
 * transaction.
 */
export interface LockTargetStore {
  /** targetExists says whether `macro/<id>` or `repo/<id>` names a macro or repo of the room. */
  targetExists(tx: Tx, roomId: string, kind: "macro" | "repo", id: string): Promise<boolean>;
  /**
   * serializeQuota makes the tenant's acquisitions wait for each other until
   * the transaction ends, so two acquisitions can't both see room for one more lock.
   */
  serializeQuota(tx: Tx, tenantId: string): Promise<void>;
  /** heldLocks counts the locks held now by `holder` and by the whole tenant. */
  heldLocks(tx: Tx, tenantId: string, holder: LockHolderRef): Promise<HeldLocks>;
  /** lastHolding answers the target's last acquisition, or undefined if it has no row. */
  lastHolding(tx: Tx, roomId: string, target: string): Promise<LastHolding | undefined>;
  /** markAcquired records the holder of a new or refreshed lease and its end. */
  markAcquired(tx: Tx, roomId: string, target: string, holder: LockHolderRef, lease: { acquiredAt: Date; expiresAt: Date }): Promise<void>;
  /** recordLeaseExpiry stores the new end of the holder's lease on a target (RefreshLock). */
  recordLeaseExpiry(tx: Tx, roomId: string, target: string, holder: LockHolderRef, expiresAt: Date): Promise<void>;
  /**
   * markReleased marks a target no longer held, so it stops counting against
   * the quotas: by its last holder's name (ReleaseLock) or whoever held it
   * (BreakLock, a deleted macro or repo).
   */
  markReleased(tx: Tx, roomId: string, target: string, byOwnerName?: string): Promise<void>;
  /** heldTargets answers up to `limit` targets of the room marked held, by target, after `after`. */
  heldTargets(tx: Tx, roomId: string, page: { limit: number; after?: string }): Promise<string[]>;
  /** nextFencingToken issues the target's next fencing token (its row is created at the first). */
  nextFencingToken(tx: Tx, tenantId: string, roomId: string, target: string): Promise<bigint>;
}

/** holderIs selects rows whose last owner is `holder`: a user by id, a room token (no id) by name. */
function holderIs(holder: LockHolderRef): FilterQuery<LockTargetEntity> {
  return holder.id !== null ? { lastOwnerId: holder.id } : { lastOwnerId: null, lastOwnerName: holder.name };
}

/** ormLockTargetStore is the LockTargetStore on MikroORM. */
export const ormLockTargetStore: LockTargetStore = {
  async targetExists(tx, roomId, kind, id) {
    // Plain SQL: macros and repos are another aggregate's tables; this asks only whether a row exists.
    const table = kind === "macro" ? "macros" : "repos";
    const rows = (await tx.execute(`select 1 from ${table} where room_id = ? and id = ?`, [roomId, id])) as unknown[];
    return rows.length > 0;
  },

  async serializeQuota(tx, tenantId) {
    // Plain SQL: a transaction-scoped advisory lock, which the ORM cannot express.
    await tx.execute("select pg_advisory_xact_lock(hashtextextended(?, 0))", [`gatehouse:lock-quota:${tenantId}`]);
  },

  async heldLocks(tx, tenantId, holder) {
    // Plain SQL: two filtered counts in one pass, and the lease end of rows from before
    // expires_at existed (30 minutes after their acquisition) is interval arithmetic the QB cannot say.
    const mine = "(last_owner_id = ? or (last_owner_id is null and ?::uuid is null and last_owner_name = ?))";
    const live = "held and coalesce(expires_at, last_acquired_at + interval '30 minutes') > now()";
    const rows = (await tx.execute(
      `select count(*) filter (where ${mine})::int as by_holder, count(*)::int as by_tenant
         from lock_targets where tenant_id = ? and ${live}`,
      [holder.id, holder.id, holder.name, tenantId],
    )) as Array<{ by_holder: number; by_tenant: number }>;
    const row = rows[0]!;
    return { byHolder: Number(row.by_holder), byTenant: Number(row.by_tenant) };
  },

  async lastHolding(tx, roomId, target) {
    const row = await tx.findOne(
      LockTargetSchema,
      { roomId, target },
      { fields: ["lastOwnerId", "lastOwnerName", "held", "lastToken"], disableIdentityMap: true },
    );
    if (!row) return undefined;
    return { ownerId: row.lastOwnerId, ownerName: row.lastOwnerName, held: row.held, lastToken: BigInt(row.lastToken) };
  },

  async markAcquired(tx, roomId, target, holder, lease) {
    await tx.nativeUpdate(
      LockTargetSchema,
      { roomId, target },
      { lastOwnerId: holder.id, lastOwnerName: holder.name, lastAcquiredAt: lease.acquiredAt, expiresAt: lease.expiresAt, held: true },
    );
  },

  async recordLeaseExpiry(tx, roomId, target, holder, expiresAt) {
    await tx.nativeUpdate(LockTargetSchema, { roomId, target, held: true, ...holderIs(holder) }, { expiresAt });
  },

  async markReleased(tx, roomId, target, byOwnerName) {
    await tx.nativeUpdate(
      LockTargetSchema,
      { roomId, target, ...(byOwnerName !== undefined ? { lastOwnerName: byOwnerName } : {}) },
      { held: false },
    );
  },

  async heldTargets(tx, roomId, page) {
    const rows = await tx.find(
      LockTargetSchema,
      { roomId, held: true, ...(page.after !== undefined ? { target: { $gt: page.after } } : {}) },
      { fields: ["target"], orderBy: { target: "asc" }, limit: page.limit, disableIdentityMap: true },
    );
    return rows.map((r) => r.target);
  },

  async nextFencingToken(tx, tenantId, roomId, target) {
    // Plain SQL: an atomic increment of the existing row on conflict, returning the new value.
    const rows = (await tx.execute(
      `insert into lock_targets (tenant_id, room_id, target, last_token) values (?, ?, ?, 1)
       on conflict (tenant_id, room_id, target) do update set last_token = lock_targets.last_token + 1
       returning last_token`,
      [tenantId, roomId, target],
    )) as Array<{ last_token: string | number }>;
    return BigInt(rows[0]!.last_token);
  },
};
