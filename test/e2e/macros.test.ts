import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { fromJson } from "@bufbuild/protobuf";
import { ValueSchema } from "@bufbuild/protobuf/wkt";
import { Effect, Outcome, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { auditRows, createUser, refusalOf, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

const USER = 2;
const trivial = "export default function (input) { return input; }";

describe("MacrosService", () => {
  let server: TestServer;
  let adminToken: string;
  let alice: FixtureUser;
  let bob: FixtureUser;
  let viewer: FixtureUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "1" } });
    adminToken = await server.login();
    [alice, bob, viewer] = await Promise.all([
      createUser(server, { level: USER, roles: ["editor"], prefix: "alice" }),
      createUser(server, { level: USER, roles: ["editor"], prefix: "bob" }),
      createUser(server, { level: USER, roles: ["viewer"], prefix: "viewer" }),
    ]);
    const admin = server.client({ token: adminToken });
    roomId = (await admin.rooms.createRoom({ name: "macros" })).room!.roomId;
    await admin.rooms.addRoomMember({ roomId, userId: alice.id, role: RoomRole.EDITOR });
    await admin.rooms.addRoomMember({ roomId, userId: bob.id, role: RoomRole.EDITOR });
    await admin.rooms.addRoomMember({ roomId, userId: viewer.id, role: RoomRole.VIEWER });
  });
  afterAll(async () => {
    await server?.close();
  });
  const macros = (u: FixtureUser) => server.client({ token: u.token }).macros;
  const create = async (u: FixtureUser, code: string, name = `m-${randomUUID().slice(0, 8)}`) =>
    (await macros(u).updateMacros({ roomId, macros: [{ name, code }] })).macros[0]!;
  const lock = (u: FixtureUser, macroId: string, ttlSeconds?: number) =>
    server.client({ token: u.token }).locks.acquireLock({ roomId, target: `macro/${macroId}`, ttlSeconds });

  describe("UpdateMacros", () => {
    it("creates macros at version 1 and lists them to editors only", async () => {
      const m = await create(alice, trivial, `listed-${randomUUID().slice(0, 6)}`);
      expect(m.version).toBe(1);
      const listed = await macros(bob).listMacros({ roomId });
      expect(listed.macros.map((x) => x.macroId)).toContain(m.macroId);
      await refused(macros(viewer).listMacros({ roomId }), Code.PermissionDenied, "PERMISSION_DENIED");
      await refused(macros(viewer).getMacro({ roomId, macroId: m.macroId }), Code.PermissionDenied, "PERMISSION_DENIED");
    });

    it("needs the lock to change an existing macro, then bumps the version and stores the fencing token", async () => {
      const m = await create(alice, trivial);
      await refused(macros(alice).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: trivial }] }), Code.FailedPrecondition, "LOCK_REQUIRED");
      const held = await lock(alice, m.macroId);
      const updated = (await macros(alice).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: "export default function () { return 2; }", expectedVersion: 1 }] })).macros[0]!;
      expect(updated.version).toBe(2);
      expect(updated.fencingToken).toBe(held.lock!.fencingToken);
      await refused(macros(alice).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: trivial, expectedVersion: 1 }] }), Code.Aborted, "VERSION_CONFLICT");
    });

    it("refuses the whole batch when one macro has an AST violation, with its line and column", async () => {
      const name = `good-${randomUUID().slice(0, 6)}`;
      const detail = await refused(
        macros(alice).updateMacros({
          roomId,
          macros: [
            { name, code: trivial },
            { name: `bad-${randomUUID().slice(0, 6)}`, code: 'import x from "node:fs";\nexport default function () { return 1; }' },
          ],
        }),
        Code.InvalidArgument,
        "AST_VIOLATION",
      );
      expect(detail.violations[0]).toMatchObject({ line: 1, column: 15, rule: "import-not-allowed" });
      const listed = await macros(alice).listMacros({ roomId, pageSize: 1000 });
      expect(listed.macros.map((m) => m.name)).not.toContain(name);
    });

    it("refuses a stale holder whose lease lapsed and was taken over (fencing)", async () => {
      const m = await create(alice, trivial);
      const first = await lock(alice, m.macroId, 1);
      await new Promise((r) => setTimeout(r, 1300));
      const second = await lock(bob, m.macroId);
      expect(second.lock!.fencingToken).toBeGreaterThan(first.lock!.fencingToken);
      await macros(bob).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: trivial }] });
      // Alice's lease is gone: her write is refused.
      await refused(macros(alice).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: "export default function () { return 'alice'; }" }] }), Code.FailedPrecondition, "LOCK_REQUIRED");
      // A write that carries the older token is refused even by the current holder.
      const stale = await refused(
        macros(bob).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: trivial, fencingToken: first.lock!.fencingToken }] }),
        Code.FailedPrecondition,
        "STALE_FENCING_TOKEN",
      );
      expect(stale.parentValue).toBe(second.lock!.fencingToken.toString());
    });
  });

  describe("ValidateMacro", () => {
    it("returns every violation with its position", async () => {
      const res = await macros(alice).validateMacro({ roomId, code: "const x = 1;\nexport const y = 2;\nexport default function () { return import('gatehouse:store'); }" });
      const rules = res.violations.map((v) => `${v.rule}@${v.line}:${v.column}`);
      expect(rules).toContain("top-level-statement@1:1");
      expect(rules).toContain("other-export@2:1");
      expect(rules.some((r) => r.startsWith("dynamic-import@3:"))).toBe(true);
    });
  });

  describe("DeleteMacro", () => {
    it("needs the lock", async () => {
      const m = await create(alice, trivial);
      await refused(macros(alice).deleteMacro({ roomId, macroId: m.macroId }), Code.FailedPrecondition, "LOCK_REQUIRED");
      await lock(alice, m.macroId);
      await macros(alice).deleteMacro({ roomId, macroId: m.macroId });
      await refused(macros(alice).getMacro({ roomId, macroId: m.macroId }), Code.NotFound, "NOT_FOUND");
    });
  });

  describe("RunMacro", () => {
    it("runs a macro over gRPC, Connect and gRPC-Web with input and ctx", async () => {
      const m = await create(alice, "export default async function (input, ctx) { return { doubled: input.n * 2, caller: ctx.caller.id, room: ctx.room.id, version: ctx.macro.version }; }");
      for (const protocol of ["grpc", "connect", "grpc-web"] as const) {
        const res = await server.client({ token: bob.token, protocol }).macros.runMacro({ roomId, macroId: m.macroId, input: fromJson(ValueSchema, { n: 21 }) });
        expect(res.outcome).toBe(Outcome.OK);
        expect(res.output).toEqual({ doubled: 42, caller: bob.id, room: roomId, version: 1 });
      }
      // Both records of a run name the macro: its start and its end.
      const tenantId = await tenantIdOf(server);
      for (const action of ["macros.run_start", "macros.run"]) {
        const rows = (await auditRows(server, tenantId, action)).filter((r) => r.resource === `macro:${m.macroId}`);
        expect(rows.map((r) => r.outcome)).toEqual(["ALLOWED", "ALLOWED", "ALLOWED"]);
      }
    });

    it("runs the new code at once after an update (the macro cache is cleared on commit)", async () => {
      const m = await create(alice, "export default function () { return 'old'; }");
      expect(JSON.stringify((await macros(bob).runMacro({ roomId, macroId: m.macroId })).output)).toContain("old");
      await lock(alice, m.macroId);
      await macros(alice).updateMacros({ roomId, macros: [{ macroId: m.macroId, name: m.name, code: "export default function () { return 'new'; }" }] });
      expect(JSON.stringify((await macros(bob).runMacro({ roomId, macroId: m.macroId })).output)).toContain("new");
      await macros(alice).deleteMacro({ roomId, macroId: m.macroId });
      await refused(macros(bob).runMacro({ roomId, macroId: m.macroId }), Code.NotFound, "NOT_FOUND");
    });

    it("ends a runaway loop with OUTCOME_TIMEOUT near the policy's deadline", async () => {
      const m = await create(alice, "export default function () { while (true) {} }");
      const started = Date.now();
      const res = await macros(bob).runMacro({ roomId, macroId: m.macroId });
      expect(res.outcome).toBe(Outcome.TIMEOUT);
      expect(Date.now() - started).toBeLessThan(3000);
    });

    it("writes and reads the room's store, and a DENY rule on store.write for the macro stops its writes", async () => {
      const writer = await create(alice, 'import { put, get } from "gatehouse:store";\nexport default async function (input) { await put("notes", input.id, { text: input.text }); return await get("notes", input.id); }');
      const ok = await macros(bob).runMacro({ roomId, macroId: writer.macroId, input: fromJson(ValueSchema, { id: "n1", text: "hello" }) });
      expect(ok.outcome).toBe(Outcome.OK);
      expect(ok.hostCalls).toBe(2);
      await server.client({ token: adminToken }).rules.createRule({ subject: `macro:${writer.macroId}`, action: "store.write", resource: "notes/*", effect: Effect.DENY, description: "read-only macro" });
      await new Promise((r) => setTimeout(r, 200));
      const denied = await macros(bob).runMacro({ roomId, macroId: writer.macroId, input: fromJson(ValueSchema, { id: "n2", text: "nope" }) });
      expect(denied.outcome).toBe(Outcome.DENIED);
      expect(denied.errorMessage).toContain("store.write");
    });

    it("lists only the records the caller may read", async () => {
      const seed = await create(alice, 'import { put } from "gatehouse:store";\nexport default async function () { await put("docs", "public-1", 1); await put("docs", "secret-1", 2); await put("docs", "public-2", 3); return true; }');
      expect((await macros(alice).runMacro({ roomId, macroId: seed.macroId })).outcome).toBe(Outcome.OK);
      await server.client({ token: adminToken }).rules.createRule({ subject: `user:${bob.id}`, action: "store.read", resource: "docs/secret-*", effect: Effect.DENY, description: "bob may not read secrets" });
      await new Promise((r) => setTimeout(r, 200));
      const lister = await create(alice, 'import { list } from "gatehouse:store";\nexport default async function () { const page = await list("docs", { limit: 10 }); return page.items.map((i) => i.id); }');
      const asBob = await macros(bob).runMacro({ roomId, macroId: lister.macroId });
      expect(asBob.outcome).toBe(Outcome.OK);
      expect(JSON.stringify(asBob.output)).not.toContain("secret-1");
      const asAlice = await macros(alice).runMacro({ roomId, macroId: lister.macroId });
      expect(JSON.stringify(asAlice.output)).toContain("secret-1");
    });

    it("refuses network access by default with OUTCOME_DENIED", async () => {
      const m = await create(alice, 'import { fetch } from "gatehouse:net";\nexport default async function () { return await fetch("https://example.com/"); }');
      const res = await macros(bob).runMacro({ roomId, macroId: m.macroId });
      expect(res.outcome).toBe(Outcome.DENIED);
      expect(res.errorMessage).toContain("network");
    });

    it("stops a memory bomb with OUTCOME_MEMORY_LIMIT within twice the deadline, keeping RSS bounded", async () => {
      const m = await create(alice, "export default function () { const keep = []; for (;;) { keep.push(new Array(100000).fill(keep.length)); } }");
      const before = process.memoryUsage().rss;
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 10);
      const started = Date.now();
      const res = await macros(bob).runMacro({ roomId, macroId: m.macroId });
      const elapsed = Date.now() - started;
      clearInterval(sampler);
      expect(res.outcome).toBe(Outcome.MEMORY_LIMIT);
      expect(elapsed).toBeLessThan(2 * 1000 + 500);
      // Default policy: 32 MiB limit; the bound is limit + 64 MiB above the start.
      expect(peak - before).toBeLessThan((32 + 64) * 1024 * 1024);
    });

    it("answers deep recursion with an error outcome and a huge output with OUTCOME_OUTPUT_LIMIT", async () => {
      const deep = await create(alice, "export default function () { function f(n) { return f(n + 1) + 1; } return f(0); }");
      const r1 = await macros(bob).runMacro({ roomId, macroId: deep.macroId });
      expect(r1.outcome).toBe(Outcome.ERROR);
      const huge = await create(alice, "export default function () { return 'x'.repeat(1024 * 1024); }");
      const r2 = await macros(bob).runMacro({ roomId, macroId: huge.macroId });
      expect(r2.outcome).toBe(Outcome.OUTPUT_LIMIT);
    });

    it("keeps answering other calls while two runaway macros run", async () => {
      const m = await create(alice, "export default function () { while (true) {} }");
      const runaways = [macros(bob).runMacro({ roomId, macroId: m.macroId }), macros(alice).runMacro({ roomId, macroId: m.macroId })];
      let runawaysDone = false;
      void Promise.all(runaways).then(() => (runawaysDone = true));
      await new Promise((r) => setTimeout(r, 100));
      const auth = server.client({ token: viewer.token }).auth;
      for (let i = 0; i < 10; i++) expect((await auth.whoAmI({})).user?.userId).toBe(viewer.id);
      expect(runawaysDone).toBe(false);
      const outcomes = (await Promise.all(runaways)).map((r) => r.outcome);
      expect(outcomes).toEqual([Outcome.TIMEOUT, Outcome.TIMEOUT]);
    });

    it("limits runs to 10 per second per user and to the policy's max_runs_per_minute, RESOURCE_EXHAUSTED beyond", async () => {
      const admin = server.client({ token: adminToken });
      const limitedRoom = (await admin.rooms.createRoom({ name: `limited-${randomUUID().slice(0, 6)}` })).room!.roomId;
      const runner = await createUser(server, { level: USER, roles: ["editor"], prefix: "runner" });
      await admin.rooms.addRoomMember({ roomId: limitedRoom, userId: runner.id, role: RoomRole.EDITOR });
      await admin.policies.updateRoomPolicy({ roomId: limitedRoom, policy: { maxRunsPerMinute: 20 } });
      const m = (await macros(runner).updateMacros({ roomId: limitedRoom, macros: [{ name: "limited", code: trivial }] })).macros[0]!;
      const run = () => macros(runner).runMacro({ roomId: limitedRoom, macroId: m.macroId });

      // One run (which also caches the macro and its policy for a second), then 15 at once: the
      // per-second limit lets 10 through in all (fewer only if the burst straddles a window).
      await run();
      const burst = await Promise.allSettled(Array.from({ length: 15 }, run));
      const passed = 1 + burst.filter((r) => r.status === "fulfilled").length;
      expect(passed).toBeLessThanOrEqual(10);
      const refusal = await refusalOf(Promise.reject((burst.find((r) => r.status === "rejected") as PromiseRejectedResult).reason));
      expect({ code: Code[refusal.code], reason: refusal.detail.reason }).toEqual({ code: "ResourceExhausted", reason: "RATE_LIMITED" });
      expect(refusal.detail.layer).toBe("10 per second per user");

      // Runs refused for bursting did not spend the per-minute budget: 20 - passed remain.
      await new Promise((r) => setTimeout(r, 1100));
      let more = 0;
      for (;;) {
        const r = await refusalOf(run()).catch(() => undefined); // undefined: the run went through
        if (r) {
          expect({ code: Code[r.code], reason: r.detail.reason }).toEqual({ code: "ResourceExhausted", reason: "RATE_LIMITED" });
          expect(r.detail.layer).toBe("max_runs_per_minute 20");
          expect(r.detail.retryAfter?.seconds).toBeGreaterThan(0n);
          break;
        }
        more += 1;
        if (more % 8 === 0) await new Promise((res) => setTimeout(res, 1000)); // stay under 10/s
        if (more > 20) break;
      }
      expect(passed + more).toBe(20);
    });

    it("refuses viewers (no macros.run)", async () => {
      const m = await create(alice, trivial);
      await refused(macros(viewer).runMacro({ roomId, macroId: m.macroId }), Code.PermissionDenied, "PERMISSION_DENIED");
    });
  });
});

