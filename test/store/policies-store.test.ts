import { randomBytes } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import type { PolicyValues } from "../../src/domain/policy.js";
import { ormPolicyStore as store } from "../../src/store/policies.js";
import { ormRoomStore } from "../../src/store/rooms.js";
import { describeStoreOnEngines } from "../support/store-engines.js";
import { grantRole, newRole, newTenant, newUser } from "../support/store-rows.js";

const macroId = "00000000-0000-4000-8000-00000000aaaa";
const missing = "00000000-0000-4000-8000-00000000dead";

describeStoreOnEngines("PolicyStore", (db) => {
  let tenant = "";
  let other = "";
  let alice = "";
  let room = "";

  beforeAll(async () => {
    tenant = await newTenant(db(), "policies-a");
    other = await newTenant(db(), "policies-b");
    alice = await newUser(db(), tenant, "alice");
    room = (await db().inTenant(tenant, (tx) => ormRoomStore.create(tx, { tenantId: tenant, name: "lab", tokenKey: randomBytes(32) }))).id;
  });

  it("reads and writes the one global layer, ceiling included", async () => {
    const policy: PolicyValues = { timeoutMs: 750, allowedHosts: ["api.example.com"], overrideCeiling: { timeoutMs: 2000 } };
    expect(await db().asSystem((tx) => store.global(tx))).toEqual({});
    expect(await db().asSystem((tx) => store.putGlobal(tx, policy, null))).toBe(true);
    expect(await db().inTenant(tenant, (tx) => store.global(tx))).toEqual(policy);
    await db().asSystem((tx) => store.putGlobal(tx, {}, alice));
    expect(await db().inTenant(other, (tx) => store.global(tx))).toEqual({});
  });

  it("reads a room's layer (empty until set), undefined for a room the tenant does not have", async () => {
    expect(await db().inTenant(tenant, (tx) => store.roomLayer(tx, tenant, room))).toEqual({});
    await db().inTenant(tenant, (tx) => store.putRoomLayer(tx, room, { tenantId: tenant, policy: { timeoutMs: 300 }, updatedBy: alice }));
    await db().inTenant(tenant, (tx) => store.putRoomLayer(tx, room, { tenantId: tenant, policy: { timeoutMs: 200, allowRoomTokens: true }, updatedBy: null }));
    expect(await db().inTenant(tenant, (tx) => store.roomLayer(tx, tenant, room))).toEqual({ timeoutMs: 200, allowRoomTokens: true });
    expect(await db().inTenant(tenant, (tx) => store.roomLayer(tx, tenant, missing))).toBeUndefined();
    expect(await db().inTenant(other, (tx) => store.roomLayer(tx, other, room))).toBeUndefined();
    expect(await db().asSystem((tx) => store.roomLayer(tx, other, room))).toBeUndefined();
  });

  it("stores a macro's layer with its fencing token and locks it for a write", async () => {
    expect(await db().inTenant(tenant, (tx) => store.macroLayer(tx, tenant, room, macroId))).toEqual({});
    expect(await db().inTenant(tenant, (tx) => store.lockMacroLayer(tx, room, macroId))).toEqual({ policy: undefined, fencingToken: 0n });
    const big = 9_007_199_254_740_993n;
    await db().inTenant(tenant, (tx) => store.putMacroLayer(tx, room, macroId, { tenantId: tenant, policy: { maxHostCalls: 16 }, fencingToken: 5n, updatedBy: alice }));
    await db().inTenant(tenant, (tx) => store.putMacroLayer(tx, room, macroId, { tenantId: tenant, policy: { maxHostCalls: 8 }, fencingToken: big, updatedBy: alice }));
    expect(await db().inTenant(tenant, (tx) => store.macroLayer(tx, tenant, room, macroId))).toEqual({ maxHostCalls: 8 });
    expect(await db().inTenant(tenant, (tx) => store.lockMacroLayer(tx, room, macroId))).toEqual({ policy: { maxHostCalls: 8 }, fencingToken: big });
    expect(await db().inTenant(other, (tx) => store.macroLayer(tx, other, room, macroId))).toEqual({});
  });

  it("reads, writes and deletes a user's override; undefined for a user the tenant does not have", async () => {
    expect(await db().inTenant(tenant, (tx) => store.userOverride(tx, tenant, alice))).toEqual({ override: undefined });
    expect(await db().inTenant(tenant, (tx) => store.userOverride(tx, tenant, missing))).toBeUndefined();
    expect(await db().inTenant(other, (tx) => store.userOverride(tx, other, alice))).toBeUndefined();
    await db().inTenant(tenant, (tx) => store.putUserOverride(tx, alice, { tenantId: tenant, policy: { timeoutMs: 900 }, updatedBy: null }));
    await db().inTenant(tenant, (tx) => store.putUserOverride(tx, alice, { tenantId: tenant, policy: { timeoutMs: 1000 }, updatedBy: null }));
    expect(await db().inTenant(tenant, (tx) => store.userOverride(tx, tenant, alice))).toEqual({ override: { timeoutMs: 1000 } });
    expect(await db().inTenant(tenant, (tx) => store.lockUserOverride(tx, alice))).toEqual({ timeoutMs: 1000 });
    expect(await db().inTenant(tenant, (tx) => store.deleteUserOverride(tx, alice))).toEqual({ timeoutMs: 1000 });
    expect(await db().inTenant(tenant, (tx) => store.deleteUserOverride(tx, alice))).toBeUndefined();
    expect(await db().inTenant(tenant, (tx) => store.lockUserOverride(tx, alice))).toBeUndefined();
  });

  it("answers a user's layer: override and roles' default policies by name; and role defaults by name", async () => {
    const bob = await newUser(db(), tenant, "bob");
    const zeta = await newRole(db(), tenant, { name: "zeta", defaultPolicy: { timeoutMs: 100 } });
    const alpha = await newRole(db(), tenant, { name: "alpha" });
    await newRole(db(), other, { name: "alpha", defaultPolicy: { timeoutMs: 1 } });
    await grantRole(db(), tenant, bob, zeta);
    await grantRole(db(), tenant, bob, alpha);
    expect(await db().inTenant(tenant, (tx) => store.userLayer(tx, tenant, bob))).toEqual({
      override: undefined,
      roles: [
        { name: "alpha", policy: {} },
        { name: "zeta", policy: { timeoutMs: 100 } },
      ],
    });
    await db().inTenant(tenant, (tx) => store.putUserOverride(tx, bob, { tenantId: tenant, policy: { timeoutMs: 5 }, updatedBy: null }));
    expect((await db().inTenant(tenant, (tx) => store.userLayer(tx, tenant, bob)))?.override).toEqual({ timeoutMs: 5 });
    expect(await db().inTenant(tenant, (tx) => store.userLayer(tx, tenant, missing))).toBeUndefined();
    expect(await db().inTenant(tenant, (tx) => store.roleDefaults(tx, tenant, ["zeta", "alpha", "nope"]))).toEqual([
      { name: "alpha", policy: {} },
      { name: "zeta", policy: { timeoutMs: 100 } },
    ]);
    expect(await db().inTenant(tenant, (tx) => store.roleDefaults(tx, tenant, []))).toEqual([]);
    expect(await db().asSystem((tx) => store.roleDefaults(tx, other, ["alpha"]))).toEqual([{ name: "alpha", policy: { timeoutMs: 1 } }]);
  });

  it("drops a room's and its macros' layers with the room", async () => {
    const gone = (await db().inTenant(tenant, (tx) => ormRoomStore.create(tx, { tenantId: tenant, name: "gone", tokenKey: randomBytes(32) }))).id;
    await db().inTenant(tenant, (tx) => store.putRoomLayer(tx, gone, { tenantId: tenant, policy: { timeoutMs: 1 }, updatedBy: null }));
    await db().inTenant(tenant, (tx) => store.putMacroLayer(tx, gone, macroId, { tenantId: tenant, policy: { timeoutMs: 1 }, fencingToken: 1n, updatedBy: null }));
    await db().inTenant(tenant, (tx) => ormRoomStore.delete(tx, gone));
    expect(await db().inTenant(tenant, (tx) => store.lockMacroLayer(tx, gone, macroId))).toEqual({ policy: undefined, fencingToken: 0n });
  });
});
