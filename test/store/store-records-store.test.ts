import { expect, it } from "vitest";
import { ormStoreRecordStore as store } from "../../src/store/store-records.js";
import { describeStoreOnEngines } from "../support/store-engines.js";
import { seedRoom } from "../support/store-seed.js";

describeStoreOnEngines("store record store", (db) => {
  it("puts, gets and overwrites a document, keeping its first owner", async () => {
    const { tenantId, roomId, userId } = await seedRoom(db());
    await db().inTenant(tenantId, (tx) => store.put(tx, { tenantId, roomId, collection: "c", recordId: "r1", doc: { a: [1, "x"] }, ownerId: userId }));
    expect(await db().inTenant(tenantId, (tx) => store.get(tx, roomId, "c", "r1"))).toEqual({ recordId: "r1", doc: { a: [1, "x"] }, ownerId: userId });
    await db().inTenant(tenantId, (tx) => store.put(tx, { tenantId, roomId, collection: "c", recordId: "r1", doc: { b: true }, ownerId: null }));
    expect(await db().inTenant(tenantId, (tx) => store.get(tx, roomId, "c", "r1"))).toEqual({ recordId: "r1", doc: { b: true }, ownerId: userId });
    const [times] = await db().inTenant(tenantId, (tx) => tx.execute("select updated_at >= created_at as later from store_records where record_id = 'r1'"));
    expect(times).toEqual({ later: true });
    expect(await db().inTenant(tenantId, (tx) => store.get(tx, roomId, "c", "nope"))).toBeUndefined();
    expect(await db().inTenant(tenantId, (tx) => store.get(tx, roomId, "other", "r1"))).toBeUndefined();
  });

  it("keeps every JSON value as it was put: null, strings that look like JSON, numbers", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    const values: Array<[string, unknown]> = [["null", null], ["str", "123"], ["brace", "{"], ["num", 1.5], ["arr", []], ["text", "plain"]];
    await db().inTenant(tenantId, async (tx) => {
      for (const [id, doc] of values) await store.put(tx, { tenantId, roomId, collection: "v", recordId: id, doc, ownerId: null });
    });
    for (const [id, doc] of values) {
      expect((await db().inTenant(tenantId, (tx) => store.get(tx, roomId, "v", id)))?.doc).toEqual(doc);
    }
  });

  it("lists a collection in id order, a page at a time", async () => {
    const { tenantId, roomId, userId } = await seedRoom(db());
    await db().inTenant(tenantId, async (tx) => {
      for (const id of ["b", "a", "c"]) await store.put(tx, { tenantId, roomId, collection: "l", recordId: id, doc: id, ownerId: userId });
      await store.put(tx, { tenantId, roomId, collection: "other", recordId: "z", doc: 1, ownerId: null });
    });
    const first = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, "l", { limit: 2 }));
    expect(first).toEqual([
      { recordId: "a", doc: "a", ownerId: userId },
      { recordId: "b", doc: "b", ownerId: userId },
    ]);
    expect((await db().inTenant(tenantId, (tx) => store.list(tx, roomId, "l", { after: "b", limit: 2 }))).map((r) => r.recordId)).toEqual(["c"]);
  });

  it("removes a record and says whether there was one", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    await db().inTenant(tenantId, (tx) => store.put(tx, { tenantId, roomId, collection: "c", recordId: "x", doc: 1, ownerId: null }));
    expect(await db().inTenant(tenantId, (tx) => store.remove(tx, roomId, "c", "x"))).toBe(true);
    expect(await db().inTenant(tenantId, (tx) => store.remove(tx, roomId, "c", "x"))).toBe(false);
  });

  it("keeps another tenant's records out of sight", async () => {
    const mine = await seedRoom(db());
    const other = await seedRoom(db());
    await db().inTenant(mine.tenantId, (tx) => store.put(tx, { tenantId: mine.tenantId, roomId: mine.roomId, collection: "c", recordId: "s", doc: 1, ownerId: null }));
    expect(await db().inTenant(other.tenantId, (tx) => store.get(tx, mine.roomId, "c", "s"))).toBeUndefined();
    expect(await db().inTenant(other.tenantId, (tx) => store.remove(tx, mine.roomId, "c", "s"))).toBe(false);
  });
});