describe("RunMacro with gatehouse:net", () => {
  let server: TestServer;
  let allowed: import("node:http").Server;
  let forbidden: import("node:net").Server;
  let allowedPort: number;
  let forbiddenPort: number;
  let forbiddenConnections = 0;
  let editor: FixtureUser;
  let roomId: string;
  beforeAll(async () => {
    const http = await import("node:http");
    const net = await import("node:net");
    forbidden = net.createServer((s) => {
      forbiddenConnections++;
      s.destroy();
    });
    await new Promise<void>((r) => forbidden.listen(0, "127.0.0.1", r));
    forbiddenPort = (forbidden.address() as import("node:net").AddressInfo).port;
    allowed = http.createServer((req, res) => {
      if (req.url === "/redirect") {
        res.writeHead(302, { location: `http://127.0.0.1:${forbiddenPort}/` });
        res.end();
        return;
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ hello: "from the allowed host" }));
    });
    await new Promise<void>((r) => allowed.listen(0, "127.0.0.1", r));
    allowedPort = (allowed.address() as import("node:net").AddressInfo).port;
    server = await startTestServer();
    const adminToken = await server.login();
    const admin = server.client({ token: adminToken });
    await admin.policies.updateGlobalPolicy({ policy: { networkEnabled: true, allowedHosts: { values: [`127.0.0.1:${allowedPort}`] } } });
    editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "net" });
    roomId = (await admin.rooms.createRoom({ name: "net" })).room!.roomId;
    await admin.rooms.addRoomMember({ roomId, userId: editor.id, role: RoomRole.EDITOR });
  });
  afterAll(async () => {
    await server?.close();
    allowed?.close();
    forbidden?.close();
  });

  const fetchMacro = async (url: string) => {
    const code = `import { fetch } from "gatehouse:net";\nexport default async function () { const r = await fetch(${JSON.stringify(url)}); return { status: r.status, body: r.body }; }`;
    const client = server.client({ token: editor.token }).macros;
    const m = (await client.updateMacros({ roomId, macros: [{ name: `net-${randomUUID().slice(0, 8)}`, code }] })).macros[0]!;
    return client.runMacro({ roomId, macroId: m.macroId });
  };

  it("fetches from a host:port the global policy allows explicitly", async () => {
    const res = await fetchMacro(`http://127.0.0.1:${allowedPort}/data`);
    expect(res.outcome).toBe(Outcome.OK);
    expect(JSON.stringify(res.output)).toContain("from the allowed host");
  });

  it("refuses loopback in every spelling, and a redirect to it, before connecting", async () => {
    for (const url of [
      `http://127.0.0.1:${forbiddenPort}/`,
      `http://0x7f000001:${forbiddenPort}/`,
      `http://2130706433:${forbiddenPort}/`,
      `https://[::ffff:127.0.0.1]:${forbiddenPort}/`,
      `http://127.0.0.1:${allowedPort}/redirect`,
    ]) {
      const res = await fetchMacro(url);
      expect(res.outcome, url).toBe(Outcome.DENIED);
    }
    expect(forbiddenConnections).toBe(0);
  });
});
