import { beforeAll, expect, it } from "vitest";
import { ormAuditLogStore as store } from "../../src/store/audit-log.js";
import { appendAuditEvent } from "../../src/store/audit-writer.js";
import { AuditEventSchema } from "../../src/store/entities/audit-event.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

const room = "00000000-0000-4000-8000-0000000000aa";
const actor = "00000000-0000-4000-8000-0000000000bb";

describeStoreOnEngines("audit log store", (db) => {
  let tenant: string;
  let other: string;
  const at = (n: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, n, 123));

  beforeAll(async () => {
    ({ tenant, other } = await db().asSystem(async (em) => ({
      tenant: (await createTenant(em, "logged")).id,
      other: (await createTenant(em, "elsewhere")).id,
    })));
    for (let n = 1; n <= 5; n++) {
      await db().inTenant(tenant, (em) =>
        appendAuditEvent(em, {
          tenantId: tenant,
          action: n % 2 === 0 ? "rooms.update" : "users.create",
          outcome: "ALLOWED",
          actorName: "alice",
          ...(n % 2 === 0 ? { roomId: room, actorId: actor } : {}),
          details: { n, nested: { ok: true } },
          createdAt: at(n),
        }),
      );
    }
    await db().inTenant(other, (em) => appendAuditEvent(em, { tenantId: other, action: "users.create", outcome: "DENIED" }));
  });

  const list = (query: Omit<Parameters<typeof store.listEvents>[1], "tenantId">, tenantId = tenant) =>
    db().inTenant(tenantId, (tx) => store.listEvents(tx, { tenantId, ...query }));

  it("lists the tenant's events newest first, up to the limit, with every field read back", async () => {
    const rows = await list({ limit: 2 });
    expect(rows.map((r) => r.seq)).toEqual([5, 4]);
    expect(rows[1]).toMatchObject({
      tenantId: tenant,
      seq: 4,
      roomId: room,
      actorId: actor,
      actorName: "alice",
      action: "rooms.update",
      outcome: "ALLOWED",
      details: { n: 4, nested: { ok: true } },
    });
    expect(rows[1]!.createdAt.toISOString()).toBe(at(4).toISOString());
    expect(rows[1]!.hash).toMatch(/^[0-9a-f]{64}$/);
    expect(rows[0]!.prevHash).toBe(rows[1]!.hash);
  });

  it("pages with beforeSeq, including a 19-digit cursor", async () => {
    expect((await list({ limit: 10, beforeSeq: "3" })).map((r) => r.seq)).toEqual([2, 1]);
    expect((await list({ limit: 10, beforeSeq: "9223372036854775807" })).map((r) => r.seq)).toEqual([5, 4, 3, 2, 1]);
  });

  it("filters by room, actor, action and a half-open time range", async () => {
    expect((await list({ limit: 10, roomId: room })).map((r) => r.seq)).toEqual([4, 2]);
    expect((await list({ limit: 10, actorId: actor })).map((r) => r.seq)).toEqual([4, 2]);
    expect((await list({ limit: 10, action: "users.create" })).map((r) => r.seq)).toEqual([5, 3, 1]);
    expect((await list({ limit: 10, since: at(2), until: at(4) })).map((r) => r.seq)).toEqual([3, 2]);
    expect((await list({ limit: 10, since: at(5) })).map((r) => r.seq)).toEqual([5]);
  });

  it("answers only the named tenant's events, even for a tenant-scoped transaction of another", async () => {
    expect((await list({ limit: 10 }, other)).map((r) => r.action)).toEqual(["users.create"]);
    const crossed = await db().inTenant(other, (tx) => store.listEvents(tx, { tenantId: tenant, limit: 10 }));
    expect(crossed).toEqual([]);
  });

  it("verifies an intact chain and finds a broken one", async () => {
    const report = await db().inTenant(tenant, (tx) => store.verifyChain(tx, tenant));
    expect(report).toEqual({ ok: true, eventsChecked: 5 });
    // Break the stored chain as an attacker with table access would (the trigger refuses updates: go around it).
    await db().asSystem(async (em) => {
      await em.execute("alter table audit_events disable trigger audit_events_no_update_delete");
      await em.nativeUpdate(AuditEventSchema, { tenantId: tenant, seq: 3 }, { action: "tampered" });
      await em.execute("alter table audit_events enable trigger audit_events_no_update_delete");
    });
    const broken = await db().inTenant(tenant, (tx) => store.verifyChain(tx, tenant));
    expect(broken).toMatchObject({ ok: false, firstBrokenSeq: 3 });
  });
});
