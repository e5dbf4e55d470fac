import { randomUUID } from "node:crypto";
import { Writable } from "node:stream";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome } from "../../gen/gatehouse/v1/audit_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { createGatehouseClient } from "../../src/client/index.js";
import { createLogger } from "../../src/logger.js";
import { verifyAuditChain } from "../../src/store/audit-writer.js";
import { adminPassword, startTestServer, type TestServer } from "../support/server.js";
import { auditEvents, createUser, expectFailure, waitUntil, type TestUser } from "../support/identity.js";
import { codeOf } from "../support/refusals.js";

/**
 * The audit log fails closed (issue 13, finding 2): when the database refuses
 * audit records, every call that would be recorded answers UNAVAILABLE
 * (AUDIT_UNAVAILABLE) and leaves nothing behind. And a client that cancels a
 * macro run (finding 7) gets CANCELED everywhere: metrics, log level, the
 * audit record, and a worker stopped at once.
 */
describe("the audit log fails closed", () => {
  let server: TestServer;
  let root: string;
  let plain: TestUser;
  let tenantId: string;
  let roomId: string;
  let macroId: string;
  const logLines: Array<{ level: number; msg: string; code?: string; err?: unknown }> = [];

  const sql = async <Row>(text: string, params: unknown[] = []) =>
    (await server.gatehouse.deps.db.asSystem((em) => em.execute(text, params))) as Row[];
  const count = async (text: string, params: unknown[] = []) => (await sql<{ n: number }>(`select count(*)::int as n from ${text}`, params))[0]!.n;
  const sandboxRuns = () => Object.values(server.gatehouse.deps.sandbox.stats().runs).reduce((a, b) => a + b, 0);

  beforeAll(async () => {
    // Every log line at info and above, to check what a cancellation logs.
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const line of chunk.toString("utf8").split("\n")) if (line.trim() !== "") logLines.push(JSON.parse(line) as never);
        done();
      },
    });
    server = await startTestServer({ env: { GATEHOUSE_RUNS_PER_SECOND: "1000" }, logger: createLogger("info", sink) });
    root = await server.login();
    plain = await createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "closed" });
    tenantId = (await server.client({ token: root }).auth.whoAmI({})).tenantId;
    roomId = (await server.client({ token: root }).rooms.createRoom({ name: `closed-${randomUUID().slice(0, 8)}` })).room!.roomId;
    const made = await server.client({ token: root }).macros.updateMacros({
      roomId,
      macros: [
        { name: "echo", code: "export default function (input) { return input; }" },
        { name: "spin", code: "export default function () { for (;;) {} }" },
      ],
    });
    macroId = made.macros.find((m) => m.name === "echo")!.macroId;
  });
  afterAll(async () => {
    await server?.close();
  });

  describe("with inserts into audit_events revoked from gatehouse_app", () => {
    let eventsBefore: number;
    let sessionsBefore: number;
    let roomsBefore: number;

    beforeAll(async () => {
      // Warm the macro and policy caches: the run below then needs no read that could fail first.
      await server.client({ token: root }).macros.runMacro({ roomId, macroId });
      await sql("revoke insert on audit_events from gatehouse_app");
      eventsBefore = await count("audit_events where tenant_id = ?", [tenantId]);
      sessionsBefore = await count("sessions where tenant_id = ?", [tenantId]);
      roomsBefore = await count("rooms where tenant_id = ?", [tenantId]);
    });
    afterAll(async () => {
      await sql("grant insert on audit_events to gatehouse_app");
    });

    it("answers a mutation UNAVAILABLE and commits nothing", async () => {
      await expectFailure(server.client({ token: root }).rooms.createRoom({ name: `lost-${randomUUID().slice(0, 8)}` }), Code.Unavailable, "AUDIT_UNAVAILABLE");
      expect(await count("rooms where tenant_id = ?", [tenantId])).toBe(roomsBefore);
    });

    it("answers CreateTenant (which opens the new tenant's chain itself) UNAVAILABLE and creates no tenant", async () => {
      const tenants = await count("tenants");
      const name = `closed-${randomUUID().slice(0, 8)}`;
      await expectFailure(
        server.client({ token: root }).tenants.createTenant({ name, adminUsername: "first-admin", adminPassword: "a-long-enough-password-1" }),
        Code.Unavailable,
        "AUDIT_UNAVAILABLE",
      );
      expect(await count("tenants")).toBe(tenants);
    });

    it("answers an audited read UNAVAILABLE", async () => {
      await expectFailure(server.client({ token: root }).rooms.getRoomToken({ roomId }), Code.Unavailable, "AUDIT_UNAVAILABLE");
    });

    it("answers a denial UNAVAILABLE", async () => {
      await expectFailure(server.client({ token: plain.token }).audit.listAuditEvents({}), Code.Unavailable, "AUDIT_UNAVAILABLE");
    });

    it("answers Login UNAVAILABLE and starts no session", async () => {
      await expectFailure(server.client().auth.login({ tenant: "default", username: "admin", password: adminPassword }), Code.Unavailable, "AUDIT_UNAVAILABLE");
      expect(await count("sessions where tenant_id = ?", [tenantId])).toBe(sessionsBefore);
    });

    it("answers RunMacro UNAVAILABLE without running the macro", async () => {
      const runs = sandboxRuns();
      await expectFailure(server.client({ token: root }).macros.runMacro({ roomId, macroId }), Code.Unavailable, "AUDIT_UNAVAILABLE");
      expect(sandboxRuns()).toBe(runs);
    });

    it("has written nothing, and the chain still verifies", async () => {
      expect(await count("audit_events where tenant_id = ?", [tenantId])).toBe(eventsBefore);
      const report = await server.gatehouse.deps.db.asSystem((em) => verifyAuditChain(em, tenantId));
      expect(report.ok).toBe(true);
    });
  });

  describe("with the audit log writable again", () => {
    it("records a macro run before it starts and when it ends", async () => {
      const requestId = `run-${randomUUID()}`;
      const res = await server.client({ token: root, headers: { "x-request-id": requestId } }).macros.runMacro({ roomId, macroId });
      expect(res.durationMs).toBeGreaterThanOrEqual(0);
      const rows = await sql<{ action: string; outcome: string; details: Record<string, unknown> }>(
        "select action, outcome, details from audit_events where tenant_id = ? and request_id = ? order by seq",
        [tenantId, requestId],
      );
      expect(rows.map((r) => [r.action, r.outcome])).toEqual([
        ["macros.run_start", "ALLOWED"],
        ["macros.run", "ALLOWED"],
      ]);
      expect(rows[1]!.details).toMatchObject({ outcome: "ok" });
      expect(rows[1]!.details.durationMs).toEqual(expect.any(Number));
    });

    it("commits a login's session with its record", async () => {
      const sessions = await count("sessions where tenant_id = ?", [tenantId]);
      await server.login();
      expect(await count("sessions where tenant_id = ?", [tenantId])).toBe(sessions + 1);
    });
  });

  describe("a cancelled macro run", () => {
    const spin = async () => (await server.client({ token: root }).macros.listMacros({ roomId })).macros.find((m) => m.name === "spin")!.macroId;
    const poolIdle = () => waitUntil(async () => {
      const stats = server.gatehouse.deps.sandbox.stats();
      return stats.idle === stats.size;
    }, 10_000);
    const metric = async (code: string) => {
      const text = await (await fetch(`${server.baseUrl}/metrics`)).text();
      const line = text.split("\n").find((l) => l.startsWith(`gatehouse_rpc_calls_total{method="gatehouse.v1.MacrosService/RunMacro",code="${code}"}`));
      return line ? Number(line.split(" ").pop()) : 0;
    };

    for (const [name, protocol, httpVersion] of [
      ["Connect over HTTP/1.1", "connect", "1.1"],
      ["gRPC over HTTP/2", "grpc", "2"],
    ] as const) {
      it(`answers CANCELED, counts it as canceled, logs no error, records CANCELED and stops the worker (${name})`, async () => {
        const spinId = await spin();
        await poolIdle();
        const before = server.gatehouse.deps.sandbox.stats();
        const [canceledBefore, internalBefore] = [await metric("canceled"), await metric("internal")];
        const requestId = `cancel-${randomUUID()}`;
        const client = createGatehouseClient({ baseUrl: server.baseUrl, protocol, httpVersion, token: root, headers: { "x-request-id": requestId } });
        const controller = new AbortController();
        const call = client.macros.runMacro({ roomId, macroId: spinId }, { signal: controller.signal });
        // Abort once the run has started (its start record is written just before).
        await waitUntil(async () => (await count("audit_events where tenant_id = ? and request_id = ?", [tenantId, requestId])) === 1, 10_000);
        await waitUntil(async () => server.gatehouse.deps.sandbox.stats().busy === 1, 10_000);
        controller.abort();
        expect(await codeOf(call)).toBe(Code.Canceled);

        await waitUntil(async () => (await count("audit_events where tenant_id = ? and request_id = ?", [tenantId, requestId])) === 2, 10_000);
        const [record] = (await auditEvents(server, root, { action: "macros.run" })).filter((e) => e.requestId === requestId);
        expect(record?.outcome).toBe(AuditOutcome.CANCELED);
        expect(record?.reason).toBe("CANCELED");
        expect(record?.details).toMatchObject({ outcome: "canceled", durationMs: expect.any(Number) });

        expect(await metric("canceled")).toBe(canceledBefore + 1);
        expect(await metric("internal")).toBe(internalBefore);
        // The worker was terminated, not left to run to its deadline.
        await poolIdle();
        const after = server.gatehouse.deps.sandbox.stats();
        expect(after.killed).toBe(before.killed + 1);
        expect(after.runs.timeout).toBe(before.runs.timeout);
        expect(logLines.filter((l) => l.level >= 50 && (l as { requestId?: string }).requestId === requestId)).toEqual([]);
        expect(logLines.find((l) => (l as { requestId?: string }).requestId === requestId && l.msg === "rpc")).toMatchObject({ code: "canceled" });
      });
    }
  });
});
