import { expect, it } from "vitest";
import { ormRepoStore as store } from "../../src/store/repos.js";
import { describeStoreOnEngines } from "../support/store-engines.js";
import { seedRoom } from "../support/store-seed.js";

describeStoreOnEngines("repo store", (db) => {
  const settings = { url: "https://example.com/a.git", ref: "main", path: "macros" };

  it("inserts a repo with the database's defaults and reads it back", async () => {
    const { tenantId, roomId, userId } = await seedRoom(db());
    const made = await db().inTenant(tenantId, (tx) => store.insert(tx, { tenantId, roomId, createdBy: userId, ...settings }));
    expect(made).toMatchObject({ tenantId, roomId, ...settings, lastCommit: null, lastSyncedAt: null, lastError: null, fencingToken: 0n, createdBy: userId });
    expect(await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id, { forUpdate: true }))).toEqual(made);
    expect(await db().inTenant(tenantId, (tx) => store.countInRoom(tx, roomId))).toBe(1);
  });

  it("lists a room's repos by url, then id, a page at a time", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    const made = await db().inTenant(tenantId, async (tx) => [
      await store.insert(tx, { tenantId, roomId, createdBy: null, ...settings, url: "https://b.example/x.git" }),
      await store.insert(tx, { tenantId, roomId, createdBy: null, ...settings, url: "https://a.example/x.git" }),
      await store.insert(tx, { tenantId, roomId, createdBy: null, ...settings, url: "https://a.example/x.git" }),
    ]);
    const all = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, { limit: 10 }));
    const sameUrl = [made[1]!.id, made[2]!.id].sort();
    expect(all.map((r) => r.id)).toEqual([...sameUrl, made[0]!.id]);
    const page = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, { after: { url: "https://a.example/x.git", id: sameUrl[0]! }, limit: 1 }));
    expect(page.map((r) => r.id)).toEqual([sameUrl[1]]);
    const last = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, { after: { url: "https://a.example/x.git", id: sameUrl[1]! }, limit: 5 }));
    expect(last.map((r) => r.id)).toEqual([made[0]!.id]);
  });

  it("updates settings under a token and records how syncs went", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    const made = await db().inTenant(tenantId, (tx) => store.insert(tx, { tenantId, roomId, createdBy: null, ...settings }));
    const updated = await db().inTenant(tenantId, (tx) => store.update(tx, roomId, made.id, { url: "https://example.com/b.git", ref: "", path: "" }, 3n));
    expect(updated).toMatchObject({ url: "https://example.com/b.git", ref: "", path: "", fencingToken: 3n });
    await db().inTenant(tenantId, (tx) => store.recordRefusal(tx, roomId, made.id, "2 violations", 4n));
    expect(await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id))).toMatchObject({ lastError: "2 violations", fencingToken: 4n, lastCommit: null });
    await db().inTenant(tenantId, (tx) => store.recordSynced(tx, roomId, made.id, "abc", 5n));
    const synced = await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id));
    expect(synced).toMatchObject({ lastError: null, fencingToken: 5n, lastCommit: "abc" });
    expect(synced!.lastSyncedAt).toBeInstanceOf(Date);
    // A failure under an older token than the repo's does not overwrite what a newer holder wrote.
    await db().inTenant(tenantId, (tx) => store.recordFailure(tx, roomId, made.id, "stale failure", 4n));
    expect((await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id)))!.lastError).toBeNull();
    await db().inTenant(tenantId, (tx) => store.recordFailure(tx, roomId, made.id, "fetch failed", 5n));
    expect((await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id)))!.lastError).toBe("fetch failed");
  });

  it("removes a repo and keeps other tenants out", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    const other = await seedRoom(db());
    const made = await db().inTenant(tenantId, (tx) => store.insert(tx, { tenantId, roomId, createdBy: null, ...settings }));
    expect(await db().inTenant(other.tenantId, (tx) => store.byId(tx, roomId, made.id))).toBeUndefined();
    expect(await db().inTenant(other.tenantId, (tx) => store.countInRoom(tx, roomId))).toBe(0);
    await db().inTenant(tenantId, (tx) => store.remove(tx, roomId, made.id));
    expect(await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id))).toBeUndefined();
  });
});
