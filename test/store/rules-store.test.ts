import { beforeAll, expect, it } from "vitest";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { ormRulesStore as store, type RuleFields } from "../../src/store/rules.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

const rule = (n: number, over: Partial<RuleFields> = {}): RuleFields => ({
  subject: `user:${n}`,
  action: "store.read",
  resource: `c${n}/*`,
  effect: "deny",
  description: `rule ${n}`,
  ...over,
});

describeStoreOnEngines("rules store", (db) => {
  let tenant: string;
  let other: string;
  const inTenant = <T>(fn: (tx: Parameters<typeof store.get>[0]) => Promise<T>, tenantId = tenant) => db().inTenant(tenantId, fn);

  beforeAll(async () => {
    ({ tenant, other } = await db().asSystem(async (em) => ({
      tenant: (await createTenant(em, "ruled")).id,
      other: (await createTenant(em, "unruled")).id,
    })));
  });

  it("creates, reads, updates and deletes a rule, bumping the tenant's version each time", async () => {
    expect(await inTenant((tx) => store.version(tx, tenant))).toBe("0");
    const made = await inTenant((tx) => store.create(tx, tenant, rule(1)));
    expect(made).toMatchObject({ tenantId: tenant, ...rule(1) });
    expect(made.createdAt).toBeInstanceOf(Date);
    expect(await inTenant((tx) => store.version(tx, tenant))).toBe("1");
    expect(await inTenant((tx) => store.get(tx, made.id, { forUpdate: true }))).toEqual(made);
    const changed = await inTenant((tx) => store.update(tx, made.id, { ...rule(1), effect: "allow", description: "" }));
    expect(changed).toMatchObject({ id: made.id, effect: "allow", description: "", createdAt: made.createdAt });
    expect(changed!.updatedAt.getTime()).toBeGreaterThanOrEqual(made.updatedAt.getTime());
    expect(await inTenant((tx) => store.delete(tx, made.id))).toEqual(changed);
    expect(await inTenant((tx) => store.get(tx, made.id))).toBeUndefined();
    expect(await inTenant((tx) => store.update(tx, made.id, rule(1)))).toBeUndefined();
    expect(await inTenant((tx) => store.delete(tx, made.id))).toBeUndefined();
    expect(await inTenant((tx) => store.version(tx, tenant))).toBe("3");
  });

  it("keeps tenants apart", async () => {
    const mine = await inTenant((tx) => store.create(tx, tenant, rule(2)));
    expect(await inTenant((tx) => store.get(tx, mine.id), other)).toBeUndefined();
    expect(await inTenant((tx) => store.delete(tx, mine.id), other)).toBeUndefined();
    expect(await inTenant((tx) => store.allOfTenant(tx, other), other)).toEqual([]);
    expect(await inTenant((tx) => store.version(tx, other), other)).toBe("0");
  });

  it("lists in creation order, by subject, page after page, and loads a tenant's rules for the index", async () => {
    const made = [];
    for (const n of [10, 11, 12]) made.push(await inTenant((tx) => store.create(tx, tenant, rule(n, { subject: "user:pager" }))));
    const first = await inTenant((tx) => store.list(tx, { limit: 2, subject: "user:pager" }));
    expect(first.map((r) => r.id)).toEqual([made[0]!.id, made[1]!.id]);
    const last = first[1]!;
    const rest = await inTenant((tx) => store.list(tx, { limit: 2, subject: "user:pager", after: { createdAt: last.createdAt, id: last.id } }));
    expect(rest.map((r) => r.id)).toEqual([made[2]!.id]);
    const all = await inTenant((tx) => store.allOfTenant(tx, tenant));
    expect(all.map((r) => r.id).slice(-3)).toEqual(made.map((r) => r.id));
    expect(all.at(-1)).toEqual({ id: made[2]!.id, subject: "user:pager", action: "store.read", resource: "c12/*", effect: "deny" });
  });

  it("pages every tenant's rules by (tenant, id) in a system transaction", async () => {
    await inTenant((tx) => store.create(tx, other, rule(20)), other);
    const seen: string[] = [];
    let after: { tenantId: string; id: string } | undefined;
    for (;;) {
      const rows = await db().asSystem((tx) => store.pageOfAll(tx, 2, after));
      seen.push(...rows.map((r) => `${r.tenantId}/${r.id}`));
      if (rows.length < 2) break;
      after = { tenantId: rows[1]!.tenantId, id: rows[1]!.id };
    }
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen.length).toBe(5);
  });
});
