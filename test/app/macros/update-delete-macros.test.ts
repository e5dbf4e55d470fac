import { describe, expect, it } from "vitest";
import { deleteMacro } from "../../../src/app/macros/delete-macro.js";
import { getMacro, listMacros } from "../../../src/app/macros/read-macros.js";
import { updateMacros } from "../../../src/app/macros/update-macros.js";
import { AuditedFailure } from "../../../src/app/audited-failure.js";
import { lockScope } from "../../../src/locks/lock-targets.js";
import { testCall } from "../../support/app-call.js";
import { memoryMacroStore } from "../../support/memory-stores/macros.js";
import { fakePolicies, memoryLocks, releasedTargets } from "../../support/memory-stores/macro-deps.js";

const roomId = "00000000-0000-4000-8000-0000000000aa";

function setup() {
  const changedRooms: string[] = [];
  const deps = {
    macros: memoryMacroStore(),
    policies: fakePolicies(),
    locks: memoryLocks(),
    lockTargets: releasedTargets(),
    macroCache: { roomChanged: async (_t: string, r: string) => void changedRooms.push(r) },
  };
  return { deps, changedRooms };
}

describe("updateMacros", () => {
  it("creates macros at version 1 with audit facts, and clears the room's cached macros only after commit", async () => {
    const { deps, changedRooms } = setup();
    const call = testCall();
    const done = await updateMacros(deps, call, { roomId, macros: [{ name: "a", code: "export default function () { return 1; }" }, { name: "b", code: "export default function () { return 2; }" }] });
    expect(done.value.map((m) => [m.name, m.version, m.createdBy])).toEqual([["a", 1, call.principal.userId], ["b", 1, call.principal.userId]]);
    expect(done.audit?.resource).toBe(done.value.map((m) => `macro:${m.id}`).join(","));
    expect(done.audit?.details).toEqual({ macros: done.value.map((m) => ({ id: m.id, name: m.name, version: 1, fencingToken: "0" })) });
    expect(done.audit?.action).toBeUndefined(); // macros.update is the method's default action
    expect(changedRooms).toEqual([]);
    await call.commit();
    expect(changedRooms).toEqual([roomId]);
    const page = await listMacros(deps, call, { roomId, page: { after: undefined, limit: 1 } });
    expect([page.macros.map((m) => m.name), page.nextAfter]).toEqual([["a"], "a"]);
  });

  it("changes a macro only under its lock, bumping the version and storing the token; an older token is refused", async () => {
    const { deps } = setup();
    const call = testCall();
    const [made] = (await updateMacros(deps, call, { roomId, macros: [{ name: "a", code: "export default function () { return 1; }" }] })).value;
    await expect(updateMacros(deps, call, { roomId, macros: [{ macroId: made!.id, name: "a", code: "export default function () { return 2; }" }] })).rejects.toMatchObject({ reason: "LOCK_REQUIRED" });
    const lease = await deps.locks.acquire(lockScope(call.principal.tenantId, roomId), `macro/${made!.id}`, { id: call.principal.userId, name: "tester" }, 60_000);
    const [changed] = (await updateMacros(deps, call, { roomId, macros: [{ macroId: made!.id, name: "a2", code: "export default function () { return 2; }", expectedVersion: 1 }] })).value;
    expect(changed).toMatchObject({ id: made!.id, name: "a2", version: 2, fencingToken: lease.fencingToken });
    deps.macros.rows.get(made!.id)!.fencingToken = lease.fencingToken + 1n; // written since under a newer lease
    await expect(updateMacros(deps, call, { roomId, macros: [{ macroId: made!.id, name: "a2", code: "export default function () { return 3; }" }] })).rejects.toMatchObject({ reason: "STALE_FENCING_TOKEN" });
    await expect(updateMacros(deps, call, { roomId, macros: [{ name: "new", code: "export default function () { return 1; }", expectedVersion: 3 }] })).rejects.toMatchObject({ reason: "VERSION_CONFLICT" });
  });

  it("refuses the batch with every AST violation, each with its file (the call's transaction rolls back what was written)", async () => {
    const { deps } = setup();
    const err = await updateMacros(deps, testCall(), { roomId, macros: [{ name: "ok", code: "export default function () { return 1; }" }, { name: "bad", code: "import x from 'fs'; export default function () { return eval('1'); }" }] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ reason: "AST_VIOLATION" });
    expect((err as { facts: { violations: Array<{ file: string }> } }).facts.violations.every((v) => v.file === "bad")).toBe(true);
    expect(deps.macros.rows.size).toBe(1); // the first was written in the transaction that the refusal rolls back
  });
});

describe("deleteMacro", () => {
  it("deletes a macro with its policy layer under its lock and lets its lock go", async () => {
    const { deps, changedRooms } = setup();
    const call = testCall();
    const [made] = (await updateMacros(deps, call, { roomId, macros: [{ name: "gone", code: "export default function () { return 1; }" }] })).value;
    const failed = await deleteMacro(deps, call, { roomId, macroId: made!.id }).catch((e: unknown) => e);
    expect(failed).toBeInstanceOf(AuditedFailure);
    expect(failed).toMatchObject({ audit: { resource: `macro:${made!.id}` }, error: { reason: "LOCK_REQUIRED" } });
    const scope = lockScope(call.principal.tenantId, roomId);
    await deps.locks.acquire(scope, `macro/${made!.id}`, { id: call.principal.userId, name: "tester" }, 60_000);
    const done = await deleteMacro(deps, call, { roomId, macroId: made!.id });
    expect(done.audit).toEqual({ resource: `macro:${made!.id}`, details: { name: "gone", version: 1 } });
    expect(deps.macros.rows.has(made!.id)).toBe(false);
    expect(deps.macros.removedPolicyLayers).toEqual([made!.id]);
    expect(deps.lockTargets.released).toEqual([`${roomId}:macro/${made!.id}`]);
    await call.commit();
    expect(await deps.locks.get(scope, `macro/${made!.id}`)).toBeUndefined();
    expect(changedRooms).toContain(roomId);
    await expect(getMacro(deps, call, { roomId, macroId: made!.id })).rejects.toMatchObject({ reason: "NOT_FOUND" });
  });
});
