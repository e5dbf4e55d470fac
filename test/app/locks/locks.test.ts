import { randomUUID } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { acquireLock } from "../../../src/app/locks/acquire-lock.js";
import { breakLock, refreshLock, releaseLock } from "../../../src/app/locks/lease-changes.js";
import type { LockDeps } from "../../../src/app/locks/lock-deps.js";
import { getLock, listLocks } from "../../../src/app/locks/read-locks.js";
import { DomainError } from "../../../src/domain/errors.js";
import { LockedError } from "../../../src/locks/errors.js";
import type { LockManager } from "../../../src/locks/lock-manager.js";
import { parseLockTarget, type LockTarget } from "../../../src/locks/lock-targets.js";
import { createMemoryLockManager } from "../../../src/locks/memory-manager.js";
import { testCall } from "../../support/app-call.js";
import { memoryLockTargets, type MemoryLockTargets } from "../../support/memory-stores/lock-targets.js";

const roomId = "00000000-0000-4000-8000-0000000000aa";
const alice = testCall({ userId: "00000000-0000-4000-8000-00000000a11c", username: "alice" });
const bob = testCall({ userId: "00000000-0000-4000-8000-000000000b0b", username: "bob" });

describe("lock use cases", () => {
  let lockTargets: MemoryLockTargets;
  let locks: LockManager;
  let deps: LockDeps;

  beforeEach(() => {
    lockTargets = memoryLockTargets();
    // The lock manager's fencing tokens come from the bookkeeping store, as the Postgres counter's do.
    locks = createMemoryLockManager({
      fencing: { next: (scope, target) => lockTargets.nextFencingToken(undefined as never, "", scope.split("/")[1]!, target) },
    });
    deps = { locks, lockTargets, config: { lockMinTtlSeconds: 10, locksPerUser: 2, locksPerTenant: 3 } };
  });
  afterEach(async () => {
    await locks.close?.();
  });

  /** macro makes a macro target that exists in the room. */
  const macro = (): LockTarget => {
    const target = parseLockTarget(`macro/${randomUUID()}`);
    lockTargets.existing.add(`${roomId} ${target.text}`);
    return target;
  };

  it("acquires an existing target and names it in the audit facts", async () => {
    const target = macro();
    const done = await acquireLock(deps, alice, { roomId: roomId.toUpperCase(), target, ttlSeconds: 60 });
    expect(done.value).toMatchObject({ target: target.text, ownerId: alice.principal.userId, fencingToken: 1n });
    expect(done.audit).toMatchObject({ resource: target.text, roomId, details: { fencingToken: "1", ttlSeconds: 60 } });
    expect(done.audit?.action).toBeUndefined();
    expect((await getLock(deps, bob, { roomId, target }))?.ownerName).toBe("alice");
  });

  it("refuses a target that does not exist, a lease out of range, and a lock another holds", async () => {
    await expect(acquireLock(deps, alice, { roomId, target: parseLockTarget(`repo/${randomUUID()}`) })).rejects.toMatchObject({ reason: "NOT_FOUND" });
    await expect(acquireLock(deps, alice, { roomId, target: macro(), ttlSeconds: 5 })).rejects.toThrow(/ttl_seconds/);
    const target = macro();
    await acquireLock(deps, alice, { roomId, target });
    await expect(acquireLock(deps, bob, { roomId, target })).rejects.toThrow(LockedError);
  });

  it("says an acquisition of one's own lock is a refresh, never refused by the quota", async () => {
    const [a, b] = [macro(), macro()];
    await acquireLock(deps, alice, { roomId, target: a });
    await acquireLock(deps, alice, { roomId, target: b });
    const again = await acquireLock(deps, alice, { roomId, target: a });
    expect(again.audit?.details).toMatchObject({ refreshed: true, fencingToken: "1" });
  });

  it("refuses a new lock past the holder's and then the tenant's quota with LOCK_QUOTA", async () => {
    await acquireLock(deps, alice, { roomId, target: macro() });
    await acquireLock(deps, alice, { roomId, target: macro() });
    const refused = await acquireLock(deps, alice, { roomId, target: macro() }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(DomainError);
    expect(refused).toMatchObject({ reason: "LOCK_QUOTA", facts: { layer: "user", limit: 2 } });
    await acquireLock(deps, bob, { roomId, target: macro() });
    await expect(acquireLock(deps, bob, { roomId, target: macro() })).rejects.toMatchObject({ reason: "LOCK_QUOTA", facts: { layer: "tenant", limit: 3 } });
    expect(lockTargets.serialized).toBeGreaterThanOrEqual(5);
  });

  it("notes a previous lease that lapsed unreleased", async () => {
    const target = macro();
    await acquireLock(deps, alice, { roomId, target });
    await locks.break(`${alice.principal.tenantId}/${roomId}`, target.text); // gone from the manager, still marked held
    const next = await acquireLock(deps, bob, { roomId, target });
    expect(next.audit?.details).toMatchObject({ previousLeaseExpired: { ownerId: alice.principal.userId, ownerName: "alice" }, fencingToken: "2" });
  });

  it("refreshes, releases and breaks, keeping the bookkeeping in step", async () => {
    const [a, b] = [macro(), macro()];
    await acquireLock(deps, alice, { roomId, target: a, ttlSeconds: 10 });
    await acquireLock(deps, alice, { roomId, target: b });
    const refreshed = await refreshLock(deps, alice, { roomId, target: a, ttlSeconds: 600 });
    expect(refreshed.value.expiresAt.getTime()).toBeGreaterThan(Date.now() + 500_000);
    expect(lockTargets.rows.get(`${roomId} ${a.text}`)?.expiresAt).toEqual(refreshed.value.expiresAt);
    await expect(releaseLock(deps, bob, { roomId, target: a })).rejects.toThrow(LockedError);
    expect((await releaseLock(deps, alice, { roomId, target: a })).audit).toEqual({ resource: a.text, roomId });
    expect(lockTargets.rows.get(`${roomId} ${a.text}`)?.held).toBe(false);
    const broken = await breakLock(deps, bob, { roomId, target: b });
    expect(broken.audit?.details).toMatchObject({ brokenHolder: { ownerName: "alice", fencingToken: "1" } });
    expect((await breakLock(deps, bob, { roomId, target: b })).audit?.details).toEqual({ wasFree: true });
  });

  it("lists held locks page by page, skipping leases that lapsed", async () => {
    const targets = [macro(), macro(), macro()].sort((x, y) => x.text.localeCompare(y.text));
    await acquireLock(deps, alice, { roomId, target: targets[0]! });
    await acquireLock(deps, bob, { roomId, target: targets[1]! });
    await acquireLock(deps, bob, { roomId, target: targets[2]! });
    await locks.break(`${alice.principal.tenantId}/${roomId}`, targets[1]!.text); // still marked held
    const first = await listLocks(deps, alice, { roomId, limit: 1 });
    expect(first.locks.map((l) => l.target)).toEqual([targets[0]!.text]);
    const second = await listLocks(deps, alice, { roomId, limit: 1, after: first.next! });
    expect(second.locks.map((l) => l.target)).toEqual([targets[2]!.text]);
    // A full page promises more; the next one finds none and says it is the last.
    const last = await listLocks(deps, alice, { roomId, limit: 1, after: second.next! });
    expect(last).toEqual({ locks: [], next: undefined });
  });
});
