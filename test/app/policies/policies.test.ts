import { beforeEach, describe, expect, it } from "vitest";
import { Level, RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import type { ManagedUsers, PoliciesDeps } from "../../../src/app/policies/policies-deps.js";
import { getEffectivePolicy, getGlobalPolicy, getMacroPolicy, getRoomPolicy, getUserPolicy } from "../../../src/app/policies/read-layers.js";
import { deleteUserPolicy, updateUserPolicy } from "../../../src/app/policies/user-overrides.js";
import { updateGlobalPolicy, updateMacroPolicy, updateRoomPolicy } from "../../../src/app/policies/write-layers.js";
import { DomainError, permissionDenied } from "../../../src/domain/errors.js";
import { createEffectivePolicies, type EffectivePolicies, type PolicyChange } from "../../../src/policies/effective-policy.js";
import type { MacroPolicyHooks } from "../../../src/policies/macro-hooks.js";
import { createLocalBus } from "../../../src/shared-state/bus.js";
import { testCall } from "../../support/app-call.js";
import { memoryPolicyStore, type MemoryPolicyStore } from "../../support/memory-stores/policies.js";

/** Policy layer use cases over the in-memory store and the real merge cache: no server, no database. */

const room = "00000000-0000-4000-8000-0000000000a1";
const macro = "00000000-0000-4000-8000-0000000000b1";
const user = "00000000-0000-4000-8000-0000000000c1";
const junior = "00000000-0000-4000-8000-0000000000c2";

async function refusal(work: Promise<unknown>): Promise<DomainError> {
  try {
    await work;
  } catch (err) {
    if (err instanceof DomainError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

/** fakeMacros knows one macro; a write needs `lockToken` to be set (the caller holds the lock). */
function fakeMacros(): MacroPolicyHooks & { lockToken: bigint | undefined } {
  const hooks = {
    lockToken: 7n as bigint | undefined,
    async macroExists(_em: unknown, _tenantId: string, roomId: string, macroId: string) {
      return roomId === room && macroId === macro;
    },
    async checkMacroWrite() {
      if (hooks.lockToken === undefined) throw new DomainError("failed_precondition", "LOCK_REQUIRED", "hold the macro's lock");
      return { fencingToken: hooks.lockToken };
    },
  };
  return hooks;
}

/** rankedUsers lets the caller manage `junior` only. */
const rankedUsers: ManagedUsers = {
  async requireManaged(_tx, _principal, userId) {
    if (userId !== junior) throw permissionDenied("LEVEL_TOO_LOW", "you may only manage users below your own level");
  },
};

describe("policy layer use cases", () => {
  let layers: MemoryPolicyStore;
  let effective: EffectivePolicies;
  let invalidated: PolicyChange[];
  let macros: ReturnType<typeof fakeMacros>;
  let deps: PoliciesDeps;

  beforeEach(() => {
    layers = memoryPolicyStore();
    layers.rooms.set(room, {});
    layers.users.set(user, { override: undefined, roles: ["editor"] });
    layers.users.set(junior, { override: undefined, roles: [] });
    layers.roles.set("editor", { timeoutMs: 400 });
    const cache = createEffectivePolicies(createLocalBus(), { store: layers });
    invalidated = [];
    effective = { ...cache, invalidate: async (change) => void invalidated.push(change) };
    macros = fakeMacros();
    deps = { layers, effective, macros, users: rankedUsers };
  });

  it("replaces the global layer, audits what loosened and invalidates after commit", async () => {
    layers.globalLayer = { timeoutMs: 500 };
    const call = testCall({ level: Level.GOD });
    const done = await updateGlobalPolicy(deps, call, { timeoutMs: 900, overrideCeiling: { timeoutMs: 2000 } });
    expect(await getGlobalPolicy(deps, call)).toEqual({ timeoutMs: 900, overrideCeiling: { timeoutMs: 2000 } });
    expect(done.audit?.resource).toBe("policy:global");
    expect(done.audit?.details).toMatchObject({ before: { timeoutMs: 500 }, after: { timeoutMs: 900 }, loosened: [{ field: "timeout_ms", layer: "global" }] });
    expect(invalidated).toEqual([]);
    await call.commit();
    expect(invalidated).toEqual([{ kind: "global" }]);
  });

  it("refuses the global layer outside the platform tenant and a bad value", async () => {
    layers.globalWritable = false;
    expect((await refusal(updateGlobalPolicy(deps, testCall(), { timeoutMs: 100 }))).reason).toBe("PLATFORM_TENANT_ONLY");
    layers.globalWritable = true;
    expect((await refusal(updateGlobalPolicy(deps, testCall(), { timeoutMs: -1 }))).reason).toBe("INVALID_ARGUMENT");
  });

  it("lets a room's layer only tighten the global policy, naming the field and the layer", async () => {
    layers.globalLayer = { timeoutMs: 500 };
    const call = testCall({}, { roomId: room, role: RoomRole.ADMIN });
    const refused = await refusal(updateRoomPolicy(deps, call, { roomId: room, policy: { timeoutMs: 600 } }));
    expect(refused.reason).toBe("POLICY_LOOSENS");
    expect(refused.facts).toMatchObject({ field: "timeout_ms", attemptedValue: "600", parentValue: "500", layer: "global" });
    const done = await updateRoomPolicy(deps, call, { roomId: room, policy: { timeoutMs: 300 } });
    expect(done.audit).toEqual({ resource: `room:${room}`, roomId: room, details: { before: {}, after: { timeoutMs: 300 } } });
    expect(await getRoomPolicy(deps, call, room)).toEqual({ timeoutMs: 300 });
    expect((await refusal(getRoomPolicy(deps, call, macro))).reason).toBe("NOT_FOUND");
  });

  it("writes a macro's layer under its lock, keeps the highest fencing token and refuses a stale one", async () => {
    const call = testCall({}, { roomId: room, role: RoomRole.EDITOR });
    const done = await updateMacroPolicy(deps, call, { roomId: room, macroId: macro, policy: { maxHostCalls: 5 }, fencingToken: undefined });
    expect(done.audit?.details).toEqual({ before: {}, after: { maxHostCalls: 5 }, fencingToken: "7" });
    expect(layers.macros.get(`${room}:${macro}`)?.fencingToken).toBe(7n);
    expect(await getMacroPolicy(deps, call, { roomId: room, macroId: macro })).toEqual({ maxHostCalls: 5 });
    macros.lockToken = 3n;
    const stale = await refusal(updateMacroPolicy(deps, call, { roomId: room, macroId: macro, policy: {}, fencingToken: undefined }));
    expect(stale.reason).toBe("STALE_FENCING_TOKEN");
    expect(stale.facts).toMatchObject({ attemptedValue: "3", parentValue: "7" });
    macros.lockToken = undefined;
    expect((await refusal(updateMacroPolicy(deps, call, { roomId: room, macroId: macro, policy: {}, fencingToken: undefined }))).reason).toBe("LOCK_REQUIRED");
    expect((await refusal(getMacroPolicy(deps, call, { roomId: room, macroId: user }))).reason).toBe("NOT_FOUND");
  });

  it("sets a user's override up to the global ceiling only, for users the caller outranks", async () => {
    layers.globalLayer = { timeoutMs: 500, overrideCeiling: { timeoutMs: 1000 } };
    const call = testCall({ level: Level.ADMIN });
    const over = await refusal(updateUserPolicy(deps, call, { userId: junior, policy: { timeoutMs: 1500 } }));
    expect(over.reason).toBe("POLICY_LOOSENS");
    expect(over.facts.layer).toBe("global.override_ceiling");
    expect((await refusal(updateUserPolicy(deps, call, { userId: user, policy: { timeoutMs: 100 } }))).reason).toBe("LEVEL_TOO_LOW");
    const done = await updateUserPolicy(deps, call, { userId: junior, policy: { timeoutMs: 800 } });
    expect(done.audit).toMatchObject({ resource: `user:${junior}`, details: { before: null, after: { timeoutMs: 800 }, loosened: [{ field: "timeout_ms" }] } });
    expect(await getUserPolicy(deps, call, junior)).toEqual({ timeoutMs: 800 });
    const deleted = await deleteUserPolicy(deps, call, junior);
    expect(deleted.audit).toEqual({ resource: `user:${junior}`, details: { before: { timeoutMs: 800 } } });
    expect(await getUserPolicy(deps, call, junior)).toBeUndefined();
    await call.commit();
    expect(invalidated).toEqual([
      { kind: "user", tenantId: call.principal.tenantId, userId: junior },
      { kind: "user", tenantId: call.principal.tenantId, userId: junior },
    ]);
    expect((await refusal(getUserPolicy(deps, call, room))).reason).toBe("NOT_FOUND");
  });

  it("merges the effective policy for the caller, a named user, or a room token's built-in role", async () => {
    layers.globalLayer = { timeoutMs: 900 };
    layers.rooms.set(room, { timeoutMs: 700 });
    const asUser = await getEffectivePolicy(deps, testCall({ userId: user, level: Level.USER }), { roomId: room });
    expect(asUser.policy.timeoutMs).toBe(400);
    expect(asUser.sources.timeout_ms).toBe("role:editor");
    const named = await getEffectivePolicy(deps, testCall({ userId: user }), { roomId: room, userId: junior });
    expect(named.sources.timeout_ms).toBe("room");
    const token = testCall({ userId: `room-token:${room}`, roles: ["editor"], roomToken: { roomId: room, role: RoomRole.EDITOR } });
    expect((await getEffectivePolicy(deps, token, { roomId: room })).sources.timeout_ms).toBe("role:editor");
    expect((await refusal(getEffectivePolicy(deps, testCall(), { roomId: room, macroId: user }))).reason).toBe("NOT_FOUND");
  });
});
