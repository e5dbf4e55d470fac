import { Code } from "@connectrpc/connect";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditOutcome, AuditService } from "../../gen/gatehouse/v1/audit_pb.js";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { startTestServer, type TestServer } from "../support/server.js";
import {
  auditEvents,
  createUser,
  expectAccessRules,
  expectEveryMethodGuarded,
  expectFailure,
  uniqueName,
  type TestUser,
} from "../support/identity.js";

describe("AuditService", () => {
  let server: TestServer;
  let root: string;
  let rootId: string;
  let admin: TestUser;
  let plain: TestUser;

  beforeAll(async () => {
    server = await startTestServer();
    root = await server.login();
    rootId = (await server.client({ token: root }).auth.whoAmI({})).user!.userId;
    [admin, plain] = await Promise.all([
      createUser(server, root, { level: Level.ADMIN, roles: ["admin"], prefix: "aadmin" }),
      createUser(server, root, { level: Level.USER, roles: ["viewer"], prefix: "aplain" }),
    ]);
  });
  afterAll(async () => {
    await server?.close();
  });

  const audit = (token: string) => server.client({ token }).audit;

  describe("ListAuditEvents", () => {
    it("lists the tenant's events newest first, with the chain fields", async () => {
      const res = await audit(admin.token).listAuditEvents({ pageSize: 1000 });
      const seqs = res.events.map((e) => Number(e.seq));
      expect(seqs.length).toBeGreaterThan(3);
      expect(seqs).toEqual([...seqs].sort((a, b) => b - a));
      expect(seqs[seqs.length - 1]).toBe(1);
      const first = res.events[res.events.length - 1]!;
      expect(first.prevHash).toBe("");
      expect(res.events[0]!.prevHash).toBe(res.events[1]!.hash);
      expect(res.events[0]!.hash).toMatch(/^[0-9a-f]{64}$/);
      const login = res.events.find((e) => e.action === "auth.login" && e.actorId === admin.id)!;
      expect(login).toMatchObject({ outcome: AuditOutcome.ALLOWED, actorName: admin.username, tenantId: res.events[0]!.tenantId });
      expect(login.requestId).not.toBe("");
      expect(login.method).toBe("gatehouse.v1.AuthService/Login");
    });

    it("walks every event exactly once, page by page", async () => {
      const all = (await audit(root).listAuditEvents({ pageSize: 1000 })).events.map((e) => e.seq);
      const seen: bigint[] = [];
      let pageToken = "";
      do {
        const res = await audit(root).listAuditEvents({ pageSize: 3, pageToken });
        seen.push(...res.events.map((e) => e.seq));
        pageToken = res.nextPageToken;
      } while (pageToken !== "");
      // Listing itself is not audited, so the log did not grow meanwhile.
      expect(seen).toEqual(all);
    });

    it("filters by actor, action, time and combines filters with AND", async () => {
      const username = uniqueName("filtered");
      await server.client({ token: admin.token }).users.createUser({ username, password: "a-long-password", level: Level.USER });
      const byAdmin = await auditEvents(server, root, { actorId: admin.id });
      expect(byAdmin.length).toBeGreaterThan(0);
      expect(byAdmin.every((e) => e.actorId === admin.id)).toBe(true);
      const creates = await auditEvents(server, root, { action: "users.create" });
      expect(creates.every((e) => e.action === "users.create")).toBe(true);
      const both = await auditEvents(server, root, { action: "users.create", actorId: admin.id });
      expect(both.map((e) => e.details?.username)).toContain(username);
      expect(both.every((e) => e.action === "users.create" && e.actorId === admin.id)).toBe(true);
      const newest = both[0]!;
      const at = newest.createdAt!;
      const window = await audit(root).listAuditEvents({ since: at, until: timestampFromDate(new Date(Date.now() + 60_000)), action: "users.create" });
      expect(window.events.map((e) => e.seq)).toContain(newest.seq);
      const before = await audit(root).listAuditEvents({ until: at, action: "users.create", actorId: admin.id });
      expect(before.events.map((e) => e.seq)).not.toContain(newest.seq);
      const future = await audit(root).listAuditEvents({ since: timestampFromDate(new Date(Date.now() + 60_000)) });
      expect(future.events).toEqual([]);
      expect(await auditEvents(server, root, { actorId: "00000000-0000-4000-8000-000000000000" })).toEqual([]);
    });

    it("records a refused privilege escalation as DENIED with its reason, and never a password", async () => {
      await expectFailure(
        server.client({ token: admin.token }).users.updateUser({ userId: admin.id, level: Level.SUPERGOD }),
        Code.PermissionDenied,
        "LEVEL_TOO_LOW",
      );
      const [event] = await auditEvents(server, root, { action: "users.update", actorId: admin.id });
      expect(event).toMatchObject({ outcome: AuditOutcome.DENIED, reason: "LEVEL_TOO_LOW", resource: `user:${admin.id}`, method: "gatehouse.v1.UsersService/UpdateUser" });
      expect(event!.details?.level).toBe("SUPERGOD");
      const creates = await auditEvents(server, root, { action: "users.create" });
      expect(JSON.stringify(creates.map((e) => [e.details, e.reason, e.resource]))).not.toContain("a-long-password");
    });

    it("records a call refused before its handler under the handler's action name", async () => {
      await expectFailure(server.client({ token: plain.token }).users.setUserRoles({ userId: plain.id, roleIds: [] }), Code.PermissionDenied, "PERMISSION_DENIED");
      const [event] = await auditEvents(server, root, { action: "users.set_roles", actorId: plain.id });
      expect(event).toMatchObject({ outcome: AuditOutcome.DENIED, reason: "PERMISSION_DENIED" });
    });

    it("records a failed mutation as FAILED and writes nothing else (no change without its record)", async () => {
      const username = uniqueName("dup");
      await server.client({ token: admin.token }).users.createUser({ username, password: "a-long-password", level: Level.USER });
      await expectFailure(server.client({ token: admin.token }).users.createUser({ username, password: "a-long-password", level: Level.USER }), Code.AlreadyExists);
      const events = (await auditEvents(server, root, { action: "users.create", actorId: admin.id })).filter((e) => e.details?.username === username);
      expect(events.map((e) => [AuditOutcome[e.outcome], e.reason])).toEqual([
        ["FAILED", "ALREADY_EXISTS"],
        ["ALLOWED", ""],
      ]);
    });

    it("refuses bad filters with INVALID_ARGUMENT naming the field", async () => {
      const now = new Date();
      const cases = [
        [{ actorId: "nope" }, "actor_id"],
        [{ roomId: "nope" }, "room_id"],
        [{ since: timestampFromDate(now), until: timestampFromDate(new Date(now.getTime() - 1000)) }, "since"],
        [{ pageSize: -5 }, "page_size"],
        [{ pageToken: Buffer.from("c1:abc").toString("base64url") }, "page_token"],
      ] as const;
      for (const [req, field] of cases) {
        expect((await expectFailure(audit(root).listAuditEvents(req), Code.InvalidArgument, "INVALID_ARGUMENT")).detail?.field).toBe(field);
      }
    });

    it("works over the Connect protocol too", async () => {
      const res = await server.client({ token: root, protocol: "connect" }).audit.listAuditEvents({ pageSize: 2 });
      expect(res.events).toHaveLength(2);
      expect(res.nextPageToken).not.toBe("");
    });
  });

  describe("access rules", () => {
    it("puts the documented access rule on every method", () => {
      expectAccessRules(AuditService, {
        ListAuditEvents: { permission: "audit.read" },
        VerifyAuditChain: { permission: "audit.read" },
      });
    });

    it("enforces them: UNAUTHENTICATED without credentials, PERMISSION_DENIED without audit.read", async () => {
      await expectEveryMethodGuarded(server, AuditService, plain.token);
    });
  });

  // Last: it breaks this tenant's chain for good.
  describe("VerifyAuditChain", () => {
    it("verifies the chain, and finds the first event edited behind the trigger's back", async () => {
      const ok = await audit(admin.token).verifyAuditChain({});
      expect(ok.ok).toBe(true);
      expect(ok.firstBrokenSeq).toBeUndefined();
      expect(ok.eventsChecked).toBeGreaterThan(5n);
      const [target] = await auditEvents(server, root, { action: "users.update", actorId: admin.id });
      const seq = target!.seq;
      const tenantId = target!.tenantId;
      // The trigger refuses the edit...
      await expect(
        server.gatehouse.deps.db.asSystem((em) => em.execute("update audit_events set reason = 'nothing happened' where tenant_id = ? and seq = ?", [tenantId, String(seq)])),
      ).rejects.toThrow();
      // ...so an attacker with the database's keys switches it off first.
      await server.gatehouse.deps.db.asSystem(async (em) => {
        await em.execute("alter table audit_events disable trigger all");
        await em.execute("update audit_events set outcome = 'ALLOWED', reason = '' where tenant_id = ? and seq = ?", [tenantId, String(seq)]);
        await em.execute("alter table audit_events enable trigger all");
      });
      const broken = await audit(admin.token).verifyAuditChain({});
      expect(broken.ok).toBe(false);
      expect(broken.firstBrokenSeq).toBe(seq);
      expect(broken.eventsChecked).toBe(seq);
      // Root's other tenants are unaffected: each chain is per tenant.
      void rootId;
    });
  });
});
