import { create } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Outcome, PolicySchema, RoomRole, type Policy } from "../../gen/gatehouse/v1/common_pb.js";
import { createUser, refused, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Finding 10 (policies) of issue 13: 0 is refused for a run's time, memory,
 * stack and output limits (INVALID_ARGUMENT naming the field) on every layer
 * that can be written; elsewhere 0 keeps its meaning: `max_host_calls: 0` is
 * a pure macro, `max_runs_per_minute: 0` freezes runs.
 */

const USER = 2;
const ADMIN = 3;
const zeroFields = [
  ["timeoutMs", "timeout_ms"],
  ["memoryLimitBytes", "memory_limit_bytes"],
  ["maxStackBytes", "max_stack_bytes"],
  ["maxOutputBytes", "max_output_bytes"],
] as const;

describe("zero in policies", () => {
  let server: TestServer;
  let root: string;
  let admin: FixtureUser; // tenant ADMIN, room admin of every room it makes
  let plain: FixtureUser;
  let roomId: string;

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    [admin, plain] = await Promise.all([
      createUser(server, { level: ADMIN, roles: ["admin"], prefix: "admin" }),
      createUser(server, { level: USER, roles: ["editor"], prefix: "plain" }),
    ]);
    roomId = (await server.client({ token: admin.token }).rooms.createRoom({ name: "zero-room" })).room!.roomId;
    await server.client({ token: admin.token }).rooms.addRoomMember({ roomId, userId: plain.id, role: RoomRole.EDITOR });
  });
  afterAll(async () => {
    await server?.close();
  });

  it("refuses 0 for timeout_ms, memory_limit_bytes, max_stack_bytes and max_output_bytes on every layer, naming the field", async () => {
    const policies = server.client({ token: admin.token }).policies;
    const editorRole = (await server.client({ token: admin.token }).roles.listRoles({ pageSize: 100 })).roles.find((r) => r.name === "editor")!.roleId;
    for (const [key, name] of zeroFields) {
      const policy = create(PolicySchema, { [key]: 0 } as Partial<Policy>);
      const writes: Array<[string, () => Promise<unknown>]> = [
        ["global", () => server.client({ token: root }).policies.updateGlobalPolicy({ policy })],
        ["ceiling", () => server.client({ token: root }).policies.updateGlobalPolicy({ policy: create(PolicySchema, { overrideCeiling: policy }) })],
        ["room", () => policies.updateRoomPolicy({ roomId, policy })],
        ["user", () => policies.updateUserPolicy({ userId: plain.id, policy })],
        ["role", () => server.client({ token: admin.token }).roles.updateRoleDefaultPolicy({ roleId: editorRole, policy })],
      ];
      for (const [layer, write] of writes) {
        const detail = await refused(write(), Code.InvalidArgument, "INVALID_ARGUMENT");
        expect([layer, detail.field, detail.attemptedValue]).toEqual([layer, layer === "ceiling" ? `override_ceiling.${name}` : name, "0"]);
      }
    }
    // Nothing was stored.
    expect((await policies.getRoomPolicy({ roomId })).policy).toEqual(create(PolicySchema, {}));
    expect((await policies.getUserPolicy({ userId: plain.id })).policy).toBeUndefined();
  });

  it("keeps 0 for max_host_calls: a pure macro, whose store calls are refused inside the run", async () => {
    const policies = server.client({ token: admin.token }).policies;
    await policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, { maxHostCalls: 0 }) });
    const macros = server.client({ token: plain.token }).macros;
    const [pure, writer] = (
      await macros.updateMacros({
        roomId,
        macros: [
          { name: "pure", code: "export default function () { return 41 + 1; }" },
          { name: "writer", code: 'import { put } from "gatehouse:store";\nexport default async function () { await put("notes", "n1", 1); return true; }' },
        ],
      })
    ).macros;
    expect((await macros.runMacro({ roomId, macroId: pure!.macroId })).outcome).toBe(Outcome.OK);
    const denied = await macros.runMacro({ roomId, macroId: writer!.macroId });
    expect(denied.outcome).not.toBe(Outcome.OK);
    expect(denied.hostCalls).toBe(0);
    await policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, {}) });
  });

  it("keeps 0 for max_runs_per_minute: every run of the macro is refused", async () => {
    const policies = server.client({ token: admin.token }).policies;
    const macros = server.client({ token: plain.token }).macros;
    const [m] = (await macros.updateMacros({ roomId, macros: [{ name: "frozen", code: "export default function () { return 1; }" }] })).macros;
    expect((await macros.runMacro({ roomId, macroId: m!.macroId })).outcome).toBe(Outcome.OK);
    await policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, { maxRunsPerMinute: 0 }) });
    await refused(macros.runMacro({ roomId, macroId: m!.macroId }), Code.ResourceExhausted, "RATE_LIMITED");
    await policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, {}) });
  });
});
