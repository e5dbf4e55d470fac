import { randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Level, PolicySchema, RoomRole, StringListSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { auditRows, createTenant, createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

type PolicyInit = MessageInitShape<typeof PolicySchema>;

const list = (...values: string[]) => create(StringListSchema, { values });
const policy = (init: PolicyInit) => create(PolicySchema, init);
const MiB = 1024 * 1024;

/** The global policy every test starts from (set in beforeAll, restored by tests that change it). */
const baseGlobal: PolicyInit = {
  timeoutMs: 2000,
  networkEnabled: true,
  allowedHosts: list("*.example.com", "api.partner.net"),
  allowedImports: list("gatehouse:store", "gatehouse:log"),
  maxRunsPerMinute: 300,
  overrideCeiling: { timeoutMs: 5000, allowedHosts: list("**.example.com") },
};

describe("PoliciesService", () => {
  let server: TestServer;
  let tenantId: string;
  let god: FixtureUser;
  let tenantAdmin: FixtureUser;
  /** roomAdmin holds the `admin` role at LEVEL_USER and creates the rooms (their ADMIN). */
  let roomAdmin: FixtureUser;
  let editor: FixtureUser;
  let viewer: FixtureUser;
  let roomId: string;

  const policies = (token: string) => server.client({ token }).policies;
  const setGlobal = (init: PolicyInit) => policies(god.token).updateGlobalPolicy({ policy: policy(init) });
  /** lockedMacro creates a macro in the room as `user` and takes its lock. */
  const lockedMacro = async (user: FixtureUser, room: string): Promise<string> => {
    const client = server.client({ token: user.token });
    const created = await client.macros.updateMacros({ roomId: room, macros: [{ name: `m-${randomUUID().slice(0, 8)}`, code: "export default function () { return 1; }" }] });
    const id = created.macros[0]!.macroId;
    await client.locks.acquireLock({ roomId: room, target: `macro/${id}` });
    return id;
  };
  const newRoom = async () => (await server.client({ token: roomAdmin.token }).rooms.createRoom({ name: `room-${randomUUID().slice(0, 8)}` })).room!.roomId;

  beforeAll(async () => {
    server = await startTestServer();
    tenantId = await tenantIdOf(server);
    [god, tenantAdmin, roomAdmin, editor, viewer] = await Promise.all([
      createUser(server, { level: Level.GOD, roles: ["superuser"], prefix: "god" }),
      createUser(server, { level: Level.ADMIN, roles: ["admin"], prefix: "tadmin" }),
      createUser(server, { level: Level.USER, roles: ["admin"], prefix: "radmin" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "editor" }),
      createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "viewer" }),
    ]);
    await setGlobal(baseGlobal);
    roomId = await newRoom();
    const rooms = server.client({ token: roomAdmin.token }).rooms;
    await rooms.addRoomMember({ roomId, userId: editor.id, role: RoomRole.EDITOR });
    await rooms.addRoomMember({ roomId, userId: viewer.id, role: RoomRole.VIEWER });
  });

  afterAll(async () => {
    await server?.close();
  });

  describe("GetGlobalPolicy and UpdateGlobalPolicy", () => {
    it("shows every tenant user the platform-wide policy, override_ceiling included", async () => {
      const got = (await policies(viewer.token).getGlobalPolicy({})).policy!;
      expect(got.timeoutMs).toBe(2000);
      expect(got.allowedHosts?.values).toEqual(["*.example.com", "api.partner.net"]);
      expect(got.overrideCeiling?.timeoutMs).toBe(5000);
      expect(got.memoryLimitBytes).toBeUndefined();
    });

    it("lets GOD and above loosen the built-in defaults (the global layer is the root)", async () => {
      const res = await setGlobal({ ...baseGlobal, memoryLimitBytes: 64 * MiB });
      expect(res.policy?.memoryLimitBytes).toBe(64 * MiB);
      const [event] = (await auditRows(server, tenantId, "policies.update_global")).slice(-1);
      expect(event).toMatchObject({ outcome: "ALLOWED", actor_id: god.id, resource: "policy:global" });
      expect(event!.details?.loosened).toEqual([{ field: "memory_limit_bytes", from: String(32 * MiB), to: String(64 * MiB), layer: "default" }]);
      await setGlobal(baseGlobal);
    });

    it("answers LEVEL_TOO_LOW to a tenant admin", async () => {
      const detail = await refused(policies(tenantAdmin.token).updateGlobalPolicy({ policy: policy({}) }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      expect(detail).toMatchObject({ attemptedValue: "ADMIN", parentValue: "GOD" });
    });

    it("answers INVALID_ARGUMENT naming the field of a malformed value", async () => {
      const cases: Array<[PolicyInit, string]> = [
        [{ allowedHosts: list("https://api.example.com") }, "allowed_hosts"],
        [{ allowedImports: list("fs") }, "allowed_imports"],
        [{ overrideCeiling: { allowedHosts: list("a b") } }, "override_ceiling.allowed_hosts"],
        [{ overrideCeiling: { overrideCeiling: {} } }, "override_ceiling.override_ceiling"],
      ];
      for (const [init, field] of cases) {
        expect((await refused(setGlobal(init), Code.InvalidArgument, "INVALID_ARGUMENT")).field, field).toBe(field);
      }
    });
  });

  describe("UpdateRoomPolicy (tighten only)", () => {
    it("refuses a number above the global value, with field, attempted and parent value", async () => {
      const detail = await refused(policies(roomAdmin.token).updateRoomPolicy({ roomId, policy: policy({ timeoutMs: 3000 }) }), Code.InvalidArgument, "POLICY_LOOSENS");
      expect(detail).toMatchObject({ field: "timeout_ms", attemptedValue: "3000", parentValue: "2000", layer: "global" });
    });

    it("refuses a boolean turned on where the parent has it off", async () => {
      const detail = await refused(
        policies(roomAdmin.token).updateRoomPolicy({ roomId, policy: policy({ allowRoomTokens: true }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(detail).toMatchObject({ field: "allow_room_tokens", attemptedValue: "true", parentValue: "false", layer: "default" });
    });

    it("refuses a list with entries the parent does not allow (host globs and imports)", async () => {
      const hosts = await refused(
        policies(roomAdmin.token).updateRoomPolicy({ roomId, policy: policy({ allowedHosts: list("api.example.com", "example.com.evil.net") }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(hosts).toMatchObject({
        field: "allowed_hosts",
        attemptedValue: '["api.example.com","example.com.evil.net"]',
        parentValue: '["*.example.com","api.partner.net"]',
        layer: "global",
      });
      const imports = await refused(
        policies(roomAdmin.token).updateRoomPolicy({ roomId, policy: policy({ allowedImports: list("gatehouse:net") }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(imports).toMatchObject({ field: "allowed_imports", attemptedValue: '["gatehouse:net"]', parentValue: '["gatehouse:store","gatehouse:log"]' });
    });

    it("refuses override_ceiling on a room", async () => {
      const detail = await refused(
        policies(roomAdmin.token).updateRoomPolicy({ roomId, policy: policy({ overrideCeiling: { timeoutMs: 1 } }) }),
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
      );
      expect(detail.field).toBe("override_ceiling");
    });

    it("stores a tightening (host globs in canonical form) and audits it", async () => {
      const res = await policies(roomAdmin.token).updateRoomPolicy({
        roomId,
        policy: policy({ timeoutMs: 1500, networkEnabled: false, allowedHosts: list("API.Example.com") }),
      });
      expect(res.policy?.allowedHosts?.values).toEqual(["api.example.com"]);
      const got = (await policies(viewer.token).getRoomPolicy({ roomId })).policy!;
      expect({ timeoutMs: got.timeoutMs, networkEnabled: got.networkEnabled, hosts: got.allowedHosts?.values, memory: got.memoryLimitBytes }).toEqual({
        timeoutMs: 1500,
        networkEnabled: false,
        hosts: ["api.example.com"],
        memory: undefined,
      });
      const [event] = (await auditRows(server, tenantId, "policies.update_room")).filter((e) => e.room_id === roomId).slice(-1);
      expect(event).toMatchObject({ outcome: "ALLOWED", actor_id: roomAdmin.id });
      expect(event!.details?.after).toEqual({ timeoutMs: 1500, networkEnabled: false, allowedHosts: ["api.example.com"] });
    });

    it("answers ROOM_ROLE_REQUIRED to a room EDITOR and PERMISSION_DENIED without policies.write", async () => {
      const room = await newRoom();
      await server.client({ token: roomAdmin.token }).rooms.addRoomMember({ roomId: room, userId: tenantAdmin.id, role: RoomRole.EDITOR });
      await refused(policies(editor.token).updateRoomPolicy({ roomId, policy: policy({}) }), Code.PermissionDenied, "PERMISSION_DENIED");
      // A tenant admin is room ADMIN everywhere, whatever their membership says.
      await policies(tenantAdmin.token).updateRoomPolicy({ roomId: room, policy: policy({ timeoutMs: 100 }) });
    });
  });

  describe("UpdateMacroPolicy (tighten only against room ∘ global)", () => {
    let macroId: string;

    beforeAll(async () => {
      await policies(roomAdmin.token).updateRoomPolicy({
        roomId,
        policy: policy({ timeoutMs: 1500, networkEnabled: false, allowedHosts: list("api.example.com") }),
      });
      macroId = await lockedMacro(editor, roomId);
    });

    it("refuses a number above the room's", async () => {
      const detail = await refused(
        policies(editor.token).updateMacroPolicy({ roomId, macroId, policy: policy({ timeoutMs: 1800 }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(detail).toMatchObject({ field: "timeout_ms", attemptedValue: "1800", parentValue: "1500", layer: "room" });
    });

    it("refuses a boolean the room turned off", async () => {
      const detail = await refused(
        policies(editor.token).updateMacroPolicy({ roomId, macroId, policy: policy({ networkEnabled: true }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(detail).toMatchObject({ field: "network_enabled", attemptedValue: "true", parentValue: "false", layer: "room" });
    });

    it("refuses a list wider than the room's or the global's", async () => {
      const hosts = await refused(
        policies(editor.token).updateMacroPolicy({ roomId, macroId, policy: policy({ allowedHosts: list("*.example.com") }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(hosts).toMatchObject({ field: "allowed_hosts", attemptedValue: '["*.example.com"]', parentValue: '["api.example.com"]', layer: "room" });
      const imports = await refused(
        policies(editor.token).updateMacroPolicy({ roomId, macroId, policy: policy({ allowedImports: list("gatehouse:log", "gatehouse:net") }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(imports).toMatchObject({ field: "allowed_imports", parentValue: '["gatehouse:store","gatehouse:log"]', layer: "global" });
    });

    it("stores a tightening by a room EDITOR holding the macro's lock, audited", async () => {
      await policies(editor.token).updateMacroPolicy({ roomId, macroId, policy: policy({ timeoutMs: 800, allowedImports: list("gatehouse:log") }) });
      const got = (await policies(viewer.token).getMacroPolicy({ roomId, macroId })).policy!;
      expect({ timeoutMs: got.timeoutMs, imports: got.allowedImports?.values }).toEqual({ timeoutMs: 800, imports: ["gatehouse:log"] });
      const events = (await auditRows(server, tenantId, "policies.update_macro")).filter((e) => e.resource === `macro:${macroId}`);
      // The refused attempts above are on record too, as FAILED, with their reason.
      expect(events.map((e) => e.outcome)).toEqual(["FAILED", "FAILED", "FAILED", "FAILED", "ALLOWED"]);
      const event = events[4];
      expect(event).toMatchObject({ outcome: "ALLOWED", actor_id: editor.id, room_id: roomId });
      expect(event!.details?.fencingToken).toMatch(/^[1-9]\d*$/);
    });

    it("refuses a room admin who does not hold the macro's lock (LOCK_REQUIRED)", async () => {
      const detail = await refused(
        policies(roomAdmin.token).updateMacroPolicy({ roomId, macroId, policy: policy({ timeoutMs: 700 }) }),
        Code.FailedPrecondition,
        "LOCK_REQUIRED",
      );
      expect(detail.holder?.holderId).toBe(editor.id);
    });

    it("answers ROOM_ROLE_REQUIRED to a room VIEWER holding macros.write", async () => {
      const room = await newRoom();
      await server.client({ token: roomAdmin.token }).rooms.addRoomMember({ roomId: room, userId: editor.id, role: RoomRole.VIEWER });
      await refused(
        policies(editor.token).updateMacroPolicy({ roomId: room, macroId, policy: policy({}) }),
        Code.PermissionDenied,
        "ROOM_ROLE_REQUIRED",
      );
    });
  });

  describe("UpdateUserPolicy (loosen only up to the override ceiling)", () => {
    let user: FixtureUser;

    beforeAll(async () => {
      user = await createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "override" });
    });

    it("has no override until one is set", async () => {
      expect((await policies(viewer.token).getUserPolicy({ userId: user.id })).policy).toBeUndefined();
    });

    it("loosens within the ceiling and audits what was loosened", async () => {
      await policies(tenantAdmin.token).updateUserPolicy({ userId: user.id, policy: policy({ timeoutMs: 4000, allowedHosts: list("a.b.example.com") }) });
      const got = (await policies(viewer.token).getUserPolicy({ userId: user.id })).policy!;
      expect({ timeoutMs: got.timeoutMs, hosts: got.allowedHosts?.values }).toEqual({ timeoutMs: 4000, hosts: ["a.b.example.com"] });
      const [event] = (await auditRows(server, tenantId, "policies.update_user")).filter((e) => e.resource === `user:${user.id}`).slice(-1);
      expect(event).toMatchObject({ outcome: "ALLOWED", actor_id: tenantAdmin.id });
      expect(event!.details?.loosened).toEqual([
        { field: "timeout_ms", from: "2000", to: "4000", layer: "global" },
        { field: "allowed_hosts", from: '["*.example.com","api.partner.net"]', to: '["a.b.example.com"]', layer: "global" },
      ]);
    });

    it("refuses a value past the ceiling, naming the ceiling's value", async () => {
      const detail = await refused(
        policies(tenantAdmin.token).updateUserPolicy({ userId: user.id, policy: policy({ timeoutMs: 6000 }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(detail).toMatchObject({ field: "timeout_ms", attemptedValue: "6000", parentValue: "5000", layer: "global.override_ceiling" });
      const hosts = await refused(
        policies(tenantAdmin.token).updateUserPolicy({ userId: user.id, policy: policy({ allowedHosts: list("evil.net") }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(hosts.field).toBe("allowed_hosts");
      expect((JSON.parse(hosts.parentValue) as string[]).sort()).toEqual(["**.example.com", "api.partner.net"]);
    });

    it("lets fields the ceiling leaves unset only tighten (number and boolean)", async () => {
      const number = await refused(
        policies(tenantAdmin.token).updateUserPolicy({ userId: user.id, policy: policy({ maxHostCalls: 2000 }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(number).toMatchObject({ field: "max_host_calls", attemptedValue: "2000", parentValue: "1000", layer: "default" });
      const boolean = await refused(
        policies(tenantAdmin.token).updateUserPolicy({ userId: user.id, policy: policy({ allowRoomTokens: true }) }),
        Code.InvalidArgument,
        "POLICY_LOOSENS",
      );
      expect(boolean).toMatchObject({ field: "allow_room_tokens", parentValue: "false" });
    });

    it("answers LEVEL_TOO_LOW below LEVEL_ADMIN and NOT_FOUND for an unknown user", async () => {
      await refused(policies(roomAdmin.token).updateUserPolicy({ userId: user.id, policy: policy({}) }), Code.PermissionDenied, "LEVEL_TOO_LOW");
      await refused(policies(tenantAdmin.token).updateUserPolicy({ userId: randomUUID(), policy: policy({}) }), Code.NotFound, "NOT_FOUND");
      await refused(policies(tenantAdmin.token).getUserPolicy({ userId: randomUUID() }), Code.NotFound, "NOT_FOUND");
    });

    it("deletes an override (audited); deleting a missing one changes nothing", async () => {
      await policies(tenantAdmin.token).deleteUserPolicy({ userId: user.id });
      expect((await policies(viewer.token).getUserPolicy({ userId: user.id })).policy).toBeUndefined();
      await policies(tenantAdmin.token).deleteUserPolicy({ userId: user.id });
      const events = (await auditRows(server, tenantId, "policies.delete_user")).filter((e) => e.resource === `user:${user.id}`);
      expect(events.map((e) => e.outcome)).toEqual(["ALLOWED", "ALLOWED"]);
      expect(events[0]!.details?.before).toEqual({ timeoutMs: 4000, allowedHosts: ["a.b.example.com"] });
      expect(events[1]!.details?.before).toBeNull();
    });
  });

  describe("GetEffectivePolicy", () => {
    let room: string;
    let macroId: string;
    let overridden: FixtureUser;
    let runner: FixtureUser;

    beforeAll(async () => {
      room = await newRoom();
      await policies(roomAdmin.token).updateRoomPolicy({ roomId: room, policy: policy({ maxStackBytes: 256 * 1024, networkEnabled: false }) });
      macroId = await lockedMacro(roomAdmin, room);
      await policies(roomAdmin.token).updateMacroPolicy({ roomId: room, macroId, policy: policy({ maxOutputBytes: 32 * 1024, allowedHosts: list("api.example.com") }) });
      overridden = await createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "eff" });
      await policies(tenantAdmin.token).updateUserPolicy({
        userId: overridden.id,
        policy: policy({ timeoutMs: 4000, maxHostCalls: 500, allowedImports: list("gatehouse:log") }),
      });
      // A custom role with a default policy: the user layer of users without an override.
      await server.gatehouse.deps.db.asSystem((em) =>
        em.execute("insert into roles (tenant_id, name, permissions, default_policy) values (?, 'runner', '{rooms.read}', ?::jsonb)", [
          tenantId,
          JSON.stringify({ maxRunsPerMinute: 60 }),
        ]),
      );
      runner = await createUser(server, { level: Level.USER, roles: ["runner"], prefix: "runner" });
    });

    it("names for every field the layer that set it: global, room, macro, user, default", async () => {
      const res = await policies(roomAdmin.token).getEffectivePolicy({ roomId: room, macroId, userId: overridden.id });
      expect(res.sources).toEqual({
        timeout_ms: "user",
        memory_limit_bytes: "default",
        max_stack_bytes: "room",
        max_output_bytes: "macro",
        max_host_calls: "user",
        network_enabled: "room",
        allowed_hosts: "macro",
        allowed_imports: "user",
        max_runs_per_minute: "global",
        allow_room_tokens: "default",
      });
      const p = res.policy!;
      expect({
        timeoutMs: p.timeoutMs,
        memoryLimitBytes: p.memoryLimitBytes,
        maxStackBytes: p.maxStackBytes,
        maxOutputBytes: p.maxOutputBytes,
        maxHostCalls: p.maxHostCalls,
        networkEnabled: p.networkEnabled,
        allowedHosts: p.allowedHosts?.values,
        allowedImports: p.allowedImports?.values,
        maxRunsPerMinute: p.maxRunsPerMinute,
        allowRoomTokens: p.allowRoomTokens,
        overrideCeiling: p.overrideCeiling,
      }).toEqual({
        timeoutMs: 4000,
        memoryLimitBytes: 32 * MiB,
        maxStackBytes: 256 * 1024,
        maxOutputBytes: 32 * 1024,
        maxHostCalls: 500,
        networkEnabled: false,
        allowedHosts: ["api.example.com"],
        allowedImports: ["gatehouse:log"],
        maxRunsPerMinute: 300,
        allowRoomTokens: false,
        overrideCeiling: undefined,
      });
    });

    it("names a role's default policy as role:<name> for a user without an override", async () => {
      const res = await policies(roomAdmin.token).getEffectivePolicy({ roomId: room, userId: runner.id });
      expect(res.sources).toMatchObject({ max_runs_per_minute: "role:runner", timeout_ms: "global", max_output_bytes: "default", network_enabled: "room" });
      expect(res.policy?.maxRunsPerMinute).toBe(60);
    });

    it("computes the caller's own policy when user_id is unset", async () => {
      const res = await policies(viewer.token).getEffectivePolicy({ roomId });
      expect(res.sources.timeout_ms).toBe("room");
      expect(res.policy?.timeoutMs).toBe(1500);
    });

    it("tightens everything below at once when the global policy is tightened", async () => {
      const before = await policies(roomAdmin.token).getEffectivePolicy({ roomId: room, macroId });
      expect(before.policy?.maxOutputBytes).toBe(32 * 1024);
      await setGlobal({ ...baseGlobal, maxOutputBytes: 1024, maxStackBytes: 1024 });
      try {
        const after = await policies(roomAdmin.token).getEffectivePolicy({ roomId: room, macroId });
        expect({ out: after.policy?.maxOutputBytes, stack: after.policy?.maxStackBytes }).toEqual({ out: 1024, stack: 1024 });
        expect({ out: after.sources.max_output_bytes, stack: after.sources.max_stack_bytes }).toEqual({ out: "global", stack: "global" });
      } finally {
        await setGlobal(baseGlobal);
      }
    });

    it("answers NOT_FOUND for an unknown user and ROOM_ROLE_REQUIRED to a non-member", async () => {
      await refused(policies(roomAdmin.token).getEffectivePolicy({ roomId: room, userId: randomUUID() }), Code.NotFound, "NOT_FOUND");
      await refused(policies(viewer.token).getEffectivePolicy({ roomId: room }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
    });

    it("is what the sandbox reads through deps.policies (one module, cached)", async () => {
      const { deps } = server.gatehouse;
      const merged = await deps.db.inTenant(tenantId, (em) => deps.policies.effectivePolicy(em, { tenantId, roomId: room, macroId, userId: overridden.id }));
      expect(merged.policy.maxHostCalls).toBe(500);
      expect(merged.loosened).toContain("timeout_ms");
    });
  });

  describe("tenant isolation", () => {
    it("answers NOT_FOUND for another tenant's rooms and users, and keeps the global policy GOD-only", async () => {
      const user = await createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "iso" });
      const other = await createTenant(server, await server.login(), "policies-other");
      const theirs = policies(other.admin.token);
      await refused(theirs.getRoomPolicy({ roomId }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.updateRoomPolicy({ roomId, policy: policy({ timeoutMs: 1 }) }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.getMacroPolicy({ roomId, macroId: randomUUID() }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.getEffectivePolicy({ roomId }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.getUserPolicy({ userId: user.id }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.updateUserPolicy({ userId: user.id, policy: policy({ timeoutMs: 1 }) }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.deleteUserPolicy({ userId: user.id }), Code.NotFound, "NOT_FOUND");
      const ownRoom = (await server.client({ token: other.admin.token }).rooms.createRoom({ name: "theirs" })).room!.roomId;
      await refused(
        policies(roomAdmin.token).getEffectivePolicy({ roomId: ownRoom }),
        Code.NotFound,
        "NOT_FOUND",
      );
      // Every tenant inherits the one global policy; none but GOD+ may change it.
      expect((await theirs.getGlobalPolicy({})).policy?.timeoutMs).toBe(2000);
      expect((await theirs.getEffectivePolicy({ roomId: ownRoom })).sources.timeout_ms).toBe("global");
      await refused(theirs.updateGlobalPolicy({ policy: policy({}) }), Code.PermissionDenied, "LEVEL_TOO_LOW");
    });
  });
});
