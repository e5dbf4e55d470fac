import type { HeldLocks, LockHolderRef, LockTargetStore } from "../../../src/store/lock-targets.js";

/** MemoryLockTarget is one row of the in-memory lock_targets. */
export interface MemoryLockTarget {
  roomId: string;
  target: string;
  lastToken: bigint;
  ownerId: string | null;
  ownerName: string | null;
  held: boolean;
  expiresAt: Date | null;
}

/** MemoryLockTargets is an in-memory LockTargetStore for one tenant, for use-case tests. */
export interface MemoryLockTargets extends LockTargetStore {
  rows: Map<string, MemoryLockTarget>;
  /** existing holds the `<roomId> <kind>/<id>` of the macros and repos that exist. */
  existing: Set<string>;
  /** serialized counts serializeQuota calls. */
  serialized: number;
}

const isHolder = (row: MemoryLockTarget, holder: LockHolderRef) =>
  holder.id !== null ? row.ownerId === holder.id : row.ownerId === null && row.ownerName === holder.name;

/** memoryLockTargets answers as the ORM store does, over a Map (expiry by the wall clock). */
export function memoryLockTargets(): MemoryLockTargets {
  const rows = new Map<string, MemoryLockTarget>();
  const key = (roomId: string, target: string) => `${roomId} ${target}`;
  const store: MemoryLockTargets = {
    rows,
    existing: new Set(),
    serialized: 0,
    async targetExists(_tx, roomId, kind, id) {
      return store.existing.has(`${roomId} ${kind}/${id}`);
    },
    async serializeQuota() {
      store.serialized += 1;
    },
    async heldLocks(_tx, _tenantId, holder): Promise<HeldLocks> {
      const live = [...rows.values()].filter((r) => r.held && r.expiresAt !== null && r.expiresAt.getTime() > Date.now());
      return { byHolder: live.filter((r) => isHolder(r, holder)).length, byTenant: live.length };
    },
    async lastHolding(_tx, roomId, target) {
      const row = rows.get(key(roomId, target));
      return row && { ownerId: row.ownerId, ownerName: row.ownerName, held: row.held, lastToken: row.lastToken };
    },
    async markAcquired(_tx, roomId, target, holder, lease) {
      const row = rows.get(key(roomId, target));
      if (row) Object.assign(row, { ownerId: holder.id, ownerName: holder.name, held: true, expiresAt: lease.expiresAt });
    },
    async recordLeaseExpiry(_tx, roomId, target, holder, expiresAt) {
      const row = rows.get(key(roomId, target));
      if (row?.held && isHolder(row, holder)) row.expiresAt = expiresAt;
    },
    async markReleased(_tx, roomId, target, byOwnerName) {
      const row = rows.get(key(roomId, target));
      if (row && (byOwnerName === undefined || row.ownerName === byOwnerName)) row.held = false;
    },
    async heldTargets(_tx, roomId, page) {
      return [...rows.values()]
        .filter((r) => r.roomId === roomId && r.held && (page.after === undefined || r.target > page.after))
        .map((r) => r.target)
        .sort()
        .slice(0, page.limit);
    },
    async nextFencingToken(_tx, _tenantId, roomId, target) {
      const row = rows.get(key(roomId, target)) ?? { roomId, target, lastToken: 0n, ownerId: null, ownerName: null, held: false, expiresAt: null };
      row.lastToken += 1n;
      rows.set(key(roomId, target), row);
      return row.lastToken;
    },
  };
  return store;
}
