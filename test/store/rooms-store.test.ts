import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import { ormRoomStore as store } from "../../src/store/rooms.js";
import { describeStoreOnEngines } from "../support/store-engines.js";
import { newRole, newTenant, newUser } from "../support/store-rows.js";

const VIEWER = 1;
const EDITOR = 2;
const ADMIN = 3;

describeStoreOnEngines("RoomStore", (db) => {
  let tenant = "";
  let other = "";
  let alice = "";
  let bob = "";
  let carol = "";

  beforeAll(async () => {
    tenant = await newTenant(db(), "rooms-a");
    other = await newTenant(db(), "rooms-b");
    alice = await newUser(db(), tenant, "alice");
    bob = await newUser(db(), tenant, "bob");
    carol = await newUser(db(), other, "carol");
  });


  it("creates, reads, lists by name and deletes rooms; other tenants see none of them", async () => {
    const key = randomBytes(32);
    const made = await db().inTenant(tenant, async (tx) => {
      const b = await store.create(tx, { tenantId: tenant, name: "beta", tokenKey: key });
      const a = await store.create(tx, { tenantId: tenant, name: "alpha", tokenKey: randomBytes(32) });
      return { a, b };
    });
    expect(made.b).toMatchObject({ tenantId: tenant, name: "beta" });
    expect(made.b.createdAt).toBeInstanceOf(Date);
    await db().inTenant(tenant, async (tx) => {
      expect(await store.get(tx, made.b.id)).toEqual(made.b);
      expect((await store.list(tx, { after: undefined, limit: 10 })).map((r) => r.name)).toEqual(["alpha", "beta"]);
      expect((await store.list(tx, { after: "alpha", limit: 10 })).map((r) => r.name)).toEqual(["beta"]);
      expect((await store.list(tx, { after: undefined, limit: 1 })).map((r) => r.name)).toEqual(["alpha"]);
      expect(await store.tokenKey(tx, made.b.id)).toEqual({ tenantId: tenant, tokenKey: key });
    });
    await db().inTenant(other, async (tx) => {
      expect(await store.get(tx, made.b.id)).toBeUndefined();
      expect(await store.list(tx, { after: undefined, limit: 10 })).toEqual([]);
      expect(await store.delete(tx, made.b.id)).toBeUndefined();
      expect(await store.lock(tx, made.b.id)).toBe(false);
    });
    await db().inTenant(tenant, async (tx) => {
      expect(await store.delete(tx, made.a.id)).toEqual({ name: "alpha" });
      expect(await store.get(tx, made.a.id)).toBeUndefined();
      expect(await store.delete(tx, made.a.id)).toBeUndefined();
    });
  });

  it("refuses a second room of the same name in a tenant", async () => {
    await db().inTenant(tenant, (tx) => store.create(tx, { tenantId: tenant, name: "twice", tokenKey: randomBytes(32) }));
    await expect(db().inTenant(tenant, (tx) => store.create(tx, { tenantId: tenant, name: "twice", tokenKey: randomBytes(32) }))).rejects.toThrow();
  });

  it("adds, changes, counts, lists and removes members", async () => {
    const room = await db().inTenant(tenant, (tx) => store.create(tx, { tenantId: tenant, name: "members", tokenKey: randomBytes(32) }));
    await db().inTenant(tenant, async (tx) => {
      expect(await store.lock(tx, room.id)).toBe(true);
      await store.putMember(tx, { tenantId: tenant, roomId: room.id, userId: bob, role: VIEWER });
      await store.putMember(tx, { tenantId: tenant, roomId: room.id, userId: alice, role: EDITOR });
      await store.putMember(tx, { tenantId: tenant, roomId: room.id, userId: alice, role: ADMIN });
    });
    await db().inTenant(tenant, async (tx) => {
      expect(await store.memberRole(tx, room.id, alice)).toBe(ADMIN);
      expect(await store.memberRole(tx, room.id, carol)).toBeUndefined();
      expect(await store.countAdminsExcept(tx, room.id, bob, ADMIN)).toBe(1);
      expect(await store.countAdminsExcept(tx, room.id, alice, ADMIN)).toBe(0);
      expect(await store.listMembers(tx, room.id, { after: undefined, limit: 10 })).toEqual([
        { userId: alice, username: "alice", role: ADMIN },
        { userId: bob, username: "bob", role: VIEWER },
      ]);
      expect(await store.listMembers(tx, room.id, { after: "alice", limit: 10 })).toEqual([{ userId: bob, username: "bob", role: VIEWER }]);
      expect(await store.memberRoles(tx, alice, [room.id])).toEqual(new Map([[room.id, ADMIN]]));
      expect(await store.memberRoles(tx, alice, [])).toEqual(new Map());
      expect(await store.access(tx, room.id, bob)).toEqual({ exists: true, role: VIEWER });
      expect(await store.access(tx, room.id, carol)).toEqual({ exists: true, role: undefined });
      expect(await store.access(tx, "00000000-0000-4000-8000-00000000dead", bob)).toEqual({ exists: false, role: undefined });
      expect(await store.usernameOf(tx, bob)).toBe("bob");
      expect(await store.usernameOf(tx, carol)).toBeUndefined();
    });
    await db().inTenant(tenant, async (tx) => {
      expect(await store.removeMember(tx, room.id, bob)).toBe(true);
      expect(await store.removeMember(tx, room.id, bob)).toBe(false);
    });
    // A user of another tenant cannot become a member (composite foreign key).
    await expect(db().inTenant(tenant, (tx) => store.putMember(tx, { tenantId: tenant, roomId: room.id, userId: carol, role: VIEWER }))).rejects.toThrow();
    // Members go with their room.
    await db().inTenant(tenant, (tx) => store.delete(tx, room.id));
    expect(await db().inTenant(tenant, (tx) => store.memberRoles(tx, alice, [room.id]))).toEqual(new Map());
  });

  it("reads a room for a room token across tenants, with the built-in roles' permissions", async () => {
    const key = randomBytes(32);
    const room = await db().inTenant(other, (tx) => store.create(tx, { tenantId: other, name: "shared", tokenKey: key }));
    expect(await db().asSystem((tx) => store.tokenRoom(tx, room.id))).toEqual({ tenantId: other, tokenKey: key, viewerPermissions: undefined, editorPermissions: undefined });
    await newRole(db(), other, { name: "viewer", permissions: ["rooms.read"], builtin: true });
    await newRole(db(), other, { name: "editor", permissions: ["rooms.read", "macros.write"], builtin: false });
    expect(await db().asSystem((tx) => store.tokenRoom(tx, room.id))).toEqual({
      tenantId: other,
      tokenKey: key,
      viewerPermissions: ["rooms.read"],
      editorPermissions: undefined,
    });
    expect(await db().asSystem((tx) => store.tokenRoom(tx, "00000000-0000-4000-8000-00000000dead"))).toBeUndefined();
  });
});
