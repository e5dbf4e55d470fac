import { describe, expect, it } from "vitest";
import { RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import { AuditedFailure } from "../../../src/app/audited-failure.js";
import { createRunLimits } from "../../../src/app/macros/run-limits.js";
import { runMacro, type RunMacroDeps } from "../../../src/app/macros/run-macro.js";
import { createMacroCache } from "../../../src/macros/macro-cache.js";
import type { HostCall, RunRequest, RunResult } from "../../../src/sandbox/index.js";
import { createLocalBus } from "../../../src/shared-state/bus.js";
import { createLimiterFactory } from "../../../src/shared-state/rate-limiters.js";
import { testCall } from "../../support/app-call.js";
import { memoryMacroStore } from "../../support/memory-stores/macros.js";
import { fakePolicies, fakeRules } from "../../support/memory-stores/macro-deps.js";
import { memoryStoreRecordStore } from "../../support/memory-stores/store-records.js";

const roomId = "00000000-0000-4000-8000-0000000000bb";

/** A sandbox stand-in: the "macro" is a script of host calls, its output what they answered. */
function scriptedSandbox(script: (host: HostCall, signal: AbortSignal) => Promise<unknown>) {
  const runs: RunRequest[] = [];
  return {
    runs,
    async run(req: RunRequest): Promise<RunResult> {
      runs.push(req);
      const output = await script(req.hostCall, new AbortController().signal);
      return { outcome: "ok", output, logs: ["ran"], durationMs: 3.4, memoryUsedBytes: 1000, hostCalls: 1 };
    },
  };
}

function setup(script: (host: HostCall, signal: AbortSignal) => Promise<unknown>, encodeOutput: (o: unknown) => unknown = (o) => o) {
  const sandbox = scriptedSandbox(script);
  const deps: RunMacroDeps<unknown> = {
    macros: memoryMacroStore(),
    storeRecords: memoryStoreRecordStore(),
    policies: fakePolicies(),
    macroCache: createMacroCache(createLocalBus()),
    rules: fakeRules(),
    sandbox,
    netFetch: async () => ({ status: 200, headers: {}, body: "" }),
    limits: createRunLimits(createLimiterFactory(undefined, `test-${Math.random()}`), 10),
    encodeOutput,
  };
  return { deps, sandbox };
}

const put = (host: HostCall, signal: AbortSignal) => host("gatehouse:store", "put", ["notes", "n1", { text: "hi" }], { signal });

describe("runMacro", () => {
  it("records the run's start before running it and answers its result with the audit facts", async () => {
    const { deps, sandbox } = setup(async () => ({ ok: true }));
    const call = testCall({}, { roomId, role: RoomRole.EDITOR });
    const macro = await deps.macros.insert(undefined as never, { tenantId: call.principal.tenantId, roomId, name: "m", code: "code", by: null });
    const done = await runMacro(deps, call, { roomId, macroId: macro.id, input: { x: 1 } });
    expect(call.recorded).toEqual([{ action: "macros.run_start", details: { version: 1 }, facts: { resource: `macro:${macro.id}` } }]);
    expect(sandbox.runs[0]).toMatchObject({ code: "code", input: { x: 1 }, ctx: { room: { id: roomId }, macro: { id: macro.id, version: 1 } } });
    expect(done.value).toMatchObject({ outcome: "ok", output: { ok: true }, logs: ["ran"], durationMs: 3, hostCalls: 1 });
    expect(done.audit).toEqual({ resource: `macro:${macro.id}`, details: { outcome: "ok", version: 1, durationMs: 3, hostCalls: 1, memoryUsedBytes: 1000 } });
  });

  it("authorizes host calls with the room role the access rule checked: an editor may write the store, a viewer may not", async () => {
    const { deps } = setup(put);
    const editor = testCall({}, { roomId, role: RoomRole.EDITOR });
    const macro = await deps.macros.insert(undefined as never, { tenantId: editor.principal.tenantId, roomId, name: "w", code: "c", by: null });
    expect((await runMacro(deps, editor, { roomId, macroId: macro.id, input: null })).value.output).toBe(true);
    expect((await deps.storeRecords.get(undefined as never, roomId, "notes", "n1"))?.doc).toEqual({ text: "hi" });
    const viewer = testCall({ userId: "00000000-0000-4000-8000-000000000002" }, { roomId, role: RoomRole.VIEWER });
    await expect(runMacro(deps, viewer, { roomId, macroId: macro.id, input: null })).rejects.toMatchObject({ error: { name: "HostDenied" } });
  });

  it("fails with NOT_FOUND for a missing macro, keeping the resource for the record, and records no start", async () => {
    const { deps } = setup(async () => null);
    const call = testCall({}, { roomId, role: RoomRole.EDITOR });
    const err = await runMacro(deps, call, { roomId, macroId: "00000000-0000-4000-8000-00000000dead", input: null }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditedFailure);
    expect(err).toMatchObject({ audit: { resource: "macro:00000000-0000-4000-8000-00000000dead" }, error: { reason: "NOT_FOUND" } });
    expect(call.recorded).toEqual([]);
  });

  it("answers OUTCOME error when the output cannot be encoded for the caller", async () => {
    const { deps } = setup(async () => [[[]]], () => {
      throw new Error("too deep");
    });
    const call = testCall({}, { roomId, role: RoomRole.EDITOR });
    const macro = await deps.macros.insert(undefined as never, { tenantId: call.principal.tenantId, roomId, name: "deep", code: "c", by: null });
    const done = await runMacro(deps, call, { roomId, macroId: macro.id, input: null });
    expect(done.value).toMatchObject({ outcome: "error", output: undefined, errorMessage: "the output cannot be returned: too deep" });
    expect(done.audit?.details).toMatchObject({ outcome: "error", error: "the output cannot be returned: too deep" });
  });
});
