import { describe, expect, it } from "vitest";
import { evaluateRules, getRule, listRules } from "../../../src/app/rules/read-rules.js";
import { createRule, deleteRule, updateRule } from "../../../src/app/rules/rule-changes.js";
import { createRuleCache } from "../../../src/rules/rule-cache.js";
import { createLocalBus } from "../../../src/shared-state/bus.js";
import type { Database } from "../../../src/store/database.js";
import { testCall } from "../../support/app-call.js";
import { memoryRules } from "../../support/memory-stores/rules.js";

const deny = { subject: "user:00000000-0000-4000-8000-00000000a11c", action: "store.read", resource: "secrets/*", effect: "deny" as const, description: "no secrets" };

function setup() {
  const rulesStore = memoryRules();
  const invalidated: string[] = [];
  const call = testCall();
  return { rulesStore, invalidated, call, deps: { rulesStore, rules: { invalidate: async (t: string) => void invalidated.push(t) } } };
}

describe("rule changes", () => {
  it("creates a rule, names it in the audit facts and invalidates the tenant's index only after commit", async () => {
    const { deps, call, invalidated } = setup();
    const done = await createRule(deps, call, deny);
    expect(done.value).toMatchObject({ ...deny, tenantId: call.principal.tenantId });
    expect(done.audit).toEqual({ resource: `rule:${done.value.id}`, details: { subject: "user:00000000-0000-4000-8000-00000000a11c", action: "store.read", resource: "secrets/*", effect: "deny", description: "no secrets" } });
    expect(invalidated).toEqual([]);
    await call.commit();
    expect(invalidated).toEqual([call.principal.tenantId]);
  });

  it("refuses a malformed rule or a long description, writing nothing", async () => {
    const { deps, call, rulesStore } = setup();
    await expect(createRule(deps, call, { ...deny, resource: "" })).rejects.toThrow(/^resource/);
    await expect(createRule(deps, call, { ...deny, action: "store.fly" })).rejects.toThrow(/^action/);
    await expect(createRule(deps, call, { ...deny, description: "x".repeat(1025) })).rejects.toThrow(/^description/);
    expect(rulesStore.rows).toEqual([]);
  });

  it("updates only the given fields, validates the result, and records before and after", async () => {
    const { deps, call } = setup();
    const made = (await createRule(deps, call, deny)).value;
    const done = await updateRule(deps, call, { id: made.id.toUpperCase(), effect: "allow" });
    expect(done.value).toMatchObject({ ...deny, effect: "allow" });
    expect(done.audit?.details).toMatchObject({ before: { effect: "deny" }, after: { effect: "allow", description: "no secrets" } });
    await expect(updateRule(deps, call, { id: made.id, resource: "" })).rejects.toThrow(/^resource/);
    await expect(updateRule(deps, call, { id: "00000000-0000-4000-8000-000000000000" })).rejects.toMatchObject({ reason: "NOT_FOUND" });
  });

  it("deletes a rule once", async () => {
    const { deps, call, rulesStore } = setup();
    const made = (await createRule(deps, call, deny)).value;
    expect((await deleteRule(deps, call, { id: made.id })).audit).toMatchObject({ resource: `rule:${made.id}`, details: { effect: "deny" } });
    expect(rulesStore.rows).toEqual([]);
    await expect(deleteRule(deps, call, { id: made.id })).rejects.toMatchObject({ reason: "NOT_FOUND" });
  });
});

describe("rule reads", () => {
  it("pages rules in creation order and refuses a cursor it did not issue", async () => {
    const { deps, call } = setup();
    const ids = [];
    for (const n of [1, 2, 3]) ids.push((await createRule(deps, call, { ...deny, resource: `c${n}/*` })).value.id);
    const first = await listRules(deps, call, { limit: 2 });
    expect(first.rules.map((r) => r.id)).toEqual(ids.slice(0, 2));
    const rest = await listRules(deps, call, { limit: 2, after: first.next! });
    expect(rest).toMatchObject({ next: undefined });
    expect(rest.rules.map((r) => r.id)).toEqual(ids.slice(2));
    await expect(listRules(deps, call, { limit: 2, after: "yesterday|me" })).rejects.toThrow(/^page_token/);
    await expect(listRules(deps, call, { limit: 2, subject: "user:NOBODY" })).rejects.toThrow(/^subject/);
    expect((await getRule(deps, call, { id: ids[0]!.toUpperCase() })).id).toBe(ids[0]);
  });

  it("evaluates a query through the tenant's cached rule index", async () => {
    const { deps, call, rulesStore } = setup();
    const made = (await createRule(deps, call, deny)).value;
    const db = { inTenant: (_t: string, fn: (tx: never) => Promise<unknown>) => fn(undefined as never) } as unknown as Database;
    const rules = createRuleCache(db, createLocalBus(), { store: rulesStore });
    const query = { subjects: ["user:00000000-0000-4000-8000-00000000a11c"], action: "store.read", resource: "secrets/1", baselineAllowed: true };
    expect(await evaluateRules({ rules }, call, query)).toMatchObject({ allowed: false, matchedRuleIds: [made.id], decidingRuleIds: [made.id] });
    expect(await evaluateRules({ rules }, call, { ...query, subjects: ["user:00000000-0000-4000-8000-000000000b0b"] })).toMatchObject({ allowed: true, matchedRuleIds: [] });
    await expect(evaluateRules({ rules }, call, { ...query, resource: "secrets/*" })).rejects.toThrow(/^resource/);
    await expect(evaluateRules({ rules }, call, { ...query, subjects: Array.from({ length: 65 }, (_, i) => `user:${i}`) })).rejects.toThrow(/^subjects/);
    rules.close();
  });
});
