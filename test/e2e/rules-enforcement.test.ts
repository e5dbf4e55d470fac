import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { Code } from "@connectrpc/connect";
import { create } from "@bufbuild/protobuf";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect, Level, Outcome, PolicySchema, RoomRole, StringListSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { startGatehouse } from "../../src/app.js";
import { createLogger } from "../../src/logger.js";
import { validateRule, type RuleAction } from "../../src/domain/rules.js";
import { createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Rules are decided on one path: what EvaluateRules (the dry run) answers is
 * what the host functions and RunMacro enforce, on the same resource strings.
 */

/** The probe macro runs store calls given as input and says, per call, whether it was allowed or denied by the host. */
const probeCode = `import { get, put, remove, list } from "gatehouse:store";
export default async function (input) {
  const out = [];
  for (const op of input.ops) {
    try {
      if (op.fn === "get") await get(op.c, op.id);
      else if (op.fn === "put") await put(op.c, op.id, { by: "probe" });
      else if (op.fn === "remove") await remove(op.c, op.id);
      else await list(op.c);
      out.push("allowed");
    } catch (e) {
      out.push(e && e.name === "HostDenied" ? "denied" : "error: " + String(e && e.message));
    }
  }
  return out;
}`;

type Op = { fn: "get" | "put" | "remove" | "list"; c: string; id: string };

const actionOf: Record<Op["fn"], RuleAction> = { get: "store.read", put: "store.write", remove: "store.delete", list: "store.list" };
const resourceOf = (op: Op) => (op.fn === "list" ? op.c : `${op.c}/${op.id}`);

describe("rule enforcement (one decision path)", () => {
  let server: TestServer;
  let tenantId: string;
  let admin: FixtureUser;
  let runner: FixtureUser;

  const rules = () => server.client({ token: admin.token }).rules;
  const macros = () => server.client({ token: runner.token }).macros;

  /** newRoom makes a room where `runner` is EDITOR, with the probe macro under `names`. */
  async function newRoom(names: string[]): Promise<{ roomId: string; macroIds: Record<string, string> }> {
    const a = server.client({ token: admin.token });
    const roomId = (await a.rooms.createRoom({ name: `enforce-${randomUUID().slice(0, 8)}` })).room!.roomId;
    await a.rooms.addRoomMember({ roomId, userId: runner.id, role: RoomRole.EDITOR });
    const made = await macros().updateMacros({ roomId, macros: names.map((name) => ({ name, code: probeCode })) });
    return { roomId, macroIds: Object.fromEntries(made.macros.map((m) => [m.name, m.macroId])) };
  }

  const run = (roomId: string, macroId: string, ops: Op[]) => macros().runMacro({ roomId, macroId, input: { ops } });
  const subjectsOf = (roomId: string, macroId: string) => [`user:${runner.id}`, "role:editor", `room:${roomId}`, `macro:${macroId}`];

  beforeAll(async () => {
    // The property test runs macros back to back: the per-user burst limit (10 a second) is not what it tests.
    server = await startTestServer({ env: { GATEHOUSE_RUNS_PER_SECOND: "100000" } });
    tenantId = await tenantIdOf(server);
    [admin, runner] = await Promise.all([
      createUser(server, { level: Level.ADMIN, roles: ["admin"], prefix: "eadmin" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "runner" }),
    ]);
    // Room for a loaded machine: six store calls must not hit the 1 s default run timeout.
    await server.client({ token: await server.login() }).policies.updateGlobalPolicy({ policy: create(PolicySchema, { timeoutMs: 10_000 }) });
  });

  afterAll(async () => {
    await server?.close();
  });

  describe("gatehouse:store", () => {
    it("blocks put(\"notes\", \"n1\", …) under a DENY store.write on `notes`, and EvaluateRules agrees", async () => {
      const { roomId, macroIds } = await newRoom(["notes-writer"]);
      const macroId = macroIds["notes-writer"]!;
      const put: Op = { fn: "put", c: "notes", id: "n1" };
      const other: Op = { fn: "put", c: "drafts", id: "n1" };
      expect((await run(roomId, macroId, [put, other])).output).toEqual(["allowed", "allowed"]);

      const deny = (await rules().createRule({ subject: `room:${roomId}`, action: "store.write", resource: "notes", effect: Effect.DENY })).rule!;
      const res = await run(roomId, macroId, [put, other, { fn: "get", c: "notes", id: "n1" }]);
      expect(res.outcome).toBe(Outcome.OK);
      expect(res.output).toEqual(["denied", "allowed", "allowed"]);
      const dry = await rules().evaluateRules({ subjects: subjectsOf(roomId, macroId), action: "store.write", resource: "notes/n1", baselineAllowed: true });
      expect(dry).toMatchObject({ allowed: false, reason: "DENIED_BY_RULE", decidingRuleIds: [deny.ruleId] });
      expect((await rules().evaluateRules({ subjects: subjectsOf(roomId, macroId), action: "store.write", resource: "drafts/n1", baselineAllowed: true })).allowed).toBe(true);
    });
  });

  describe("gatehouse:net", () => {
    it("lets an ALLOW net.fetch rule admit a host allowed_hosts does not list, as EvaluateRules says, and a DENY refuse it", async () => {
      const http = await import("node:http");
      const target = http.createServer((_req, res) => res.end("pong"));
      await new Promise<void>((resolve) => target.listen(0, "127.0.0.1", resolve));
      const host = `127.0.0.1:${(target.address() as { port: number }).port}`;
      try {
        const god = server.client({ token: await server.login() });
        // The global policy lists the test server's host:port explicitly (http to loopback); the room narrows allowed_hosts.
        await god.policies.updateGlobalPolicy({
          policy: create(PolicySchema, { timeoutMs: 10_000, networkEnabled: true, allowedHosts: create(StringListSchema, { values: [host, "*.example.com"] }) }),
        });
        const a = server.client({ token: admin.token });
        const roomId = (await a.rooms.createRoom({ name: `net-${randomUUID().slice(0, 8)}` })).room!.roomId;
        await a.rooms.addRoomMember({ roomId, userId: runner.id, role: RoomRole.EDITOR });
        await a.policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, { allowedHosts: create(StringListSchema, { values: ["*.example.com"] }) }) });
        const code = 'import { fetch } from "gatehouse:net";\nexport default async function (input) { try { const r = await fetch(input.url); return "status " + r.status; } catch (e) { return e.name; } }';
        const macroId = (await macros().updateMacros({ roomId, macros: [{ name: "fetcher", code }] })).macros[0]!.macroId;
        const fetchOnce = async () => (await macros().runMacro({ roomId, macroId, input: { url: `http://${host}/` } })).output;
        const dry = () => rules().evaluateRules({ subjects: subjectsOf(roomId, macroId), action: "net.fetch", resource: host, baselineAllowed: false });

        expect(await fetchOnce()).toBe("HostDenied");
        expect((await dry()).allowed).toBe(false);
        const allow = (await rules().createRule({ subject: `room:${roomId}`, action: "net.fetch", resource: host, effect: Effect.ALLOW })).rule!;
        expect(await dry()).toMatchObject({ allowed: true, reason: "ALLOWED_BY_RULE", decidingRuleIds: [allow.ruleId] });
        expect(await fetchOnce()).toBe("status 200");
        const deny = (await rules().createRule({ subject: `macro:${macroId}`, action: "net.fetch", resource: "*", effect: Effect.DENY })).rule!;
        expect(await dry()).toMatchObject({ allowed: false, decidingRuleIds: [deny.ruleId] });
        expect(await fetchOnce()).toBe("HostDenied");
      } finally {
        await new Promise<void>((resolve) => target.close(() => resolve()));
      }
    });
  });

  describe("RunMacro and macro.run rules", () => {
    it("refuses a run a DENY macro.run rule matches: PERMISSION_DENIED, RULE_DENIED, with the deciding rule ids", async () => {
      const { roomId, macroIds } = await newRoom(["reports/daily", "tools/cleanup"]);
      const deny = (await rules().createRule({ subject: `room:${roomId}`, action: "macro.run", resource: "reports/*", effect: Effect.DENY })).rule!;
      const detail = await refused(run(roomId, macroIds["reports/daily"]!, []), Code.PermissionDenied, "RULE_DENIED");
      expect(detail.ruleIds).toEqual([deny.ruleId]);
      expect((await run(roomId, macroIds["tools/cleanup"]!, [])).outcome).toBe(Outcome.OK);
      const dry = (name: string) =>
        rules().evaluateRules({ subjects: subjectsOf(roomId, macroIds[name]!), action: "macro.run", resource: name, baselineAllowed: true });
      expect(await dry("reports/daily")).toMatchObject({ allowed: false, decidingRuleIds: [deny.ruleId] });
      expect((await dry("tools/cleanup")).allowed).toBe(true);
      // An ALLOW does not lift a DENY.
      await rules().createRule({ subject: `macro:${macroIds["reports/daily"]}`, action: "macro.run", resource: "reports/daily", effect: Effect.ALLOW });
      await refused(run(roomId, macroIds["reports/daily"]!, []), Code.PermissionDenied, "RULE_DENIED");
      await rules().deleteRule({ ruleId: deny.ruleId });
      expect((await run(roomId, macroIds["reports/daily"]!, [])).outcome).toBe(Outcome.OK);
    });

    it("stops every run under an existing DENY `*` on `*` (the rule now covers macro.run too)", async () => {
      const { roomId, macroIds } = await newRoom(["anything"]);
      const deny = (await rules().createRule({ subject: `room:${roomId}`, action: "*", resource: "*", effect: Effect.DENY })).rule!;
      expect((await refused(run(roomId, macroIds["anything"]!, []), Code.PermissionDenied, "RULE_DENIED")).ruleIds).toEqual([deny.ruleId]);
    });
  });

  describe("property: the dry run answers what enforcement does", () => {
    it("agrees for random rule sets and requests", async () => {
      const { roomId, macroIds } = await newRoom(["probe/run", "reports/daily"]);
      const otherRoom = `room:${randomUUID()}`;
      const subjects = ["*", "role:editor", "role:other", `user:${runner.id}`, `room:${roomId}`, otherRoom, ...Object.values(macroIds).map((id) => `macro:${id}`)];
      const actions = ["*", "store.read", "store.write", "store.delete", "store.list", "macro.run"];
      const resources = ["*", "notes", "docs", "notes/n1", "notes/n*", "notes/*2", "docs/d1", "docs/*1", "reports/*", "probe/*", "probe/run", "reports/**"];
      const ruleArb = fc
        .record({
          // Mostly subjects the runner has, so that rules bite; DENYs are what enforcement can show.
          subject: fc.oneof({ arbitrary: fc.constantFrom(...subjects.filter((s) => s !== otherRoom && s !== "role:other")), weight: 4 }, { arbitrary: fc.constantFrom(otherRoom, "role:other"), weight: 1 }),
          action: fc.constantFrom(...actions),
          resource: fc.constantFrom(...resources),
          deny: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
        })
        .filter((r) => validateRule({ ...r, effect: r.deny ? "deny" : "allow" }).length === 0);
      const opArb = fc.record({
        fn: fc.constantFrom<Op["fn"]>("get", "put", "remove", "list"),
        c: fc.constantFrom("notes", "docs"),
        id: fc.constantFrom("n1", "n2", "d1", "x12"),
      });
      await fc.assert(
        fc.asyncProperty(fc.array(ruleArb, { maxLength: 8 }), fc.array(opArb, { minLength: 3, maxLength: 8 }), async (specs, ops) => {
          const created: string[] = [];
          try {
            for (const r of specs) {
              created.push((await rules().createRule({ subject: r.subject, action: r.action, resource: r.resource, effect: r.deny ? Effect.DENY : Effect.ALLOW })).rule!.ruleId);
            }
            for (const [name, macroId] of Object.entries(macroIds)) {
              const who = subjectsOf(roomId, macroId);
              const gate = await rules().evaluateRules({ subjects: who, action: "macro.run", resource: name, baselineAllowed: true });
              if (!gate.allowed) {
                expect((await refused(run(roomId, macroId, ops), Code.PermissionDenied, "RULE_DENIED")).ruleIds).toEqual(gate.decidingRuleIds);
                continue;
              }
              const res = await run(roomId, macroId, ops);
              expect(res.outcome, res.errorMessage).toBe(Outcome.OK);
              // A room EDITOR has the baseline for every store action.
              const expected = await Promise.all(
                ops.map(async (op) =>
                  (await rules().evaluateRules({ subjects: who, action: actionOf[op.fn], resource: resourceOf(op), baselineAllowed: true })).allowed ? "allowed" : "denied",
                ),
              );
              expect(res.output, `${name} ${JSON.stringify({ specs, ops })}`).toEqual(expected);
            }
          } finally {
            for (const ruleId of created) await rules().deleteRule({ ruleId });
          }
        }),
        { numRuns: 20 },
      );
    }, 300_000);
  });

  describe("start-up report of malformed rules", () => {
    it("logs every stored rule that does not parse when the server starts", async () => {
      const [bad] = (await server.gatehouse.deps.db.inTenant(tenantId, (em) =>
        em.execute("insert into rules (tenant_id, subject, action, resource, effect) values (?, '*', 'store.list', 'old/**', 'deny') returning id", [tenantId]),
      )) as Array<{ id: string }>;
      const lines: Array<Record<string, unknown>> = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          for (const line of chunk.toString().split("\n")) if (line.trim() !== "") lines.push(JSON.parse(line) as Record<string, unknown>);
          done();
        },
      });
      const replica = await startGatehouse({ ...server.config, port: 0 }, { logger: createLogger("warn", sink) });
      try {
        const reported = lines.filter((l) => l.msg === "stored rule does not parse");
        expect(reported).toContainEqual(expect.objectContaining({ tenantId, ruleId: bad!.id, action: "store.list", resource: "old/**" }));
        expect(lines.find((l) => typeof l.count === "number")?.count).toBe(reported.length);
      } finally {
        await replica.close();
        await rules().deleteRule({ ruleId: bad!.id });
      }
    });
  });
});
