import { outcome, type Call, type Outcome } from "../call.js";
import { leaseMs } from "../../domain/lock-lease.js";
import type { LockInfo } from "../../locks/lock-manager.js";
import { lockScope } from "../../locks/lock-targets.js";
import { holderOf, type LockDeps, type LockInput } from "./lock-deps.js";

/** refreshLock extends the caller's own lease (LOCK_REQUIRED if it holds none) and records its new end. */
export async function refreshLock(deps: LockDeps, call: Call, input: LockInput & { ttlSeconds?: number }): Promise<Outcome<LockInfo>> {
  const roomId = input.roomId.toLowerCase();
  const target = input.target.text;
  const ttlMs = leaseMs(input.ttlSeconds, deps.config.lockMinTtlSeconds);
  const info = await deps.locks.refresh(lockScope(call.principal.tenantId, roomId), target, call.principal.userId, ttlMs);
  await call.inTx((tx) => deps.lockTargets.recordLeaseExpiry(tx, roomId, target, holderOf(call.principal), info.expiresAt));
  return outcome(info, { resource: target, roomId, details: { fencingToken: info.fencingToken.toString(), expiresAt: info.expiresAt.toISOString() } });
}

/** releaseLock gives up the caller's own lease (LOCKED if another holds it, LOCK_REQUIRED if none does). */
export async function releaseLock(deps: LockDeps, call: Call, input: LockInput): Promise<Outcome<void>> {
  const roomId = input.roomId.toLowerCase();
  const target = input.target.text;
  await deps.locks.release(lockScope(call.principal.tenantId, roomId), target, call.principal.userId);
  await call.inTx((tx) => deps.lockTargets.markReleased(tx, roomId, target, call.principal.username));
  return outcome(undefined, { resource: target, roomId });
}

/** breakLock removes whoever's lease on the target (room admins) and answers the broken lease, if there was one. */
export async function breakLock(deps: LockDeps, call: Call, input: LockInput): Promise<Outcome<LockInfo | undefined>> {
  const roomId = input.roomId.toLowerCase();
  const target = input.target.text;
  const info = await deps.locks.break(lockScope(call.principal.tenantId, roomId), target);
  await call.inTx((tx) => deps.lockTargets.markReleased(tx, roomId, target));
  return outcome(info, {
    resource: target,
    roomId,
    details: info
      ? { brokenHolder: { ownerId: info.ownerId, ownerName: info.ownerName, fencingToken: info.fencingToken.toString() } }
      : { wasFree: true },
  });
}
