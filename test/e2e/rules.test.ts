import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Effect, Level } from "../../gen/gatehouse/v1/common_pb.js";
import type { EvaluateRulesRequest } from "../../gen/gatehouse/v1/rules_pb.js";
import { auditRows, createTenant, createUser, fixturePassword, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";

type Query = Partial<Pick<EvaluateRulesRequest, "subjects" | "action" | "resource" | "baselineAllowed">>;

describe("RulesService", () => {
  let server: TestServer;
  let tenantId: string;
  let admin: FixtureUser;
  let editor: FixtureUser;
  let viewer: FixtureUser;

  const rules = (token: string) => server.client({ token }).rules;
  const createRule = async (subject: string, action: string, resource: string, effect: Effect, description = "") =>
    (await rules(admin.token).createRule({ subject, action, resource, effect, description })).rule!;
  const evaluate = (q: Query, token = editor.token) =>
    rules(token).evaluateRules({ subjects: q.subjects ?? [], action: q.action ?? "store.read", resource: q.resource ?? "", baselineAllowed: q.baselineAllowed ?? false });

  beforeAll(async () => {
    server = await startTestServer();
    tenantId = await tenantIdOf(server);
    [admin, editor, viewer] = await Promise.all([
      createUser(server, { level: Level.ADMIN, roles: ["admin"], prefix: "radmin" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "editor" }),
      createUser(server, { level: Level.USER, roles: ["viewer"], prefix: "viewer" }),
    ]);
  });

  afterAll(async () => {
    await server?.close();
  });

  describe("CreateRule", () => {
    it("creates a rule and answers it", async () => {
      const rule = await createRule("role:editor", "store.read", "invoices/*", Effect.ALLOW, "editors read invoices");
      expect(rule).toMatchObject({ tenantId, subject: "role:editor", action: "store.read", resource: "invoices/*", effect: Effect.ALLOW, description: "editors read invoices" });
      expect(rule.ruleId).toMatch(/^[0-9a-f-]{36}$/);
    });

    it("answers INVALID_ARGUMENT naming the malformed field", async () => {
      const cases: Array<[string, string, string, Effect, string]> = [
        ["everyone", "store.read", "invoices", Effect.ALLOW, "subject"],
        ["user:not-a-uuid", "store.read", "invoices", Effect.ALLOW, "subject"],
        ["*", "store.drop", "invoices", Effect.ALLOW, "action"],
        ["*", "net.fetch", "https://api.example.com/", Effect.ALLOW, "resource"],
        ["*", "store.read", "invoices//x", Effect.ALLOW, "resource"],
        ["*", "store.read", "", Effect.ALLOW, "resource"],
        ["*", "store.list", "notes/*", Effect.DENY, "resource"],
        ["*", "store.write", "notes/a/b", Effect.DENY, "resource"],
        ["*", "macro.run", "reports//x", Effect.DENY, "resource"],
        ["*", "store.read", "invoices", Effect.UNSPECIFIED, "effect"],
      ];
      for (const [subject, action, resource, effect, field] of cases) {
        const detail = await refused(rules(admin.token).createRule({ subject, action, resource, effect, description: "" }), Code.InvalidArgument, "INVALID_ARGUMENT");
        expect(detail.field, `${subject} ${action} ${resource}`).toBe(field);
      }
      const long = await refused(
        rules(admin.token).createRule({ subject: "*", action: "*", resource: "*", effect: Effect.DENY, description: "x".repeat(1025) }),
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
      );
      expect(long.field).toBe("description");
    });

    it("refuses a resource that does not fit its action's form, naming the expected form", async () => {
      const detail = await refused(
        rules(admin.token).createRule({ subject: "*", action: "store.write", resource: "notes/**/x", effect: Effect.DENY }),
        Code.InvalidArgument,
        "INVALID_ARGUMENT",
      );
      expect(detail).toMatchObject({ field: "resource", attemptedValue: "notes/**/x" });
      expect(detail.message).toContain("`collection/idGlob`");
      const list = await refused(rules(admin.token).createRule({ subject: "*", action: "store.list", resource: "notes/n1", effect: Effect.DENY }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(list.message).toContain("`collection`");
      expect((await rules(editor.token).listRules({ subject: "*" })).rules.map((r) => r.resource)).not.toContain("notes/**/x");
    });

    it("answers PERMISSION_DENIED naming rules.write to an editor, and rules.read to a viewer", async () => {
      expect((await refused(rules(editor.token).createRule({ subject: "*", action: "*", resource: "*", effect: Effect.DENY }), Code.PermissionDenied, "PERMISSION_DENIED")).permission).toBe(
        "rules.write",
      );
      expect((await refused(rules(viewer.token).listRules({}), Code.PermissionDenied, "PERMISSION_DENIED")).permission).toBe("rules.read");
    });
  });

  describe("GetRule, ListRules, UpdateRule, DeleteRule", () => {
    it("reads, lists by subject a page at a time, changes only the fields set, and deletes", async () => {
      const subject = `user:${randomUUID()}`;
      const a = await createRule(subject, "store.write", "notes/*", Effect.ALLOW);
      const b = await createRule(subject, "store.delete", "notes/*", Effect.DENY);
      const c = await createRule(subject, "macro.run", "*", Effect.ALLOW);
      expect((await rules(editor.token).getRule({ ruleId: a.ruleId })).rule?.resource).toBe("notes/*");
      const ids: string[] = [];
      let pageToken = "";
      do {
        const page = await rules(editor.token).listRules({ subject, pageSize: 2, pageToken });
        ids.push(...page.rules.map((r) => r.ruleId));
        pageToken = page.nextPageToken;
      } while (pageToken !== "");
      expect(ids).toEqual([a.ruleId, b.ruleId, c.ruleId]);
      const updated = (await rules(admin.token).updateRule({ ruleId: b.ruleId, effect: Effect.ALLOW, description: "relaxed" })).rule!;
      expect(updated).toMatchObject({ subject, action: "store.delete", resource: "notes/*", effect: Effect.ALLOW, description: "relaxed" });
      await refused(rules(admin.token).updateRule({ ruleId: b.ruleId, action: "net.fetch", resource: "notes/*/x" }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect((await refused(rules(admin.token).updateRule({ ruleId: b.ruleId, effect: Effect.UNSPECIFIED }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("effect");
      await rules(admin.token).deleteRule({ ruleId: c.ruleId });
      await refused(rules(editor.token).getRule({ ruleId: c.ruleId }), Code.NotFound, "NOT_FOUND");
      await refused(rules(admin.token).deleteRule({ ruleId: c.ruleId }), Code.NotFound, "NOT_FOUND");
      await refused(rules(admin.token).updateRule({ ruleId: c.ruleId, description: "x" }), Code.NotFound, "NOT_FOUND");
      expect((await refused(rules(editor.token).listRules({ subject: "nobody" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("subject");
    });

    it("flags a stored rule that no longer parses (malformed, with the reason) and refuses to update it unfixed", async () => {
      const subject = `user:${randomUUID()}`;
      const good = await createRule(subject, "store.list", "ledger", Effect.ALLOW);
      // Written before the current forms: store.list took path globs.
      const [old] = (await server.gatehouse.deps.db.inTenant(tenantId, (em) =>
        em.execute("insert into rules (tenant_id, subject, action, resource, effect) values (?, ?, 'store.list', 'ledger/*', 'deny') returning id", [tenantId, subject]),
      )) as Array<{ id: string }>;
      await server.gatehouse.deps.rules.invalidate(tenantId);
      const listed = (await rules(editor.token).listRules({ subject })).rules;
      expect(listed.map((r) => [r.ruleId, r.malformed])).toEqual([
        [good.ruleId, false],
        [old!.id, true],
      ]);
      expect(listed[0]!.malformedReason).toBe("");
      expect(listed[1]!.malformedReason).toContain("resource");
      expect((await rules(editor.token).getRule({ ruleId: old!.id })).rule?.malformed).toBe(true);
      // Enforced fail-closed: the malformed DENY matches every collection for its subject.
      expect(await evaluate({ subjects: [subject], action: "store.list", resource: "anything", baselineAllowed: true })).toMatchObject({
        allowed: false,
        decidingRuleIds: [old!.id],
      });
      expect((await refused(rules(admin.token).updateRule({ ruleId: old!.id, description: "x" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("resource");
      const fixed = (await rules(admin.token).updateRule({ ruleId: old!.id, resource: "ledger" })).rule!;
      expect(fixed).toMatchObject({ malformed: false, malformedReason: "" });
      expect((await evaluate({ subjects: [subject], action: "store.list", resource: "anything", baselineAllowed: true })).allowed).toBe(true);
      await rules(admin.token).deleteRule({ ruleId: old!.id });
      await rules(admin.token).deleteRule({ ruleId: good.ruleId });
    });
  });

  describe("EvaluateRules", () => {
    const user = `user:${randomUUID()}`;
    const room = `room:${randomUUID()}`;
    let allowInvoices: string;
    let denySecret: string;
    let allowHosts: string;

    beforeAll(async () => {
      allowInvoices = (await createRule("role:accountant", "store.read", "invoices/*", Effect.ALLOW)).ruleId;
      denySecret = (await createRule(user, "store.read", "invoices/secret", Effect.DENY)).ruleId;
      allowHosts = (await createRule(room, "net.fetch", "*.example.com", Effect.ALLOW)).ruleId;
    });

    it("lets a DENY beat an ALLOW, and says which rules matched and decided", async () => {
      const res = await evaluate({ subjects: [user, "role:accountant"], resource: "invoices/secret" });
      expect(res).toMatchObject({ allowed: false, reason: "DENIED_BY_RULE", decidingRuleIds: [denySecret] });
      expect([...res.matchedRuleIds].sort()).toEqual([allowInvoices, denySecret].sort());
      const withBaseline = await evaluate({ subjects: [user], resource: "invoices/secret", baselineAllowed: true });
      expect(withBaseline).toMatchObject({ allowed: false, reason: "DENIED_BY_RULE", matchedRuleIds: [denySecret] });
    });

    it("allows by an ALLOW rule without the baseline, and by the baseline without rules", async () => {
      expect(await evaluate({ subjects: [user, "role:accountant"], resource: "invoices/42" })).toMatchObject({
        allowed: true,
        reason: "ALLOWED_BY_RULE",
        matchedRuleIds: [allowInvoices],
        decidingRuleIds: [allowInvoices],
      });
      expect(await evaluate({ subjects: [user], resource: "reports/1", baselineAllowed: true })).toMatchObject({
        allowed: true,
        reason: "ALLOWED_BY_BASELINE",
        matchedRuleIds: [],
      });
      expect(await evaluate({ subjects: [user], resource: "reports/1" })).toMatchObject({ allowed: false, reason: "NOT_ALLOWED", matchedRuleIds: [] });
    });

    it("applies rules to their subjects only, and `*` rules to everyone", async () => {
      expect((await evaluate({ subjects: ["role:clerk"], resource: "invoices/42" })).allowed).toBe(false);
      const everyone = await createRule("*", "store.write", "audit-log", Effect.DENY);
      expect(await evaluate({ subjects: [], action: "store.write", resource: "audit-log/2024-01", baselineAllowed: true })).toMatchObject({
        allowed: false,
        matchedRuleIds: [everyone.ruleId],
      });
    });

    it("matches a `collection` rule on every record of it, and `collection/idGlob` on the ids it fits", async () => {
      const subject = `macro:${randomUUID()}`;
      const whole = (await createRule(subject, "store.read", "ledger", Effect.ALLOW)).ruleId;
      const some = (await createRule(subject, "store.read", "ledger/2024-*", Effect.ALLOW)).ruleId;
      const list = (await createRule(subject, "store.list", "ledger", Effect.ALLOW)).ruleId;
      const matched = async (action: string, resource: string) => (await evaluate({ subjects: [subject], action, resource })).matchedRuleIds;
      expect(await matched("store.read", "ledger/7")).toEqual([whole]);
      expect(await matched("store.read", "ledger/2024-01")).toEqual([whole, some]);
      expect(await matched("store.read", "ledgers/7")).toEqual([]);
      expect(await matched("store.list", "ledger")).toEqual([list]);
      expect(await matched("store.list", "ledgers")).toEqual([]);
    });

    it("matches host globs by whole labels: `*.example.com` never matches `example.com.evil.net`", async () => {
      const allowed = async (resource: string) => (await evaluate({ subjects: [room], action: "net.fetch", resource })).allowed;
      expect(await allowed("api.example.com")).toBe(true);
      expect(await allowed("API.Example.COM")).toBe(true);
      expect(await allowed("example.com")).toBe(false);
      expect(await allowed("a.b.example.com")).toBe(false);
      expect(await allowed("example.com.evil.net")).toBe(false);
      expect(await allowed("api.example.com.evil.net")).toBe(false);
      expect(await allowed("evilexample.com")).toBe(false);
      expect(await allowed("api.example.com:8443")).toBe(false);
      expect((await evaluate({ subjects: [room], action: "net.fetch", resource: "api.example.com" })).matchedRuleIds).toEqual([allowHosts]);
    });

    it("answers INVALID_ARGUMENT naming the field of a malformed query", async () => {
      expect((await refused(evaluate({ subjects: [], action: "*", resource: "x" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("action");
      expect((await refused(evaluate({ subjects: ["bob"], resource: "x" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("subjects");
      expect((await refused(evaluate({ subjects: [], resource: "" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("resource");
      // Only the concrete resource enforcement asks about: a record for store.write, not a collection.
      expect((await refused(evaluate({ subjects: [], action: "store.write", resource: "notes" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("resource");
      expect((await refused(evaluate({ subjects: [], action: "macro.run", resource: "reports/*" }), Code.InvalidArgument, "INVALID_ARGUMENT")).field).toBe("resource");
    });

    it("sees every change at once: create, update and delete invalidate the cached index", async () => {
      const subject = `user:${randomUUID()}`;
      const q = { subjects: [subject], action: "store.read", resource: "drafts/1", baselineAllowed: true };
      expect((await evaluate(q)).allowed).toBe(true);
      const deny = await createRule(subject, "store.read", "drafts/*", Effect.DENY);
      expect((await evaluate(q)).allowed).toBe(false);
      await rules(admin.token).updateRule({ ruleId: deny.ruleId, effect: Effect.ALLOW });
      expect(await evaluate(q)).toMatchObject({ allowed: true, matchedRuleIds: [deny.ruleId] });
      await rules(admin.token).updateRule({ ruleId: deny.ruleId, effect: Effect.DENY });
      expect((await evaluate(q)).allowed).toBe(false);
      await rules(admin.token).deleteRule({ ruleId: deny.ruleId });
      expect(await evaluate(q)).toMatchObject({ allowed: true, matchedRuleIds: [] });
    });
  });

  describe("rule cache (deps.rules.ruleIndexFor)", () => {
    it("picks up a change that came without a bus message within a second (version check)", async () => {
      const { deps } = server.gatehouse;
      const subject = `user:${randomUUID()}`;
      const query = { subjects: [subject], action: "store.read" as const, resource: "silent/1", baselineAllowed: true };
      expect((await deps.rules.ruleIndexFor(tenantId)).evaluate(query).allowed).toBe(true);
      // Written behind the service's back: no bus message, only the version bump.
      await deps.db.inTenant(tenantId, (em) =>
        em.execute("insert into rules (tenant_id, subject, action, resource, effect) values (?, ?, 'store.read', 'silent/*', 'deny')", [tenantId, subject]),
      );
      const deadline = Date.now() + 2000;
      let allowed = true;
      while (allowed && Date.now() < deadline) {
        allowed = (await deps.rules.ruleIndexFor(tenantId)).evaluate(query).allowed;
        if (allowed) await sleep(50);
      }
      expect(allowed).toBe(false);
    });

    it("invalidates across replicas through the bus, well before the revalidation interval", async () => {
      const replica = await startTestServer({ db: server.db, env: { GATEHOUSE_REDIS_PREFIX: server.config.redisKeyPrefix } });
      try {
        // The replica signs its own tokens (its own key): log in there; the session is shared.
        const other = replica.client({ token: await replica.login(editor.username, fixturePassword) }).rules;
        const subject = `user:${randomUUID()}`;
        const q = { subjects: [subject], action: "store.read", resource: "shared/1", baselineAllowed: true };
        expect((await other.evaluateRules(q)).allowed).toBe(true);
        const started = Date.now();
        await createRule(subject, "store.read", "shared/*", Effect.DENY);
        let allowed = true;
        while (allowed && Date.now() - started < 900) {
          allowed = (await other.evaluateRules(q)).allowed;
          if (allowed) await sleep(10);
        }
        expect(allowed).toBe(false);
        expect(Date.now() - started).toBeLessThan(900);
      } finally {
        await replica.close();
      }
    });
  });

  describe("tenant isolation", () => {
    it("hides another tenant's rules (NOT_FOUND) and never evaluates them", async () => {
      const subject = `user:${randomUUID()}`;
      const ours = await createRule(subject, "store.read", "private/*", Effect.DENY);
      const other = await createTenant(server, await server.login(), "rules-other");
      const theirs = rules(other.admin.token);
      await refused(theirs.getRule({ ruleId: ours.ruleId }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.updateRule({ ruleId: ours.ruleId, effect: Effect.ALLOW }), Code.NotFound, "NOT_FOUND");
      await refused(theirs.deleteRule({ ruleId: ours.ruleId }), Code.NotFound, "NOT_FOUND");
      expect((await theirs.listRules({ subject })).rules).toEqual([]);
      const q = { subjects: [subject], action: "store.read", resource: "private/1", baselineAllowed: true };
      expect(await theirs.evaluateRules(q)).toMatchObject({ allowed: true, matchedRuleIds: [] });
      const created = (await theirs.createRule({ subject, action: "store.read", resource: "private/*", effect: Effect.ALLOW })).rule!;
      expect(created.tenantId).toBe(other.tenantId);
      expect((await evaluate(q)).matchedRuleIds).toEqual([ours.ruleId]);
      expect((await rules(editor.token).getRule({ ruleId: ours.ruleId })).rule?.effect).toBe(Effect.DENY);
    });
  });

  describe("audit", () => {
    it("records every change with the rule and what changed", async () => {
      const rule = await createRule("role:auditor", "store.read", "books/*", Effect.ALLOW, "auditors read books");
      await rules(admin.token).updateRule({ ruleId: rule.ruleId, effect: Effect.DENY });
      await rules(admin.token).deleteRule({ ruleId: rule.ruleId });
      const resource = `rule:${rule.ruleId}`;
      const [created] = (await auditRows(server, tenantId, "rules.create")).filter((e) => e.resource === resource);
      const [updated] = (await auditRows(server, tenantId, "rules.update")).filter((e) => e.resource === resource);
      const [deleted] = (await auditRows(server, tenantId, "rules.delete")).filter((e) => e.resource === resource);
      for (const event of [created, updated, deleted]) expect(event).toMatchObject({ outcome: "ALLOWED", actor_id: admin.id, actor_name: admin.username });
      expect(created!.details).toMatchObject({ subject: "role:auditor", effect: "allow", description: "auditors read books" });
      expect(updated!.details).toMatchObject({ before: { effect: "allow" }, after: { effect: "deny" } });
      expect(deleted!.details).toMatchObject({ resource: "books/*", effect: "deny" });
    });
  });
});
