import { expect, it } from "vitest";
import { ormMacroStore as store } from "../../src/store/macros.js";
import { describeStoreOnEngines } from "../support/store-engines.js";
import { seedRoom } from "../support/store-seed.js";

describeStoreOnEngines("macro store", (db) => {
  it("inserts a manual macro with the database's defaults and reads it back", async () => {
    const { tenantId, roomId, userId } = await seedRoom(db());
    const made = await db().inTenant(tenantId, (tx) => store.insert(tx, { tenantId, roomId, name: "hello", code: "export default 1", by: userId }));
    expect(made).toMatchObject({ tenantId, roomId, name: "hello", code: "export default 1", version: 1, sourceKind: "manual", sourceRepoId: null, fencingToken: 0n, createdBy: userId, updatedBy: userId });
    expect(made.createdAt).toBeInstanceOf(Date);
    expect(await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id))).toEqual(made);
    expect(await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, "00000000-0000-4000-8000-000000000000"))).toBeUndefined();
  });

  it("lists a room's macros in name order, a page at a time", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    await db().inTenant(tenantId, async (tx) => {
      for (const name of ["c", "a", "b"]) await store.insert(tx, { tenantId, roomId, name, code: "1", by: null });
    });
    const first = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, { limit: 2 }));
    expect(first.map((m) => m.name)).toEqual(["a", "b"]);
    const rest = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, { after: "b", limit: 2 }));
    expect(rest.map((m) => m.name)).toEqual(["c"]);
  });

  it("keeps another tenant's macros out of sight", async () => {
    const mine = await seedRoom(db());
    const other = await seedRoom(db());
    const made = await db().inTenant(mine.tenantId, (tx) => store.insert(tx, { tenantId: mine.tenantId, roomId: mine.roomId, name: "secret", code: "1", by: null }));
    expect(await db().inTenant(other.tenantId, (tx) => store.byId(tx, mine.roomId, made.id))).toBeUndefined();
    expect(await db().inTenant(other.tenantId, (tx) => store.list(tx, mine.roomId, { limit: 10 }))).toEqual([]);
  });

  it("saves a manual edit: new version and token, no repo source", async () => {
    const { tenantId, roomId, userId } = await seedRoom(db());
    const [repo] = await db().inTenant(tenantId, (tx) => tx.execute("insert into repos (tenant_id, room_id, url) values (?, ?, 'https://example.com/r.git') returning id", [tenantId, roomId]));
    const repoId = (repo as { id: string }).id;
    const made = await db().inTenant(tenantId, (tx) =>
      store.insert(tx, { tenantId, roomId, name: "m", code: "1", by: null, source: { repoId, commit: "abc", path: "m.js", fencingToken: 4n } }),
    );
    expect(made).toMatchObject({ sourceKind: "repo", sourceRepoId: repoId, sourceCommit: "abc", sourcePath: "m.js" });
    const saved = await db().inTenant(tenantId, async (tx) => {
      const locked = await store.byId(tx, roomId, made.id, { forUpdate: true });
      return store.saveManualEdit(tx, roomId, made.id, { name: "m2", code: "2", version: locked!.version + 1, fencingToken: 7n, by: userId });
    });
    expect(saved).toMatchObject({ name: "m2", code: "2", version: 2, fencingToken: 7n, updatedBy: userId, sourceKind: "manual", sourceRepoId: null, sourceCommit: null, sourcePath: null });
    expect(saved.updatedAt.getTime()).toBeGreaterThanOrEqual(made.updatedAt.getTime());
  });

  it("rewrites a repo's macros for a sync and detaches them when the repo goes", async () => {
    const { tenantId, roomId, userId } = await seedRoom(db());
    const [repo] = await db().inTenant(tenantId, (tx) => tx.execute("insert into repos (tenant_id, room_id, url) values (?, ?, 'https://example.com/r.git') returning id", [tenantId, roomId]));
    const repoId = (repo as { id: string }).id;
    const source = { repoId, commit: "c1", fencingToken: 1n };
    const [a, b] = await db().inTenant(tenantId, async (tx) => [
      await store.insert(tx, { tenantId, roomId, name: "a", code: "1", by: null, source: { ...source, path: "a.js" } }),
      await store.insert(tx, { tenantId, roomId, name: "b", code: "1", by: null, source: { ...source, path: "b.js" } }),
    ]);
    await db().inTenant(tenantId, async (tx) => {
      expect((await store.lockRoom(tx, roomId)).map((m) => m.name).sort()).toEqual(["a", "b"]);
      await store.markRepoSource(tx, roomId, repoId, "c2", 2n);
      // Two macros swap names through parking names.
      await store.rename(tx, roomId, a!.id, `~sync~${a!.id}`);
      await store.rename(tx, roomId, b!.id, `~sync~${b!.id}`);
      await store.saveRepoEdit(tx, roomId, a!.id, { name: "b", code: "2", version: 2, path: "b.js", by: userId });
      await store.saveRepoEdit(tx, roomId, b!.id, { name: "a", code: "2", version: 2, path: "a.js", by: userId });
    });
    const after = await db().inTenant(tenantId, (tx) => store.list(tx, roomId, { limit: 10 }));
    expect(after.map((m) => [m.id, m.name, m.sourceCommit, m.sourcePath, m.version])).toEqual([
      [b!.id, "a", "c2", "a.js", 2],
      [a!.id, "b", "c2", "b.js", 2],
    ]);
    const kept = await db().inTenant(tenantId, (tx) => store.detachFromRepo(tx, roomId, repoId));
    expect(kept.sort()).toEqual(["a", "b"]);
    const detached = await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, a!.id));
    expect(detached).toMatchObject({ sourceKind: "manual", sourceRepoId: null, sourceCommit: null, sourcePath: null });
  });

  it("removes a macro with its policy layer", async () => {
    const { tenantId, roomId } = await seedRoom(db());
    const made = await db().inTenant(tenantId, (tx) => store.insert(tx, { tenantId, roomId, name: "gone", code: "1", by: null }));
    await db().inTenant(tenantId, (tx) => tx.execute("insert into macro_policies (tenant_id, room_id, macro_id, policy) values (?, ?, ?, '{}')", [tenantId, roomId, made.id]));
    await db().inTenant(tenantId, (tx) => store.remove(tx, roomId, made.id));
    expect(await db().inTenant(tenantId, (tx) => store.byId(tx, roomId, made.id))).toBeUndefined();
    const layers = await db().inTenant(tenantId, (tx) => tx.execute("select 1 from macro_policies where macro_id = ?", [made.id]));
    expect(layers).toEqual([]);
  });
});
