import { randomUUID } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { ormLockTargetStore as store, type LockHolderRef } from "../../src/store/lock-targets.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

describeStoreOnEngines("lock target store", (db) => {
  let tenant: string;
  let room: string;
  let macro: string;
  const alice: LockHolderRef = { id: "00000000-0000-4000-8000-00000000a11c", name: "alice" };
  const bob: LockHolderRef = { id: "00000000-0000-4000-8000-000000000b0b", name: "bob" };
  const roomToken: LockHolderRef = { id: null, name: "room-token" };
  const inTenant = <T>(fn: (tx: Parameters<typeof store.heldLocks>[0]) => Promise<T>) => db().inTenant(tenant, fn);
  const minutes = (n: number) => new Date(Date.now() + n * 60_000);

  beforeAll(async () => {
    tenant = await db().asSystem(async (em) => (await createTenant(em, "locking")).id);
    room = randomUUID();
    macro = randomUUID();
    // Rooms and macros belong to other stores: the fixture writes their rows directly.
    await inTenant(async (tx) => {
      await tx.execute("insert into rooms (id, tenant_id, name, token_key) values (?, ?, 'r', decode(repeat('ab', 32), 'hex'))", [room, tenant]);
      await tx.execute("insert into macros (id, tenant_id, room_id, name, code) values (?, ?, ?, 'm', 'x')", [macro, tenant, room]);
    });
  });

  /** acquire issues a token and records `holder` as the target's holder until `expiresAt`. */
  const acquire = (target: string, holder: LockHolderRef, expiresAt = minutes(10)) =>
    inTenant(async (tx) => {
      const token = await store.nextFencingToken(tx, tenant, room, target);
      await store.markAcquired(tx, room, target, holder, { acquiredAt: new Date(), expiresAt });
      return token;
    });

  it("knows which macro and repo targets exist in a room", async () => {
    expect(await inTenant((tx) => store.targetExists(tx, room, "macro", macro))).toBe(true);
    expect(await inTenant((tx) => store.targetExists(tx, room, "repo", macro))).toBe(false);
    expect(await inTenant((tx) => store.targetExists(tx, randomUUID(), "macro", macro))).toBe(false);
    expect(await inTenant((tx) => store.targetExists(tx, room, "macro", randomUUID()))).toBe(false);
  });

  it("issues strictly increasing fencing tokens per target", async () => {
    const a = `macro/${randomUUID()}`;
    const b = `macro/${randomUUID()}`;
    const tokens = [];
    for (let i = 0; i < 3; i++) tokens.push(await inTenant((tx) => store.nextFencingToken(tx, tenant, room, a)));
    expect(tokens).toEqual([1n, 2n, 3n]);
    expect(await inTenant((tx) => store.nextFencingToken(tx, tenant, room, b))).toBe(1n);
  });

  it("remembers the last holding of a target", async () => {
    const target = `macro/${randomUUID()}`;
    expect(await inTenant((tx) => store.lastHolding(tx, room, target))).toBeUndefined();
    const token = await acquire(target, alice);
    expect(await inTenant((tx) => store.lastHolding(tx, room, target))).toEqual({ ownerId: alice.id, ownerName: "alice", held: true, lastToken: token });
    await inTenant((tx) => store.markReleased(tx, room, target, "bob"));
    expect((await inTenant((tx) => store.lastHolding(tx, room, target)))?.held).toBe(true);
    await inTenant((tx) => store.markReleased(tx, room, target, "alice"));
    expect((await inTenant((tx) => store.lastHolding(tx, room, target)))?.held).toBe(false);
  });

  it("counts live locks by holder (a user by id, a room token by name) and by tenant", async () => {
    const before = await inTenant((tx) => store.heldLocks(tx, tenant, alice));
    const mine = `macro/${randomUUID()}`;
    await acquire(mine, alice);
    await acquire(`macro/${randomUUID()}`, bob);
    await acquire(`repo/${randomUUID()}`, roomToken);
    await acquire(`repo/${randomUUID()}`, alice, minutes(-1)); // lapsed: not counted
    const counts = async (holder: LockHolderRef) => inTenant((tx) => store.heldLocks(tx, tenant, holder));
    expect(await counts(alice)).toEqual({ byHolder: before.byHolder + 1, byTenant: before.byTenant + 3 });
    expect((await counts(roomToken)).byHolder).toBe(1);
    expect((await counts({ id: null, name: "alice" })).byHolder).toBe(0);
    await inTenant(async (tx) => {
      await store.serializeQuota(tx, tenant);
      await store.markReleased(tx, room, mine);
    });
    expect((await counts(alice)).byHolder).toBe(before.byHolder);
  });

  it("extends only the holder's lease", async () => {
    const target = `macro/${randomUUID()}`;
    await acquire(target, roomToken, minutes(-1));
    const counts = () => inTenant((tx) => store.heldLocks(tx, tenant, roomToken));
    const lapsed = (await counts()).byHolder;
    await inTenant((tx) => store.recordLeaseExpiry(tx, room, target, { id: null, name: "someone-else" }, minutes(5)));
    expect((await counts()).byHolder).toBe(lapsed);
    await inTenant((tx) => store.recordLeaseExpiry(tx, room, target, roomToken, minutes(5)));
    expect((await counts()).byHolder).toBe(lapsed + 1);
  });

  it("pages a room's held targets in order", async () => {
    const other = randomUUID();
    const targets = [1, 2, 3].map((n) => `macro/0000000${n}-0000-4000-8000-000000000000`);
    for (const target of targets) {
      await inTenant(async (tx) => {
        await store.nextFencingToken(tx, tenant, other, target);
        await store.markAcquired(tx, other, target, alice, { acquiredAt: new Date(), expiresAt: minutes(10) });
      });
    }
    await inTenant((tx) => store.markReleased(tx, other, targets[1]!));
    expect(await inTenant((tx) => store.heldTargets(tx, other, { limit: 10 }))).toEqual([targets[0], targets[2]]);
    expect(await inTenant((tx) => store.heldTargets(tx, other, { limit: 1 }))).toEqual([targets[0]]);
    expect(await inTenant((tx) => store.heldTargets(tx, other, { limit: 10, after: targets[0]! }))).toEqual([targets[2]]);
  });
});
