import { outcome, type Call, type Outcome } from "../call.js";
import { notFound } from "../../domain/errors.js";
import { leaseMs, lockQuotaExceeded } from "../../domain/lock-lease.js";
import { LockedError } from "../../locks/errors.js";
import type { LockInfo } from "../../locks/lock-manager.js";
import { lockScope } from "../../locks/lock-targets.js";
import type { Tx } from "../../store/tx.js";
import { holderOf, type LockDeps, type LockInput } from "./lock-deps.js";

/**
 * acquireLock takes (or, for its holder, refreshes) the lease on a target that
 * exists in the room (NOT_FOUND otherwise). A new lock is granted only while
 * its holder holds fewer than `locksPerUser` locks and the tenant fewer than
 * `locksPerTenant` (RESOURCE_EXHAUSTED `LOCK_QUOTA`), counted from
 * lock_targets under a per-tenant lock held until the call commits, so
 * concurrent acquisitions can't overshoot. A target someone else holds is
 * refused (LOCKED) before that lock is taken. The audit details say whether
 * it was a refresh, or whether the previous lease lapsed unreleased.
 */
export async function acquireLock(deps: LockDeps, call: Call, input: LockInput & { ttlSeconds?: number }): Promise<Outcome<LockInfo>> {
  const { principal } = call;
  const roomId = input.roomId.toLowerCase();
  const target = input.target;
  const ttlMs = leaseMs(input.ttlSeconds, deps.config.lockMinTtlSeconds);
  const scope = lockScope(principal.tenantId, roomId);
  const holder = holderOf(principal);
  return call.inTx(async (tx) => {
    if (!(await deps.lockTargets.targetExists(tx, roomId, target.kind, target.id))) throw notFound(target.kind);
    await requireLockQuota(deps, tx, scope, call, target.text);
    const info = await deps.locks.acquire(scope, target.text, { id: principal.userId, name: principal.username }, ttlMs);
    // Bookkeeping for "expiry noticed": who had the previous token, and was it released?
    const previous = await deps.lockTargets.lastHolding(tx, roomId, target.text);
    const refreshed =
      previous !== undefined && previous.held && previous.ownerId === holder.id && previous.ownerName === holder.name && previous.lastToken === info.fencingToken;
    const lapsed = previous !== undefined && previous.held && !refreshed && previous.ownerId !== null;
    await deps.lockTargets.markAcquired(tx, roomId, target.text, holder, info);
    return outcome(info, {
      resource: target.text,
      roomId,
      details: {
        fencingToken: info.fencingToken.toString(),
        ttlSeconds: ttlMs / 1000,
        expiresAt: info.expiresAt.toISOString(),
        ...(refreshed ? { refreshed: true } : {}),
        ...(lapsed ? { previousLeaseExpired: { ownerId: previous.ownerId, ownerName: previous.ownerName } } : {}),
      },
    });
  });
}

/**
 * requireLockQuota refuses a new lock past either quota. A target someone
 * else holds answers LOCKED at once (without waiting for the tenant's quota
 * lock); one the caller holds is a refresh, never refused.
 */
async function requireLockQuota(deps: LockDeps, tx: Tx, scope: string, call: Call, target: string): Promise<void> {
  const { principal } = call;
  const current = await deps.locks.get(scope, target);
  if (current && current.ownerId !== principal.userId) throw new LockedError(current);
  if (current) return;
  await deps.lockTargets.serializeQuota(tx, principal.tenantId);
  const held = await deps.lockTargets.heldLocks(tx, principal.tenantId, holderOf(principal));
  if (held.byHolder >= deps.config.locksPerUser) throw lockQuotaExceeded("user", deps.config.locksPerUser);
  if (held.byTenant >= deps.config.locksPerTenant) throw lockQuotaExceeded("tenant", deps.config.locksPerTenant);
}
