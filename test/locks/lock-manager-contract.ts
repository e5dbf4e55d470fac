import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LockedError, LockRequiredError } from "../../src/locks/errors.js";
import type { LockInfo, LockManager, LockOwner } from "../../src/locks/lock-manager.js";

/** LockFixture is one implementation under test, with a way to let time pass. */
export interface LockFixture {
  /** managers are views of the same lock state (two processes for Redis; one in memory). */
  managers: LockManager[];
  /** elapse lets `ms` pass for the leases (real sleep for Redis, a fake clock in memory). */
  elapse(ms: number): Promise<void>;
  close(): Promise<void>;
}

const LONG = 60_000;
/** SHORT is the short TTL of the expiry tests, in ms. */
const SHORT = 300;

const alice: LockOwner = { id: "u-alice", name: "Alice" };
const bob: LockOwner = { id: "u-bob", name: "Bob" };

/** newScope answers a room scope no other test uses. */
function newScope(): string {
  return `tenant-${randomBytes(3).toString("hex")}/room-${randomBytes(3).toString("hex")}`;
}

/** rejection answers what a promise rejected with (failing if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  throw new Error("expected a rejection");
}

function expectLocked(err: unknown, holder: LockInfo): void {
  expect(err).toBeInstanceOf(LockedError);
  const e = err as LockedError;
  expect(e.reason).toBe("LOCKED");
  expect(e.kind).toBe("failed_precondition");
  expect(e.holder.ownerId).toBe(holder.ownerId);
  expect(e.holder.ownerName).toBe(holder.ownerName);
  expect(e.holder.fencingToken).toBe(holder.fencingToken);
  expect(e.facts.holder).toEqual({ holderId: holder.ownerId, holderName: holder.ownerName, expiresAt: e.holder.expiresAt });
}

function expectLockRequired(err: unknown, holderId?: string): void {
  expect(err).toBeInstanceOf(LockRequiredError);
  const e = err as LockRequiredError;
  expect(e.reason).toBe("LOCK_REQUIRED");
  expect(e.kind).toBe("failed_precondition");
  expect(e.holder?.ownerId).toBe(holderId);
}

/**
 * describeLockManagerContract runs the semantics every LockManager shares
 * (docs/concepts.md) against one implementation. Each test uses its own scope.
 */
export function describeLockManagerContract(label: string, setup: () => Promise<LockFixture>): void {
  describe(`${label}: lock manager contract`, () => {
    let fx: LockFixture;
    let locks: LockManager;
    beforeAll(async () => {
      fx = await setup();
      locks = fx.managers[0]!;
    });
    afterAll(async () => {
      await fx?.close();
    });

    describe("acquire", () => {
      it("grants a free target with a positive fencing token and the requested TTL", async () => {
        const scope = newScope();
        const info = await locks.acquire(scope, "macro/m1", alice, LONG);
        expect(info).toMatchObject({ target: "macro/m1", ownerId: alice.id, ownerName: alice.name });
        expect(info.fencingToken).toBeGreaterThan(0n);
        expect(info.expiresAt.getTime() - info.acquiredAt.getTime()).toBe(LONG);
        expect(await locks.get(scope, "macro/m1")).toEqual(info);
      });

      it("refuses a second owner with LockedError naming the holder and expiry", async () => {
        const scope = newScope();
        const held = await locks.acquire(scope, "macro/m1", alice, LONG);
        const err = await rejection(locks.acquire(scope, "macro/m1", bob, LONG));
        expectLocked(err, held);
        expect((err as LockedError).holder.expiresAt).toEqual(held.expiresAt);
        expect((await locks.get(scope, "macro/m1"))?.ownerId).toBe(alice.id);
      });

      it("refreshes when the holder acquires again: expiry moves, token and acquiredAt stay", async () => {
        const scope = newScope();
        const first = await locks.acquire(scope, "repo/r1", alice, LONG);
        await fx.elapse(30);
        const again = await locks.acquire(scope, "repo/r1", alice, LONG);
        expect(again.fencingToken).toBe(first.fencingToken);
        expect(again.acquiredAt).toEqual(first.acquiredAt);
        expect(again.expiresAt.getTime()).toBeGreaterThan(first.expiresAt.getTime());
        expect(await locks.get(scope, "repo/r1")).toEqual(again);
      });

      it("keeps scopes and targets apart", async () => {
        const scope = newScope();
        await locks.acquire(scope, "macro/m1", alice, LONG);
        await expect(locks.acquire(scope, "macro/m2", bob, LONG)).resolves.toMatchObject({ ownerId: bob.id });
        await expect(locks.acquire(scope, "repo/m1", bob, LONG)).resolves.toMatchObject({ ownerId: bob.id });
        await expect(locks.acquire(newScope(), "macro/m1", bob, LONG)).resolves.toMatchObject({ ownerId: bob.id });
      });

      it("refuses a TTL that is not a positive integer", async () => {
        await expect(locks.acquire(newScope(), "macro/m1", alice, 0)).rejects.toBeInstanceOf(RangeError);
        await expect(locks.acquire(newScope(), "macro/m1", alice, 1.5)).rejects.toBeInstanceOf(RangeError);
      });

      it("gives exactly one of 50 parallel acquirers the lock", async () => {
        const scope = newScope();
        const owners = Array.from({ length: 50 }, (_, i) => ({ id: `u-${i}`, name: `User ${i}` }));
        const results = await Promise.allSettled(
          owners.map((owner, i) => fx.managers[i % fx.managers.length]!.acquire(scope, "macro/hot", owner, LONG)),
        );
        const won = results.flatMap((r) => (r.status === "fulfilled" ? [r.value] : []));
        expect(won).toHaveLength(1);
        const winner = won[0]!;
        for (const r of results) {
          if (r.status === "rejected") {
            expect(r.reason).toBeInstanceOf(LockedError);
            expect((r.reason as LockedError).holder.ownerId).toBe(winner.ownerId);
          }
        }
        for (const m of fx.managers) expect((await m.get(scope, "macro/hot"))?.ownerId).toBe(winner.ownerId);
        expect((await locks.assertHeld(scope, "macro/hot", winner.ownerId)).fencingToken).toBe(winner.fencingToken);
      });
    });

    describe("refresh", () => {
      it("extends the holder's lease and keeps its token", async () => {
        const scope = newScope();
        const first = await locks.acquire(scope, "macro/m1", alice, LONG);
        await fx.elapse(30);
        const refreshed = await locks.refresh(scope, "macro/m1", alice.id, LONG);
        expect(refreshed.fencingToken).toBe(first.fencingToken);
        expect(refreshed.acquiredAt).toEqual(first.acquiredAt);
        expect(refreshed.expiresAt.getTime()).toBeGreaterThan(first.expiresAt.getTime());
        expect((await locks.get(scope, "macro/m1"))?.expiresAt).toEqual(refreshed.expiresAt);
      });

      it("refuses a non-holder with LockRequiredError naming the holder", async () => {
        const scope = newScope();
        await locks.acquire(scope, "macro/m1", alice, LONG);
        expectLockRequired(await rejection(locks.refresh(scope, "macro/m1", bob.id, LONG)), alice.id);
      });

      it("refuses on a free target with LockRequiredError", async () => {
        expectLockRequired(await rejection(locks.refresh(newScope(), "macro/m1", alice.id, LONG)));
      });
    });

    describe("release", () => {
      it("lets only the holder release", async () => {
        const scope = newScope();
        const held = await locks.acquire(scope, "macro/m1", alice, LONG);
        expectLocked(await rejection(locks.release(scope, "macro/m1", bob.id)), held);
        expect((await locks.get(scope, "macro/m1"))?.ownerId).toBe(alice.id);
        await locks.release(scope, "macro/m1", alice.id);
        expect(await locks.get(scope, "macro/m1")).toBeUndefined();
        expectLockRequired(await rejection(locks.release(scope, "macro/m1", alice.id)));
        const next = await locks.acquire(scope, "macro/m1", bob, LONG);
        expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
      });
    });

    describe("break", () => {
      it("removes anyone's lock and answers what it broke", async () => {
        const scope = newScope();
        const held = await locks.acquire(scope, "macro/m1", alice, LONG);
        const broken = await locks.break(scope, "macro/m1");
        expect(broken).toEqual(held);
        expect(await locks.get(scope, "macro/m1")).toBeUndefined();
        expectLockRequired(await rejection(locks.refresh(scope, "macro/m1", alice.id, LONG)));
        expectLockRequired(await rejection(locks.assertHeld(scope, "macro/m1", alice.id)));
        const next = await locks.acquire(scope, "macro/m1", bob, LONG);
        expect(next.fencingToken).toBeGreaterThan(held.fencingToken);
        expectLockRequired(await rejection(locks.assertHeld(scope, "macro/m1", alice.id)), bob.id);
      });

      it("answers undefined when nothing was locked", async () => {
        expect(await locks.break(newScope(), "macro/m1")).toBeUndefined();
      });
    });

    describe("assertHeld", () => {
      it("answers the holder's lease with its fencing token", async () => {
        const scope = newScope();
        const held = await locks.acquire(scope, "repo/r1", alice, LONG);
        expect(await locks.assertHeld(scope, "repo/r1", alice.id)).toEqual(held);
      });

      it("refuses others with LockRequiredError naming the holder, and refuses on a free target", async () => {
        const scope = newScope();
        await locks.acquire(scope, "repo/r1", alice, LONG);
        expectLockRequired(await rejection(locks.assertHeld(scope, "repo/r1", bob.id)), alice.id);
        expectLockRequired(await rejection(locks.assertHeld(scope, "repo/r2", alice.id)));
      });
    });

    describe("expiry", () => {
      it(`drops a lease after its TTL (${SHORT} ms)`, async () => {
        const scope = newScope();
        await locks.acquire(scope, "macro/m1", alice, SHORT);
        await fx.elapse(SHORT + 150);
        expect(await locks.get(scope, "macro/m1")).toBeUndefined();
        expectLockRequired(await rejection(locks.assertHeld(scope, "macro/m1", alice.id)));
        expectLockRequired(await rejection(locks.refresh(scope, "macro/m1", alice.id, LONG)));
        expectLockRequired(await rejection(locks.release(scope, "macro/m1", alice.id)));
        await expect(locks.acquire(scope, "macro/m1", bob, LONG)).resolves.toMatchObject({ ownerId: bob.id });
      });

      it("issues strictly increasing fencing tokens across acquire → expire → acquire by another", async () => {
        const scope = newScope();
        const a1 = await locks.acquire(scope, "macro/m1", alice, SHORT);
        await fx.elapse(SHORT + 150);
        const b1 = await locks.acquire(scope, "macro/m1", bob, SHORT);
        expect(b1.fencingToken).toBeGreaterThan(a1.fencingToken);
        // The stale holder finds out it lost the lease, and to whom.
        expectLockRequired(await rejection(locks.assertHeld(scope, "macro/m1", alice.id)), bob.id);
        expectLockRequired(await rejection(locks.refresh(scope, "macro/m1", alice.id, LONG)), bob.id);
        await fx.elapse(SHORT + 150);
        // The same owner again after expiry: a new acquisition, a new token.
        const b2 = await locks.acquire(scope, "macro/m1", bob, LONG);
        expect(b2.fencingToken).toBeGreaterThan(b1.fencingToken);
        await locks.release(scope, "macro/m1", bob.id);
        const a2 = await locks.acquire(scope, "macro/m1", alice, LONG);
        expect(a2.fencingToken).toBeGreaterThan(b2.fencingToken);
      });
    });
  });
}
