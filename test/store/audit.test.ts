import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appendAuditEvent, appendAuditEvents, appendAuditEventsAfterHead, appendAuditEventsDirect, GENESIS_HASH, hashAuditEvent, verifyAuditChain } from "../../src/store/audit-writer.js";
import { initDatabase, type Database } from "../../src/store/database.js";
import { AuditEventSchema } from "../../src/store/entities/audit-event.js";
import { APPEND_ONLY_SQLSTATE, TenantIsolationError } from "../../src/store/errors.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { createUser, findUserByUsername } from "../../src/store/repositories/users.js";
import { createTestDatabase, type TestDatabase } from "../support/database.js";

describe("audit log on PostgreSQL", () => {
  let testDb: TestDatabase;
  let db: Database;
  let tenant: string;
  let other: string;

  const event = (n: number) => ({
    tenantId: tenant,
    actorName: "alice",
    ip: "203.0.113.7",
    userAgent: "Mozilla/5.0 (X11; Linux x86_64)",
    requestId: `req-${n}`,
    method: "gatehouse.v1.UsersService/CreateUser",
    action: "users.create",
    resource: `user/${n}`,
    outcome: "ALLOWED" as const,
    details: { n, nested: { b: [1, 2.5, "x"], a: null }, "ünïcode": "日本; 'quoted'", when: new Date(1_700_000_000_123) },
  });

  beforeAll(async () => {
    testDb = await createTestDatabase();
    db = await initDatabase({ url: testDb.url });
    ({ tenant, other } = await db.asSystem(async (em) => ({
      tenant: (await createTenant(em, "audited")).id,
      other: (await createTenant(em, "other")).id,
    })));
  });

  afterAll(async () => {
    await db?.close();
    await testDb?.drop();
  });

  it("numbers events per tenant and chains their hashes", async () => {
    const first = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(1)));
    const second = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(2)));
    expect(first).toMatchObject({ seq: 1, prevHash: GENESIS_HASH });
    expect(second).toMatchObject({ seq: 2, prevHash: first.hash });
    expect(second.hash).toMatch(/^[0-9a-f]{64}$/);
    const { hash, ...rest } = second;
    expect(hashAuditEvent(rest)).toBe(hash);
    const otherFirst = await db.inTenant(other, (em) => appendAuditEvent(em, { ...event(1), tenantId: other }));
    expect(otherFirst.seq).toBe(1);
  });

  it("stores created_at with millisecond precision and reads back the same event", async () => {
    const at = new Date("2026-03-04T05:06:07.891Z");
    const written = await db.inTenant(tenant, (em) => appendAuditEvent(em, { ...event(3), createdAt: at }));
    const read = await db.inTenant(tenant, (em) => em.findOneOrFail(AuditEventSchema, { tenantId: tenant, seq: written.seq }));
    expect(read.createdAt.toISOString()).toBe("2026-03-04T05:06:07.891Z");
    expect(read.details).toEqual(written.details);
    expect(read.hash).toBe(written.hash);
  });

  it("keeps seq gap-free under concurrent appends", async () => {
    await Promise.all(
      Array.from({ length: 12 }, (_, i) => db.inTenant(tenant, (em) => appendAuditEvent(em, event(100 + i)))),
    );
    const seqs = await db.inTenant(tenant, async (em) =>
      (await em.find(AuditEventSchema, { tenantId: tenant }, { orderBy: { seq: "asc" } })).map((e) => e.seq),
    );
    expect(seqs).toEqual(Array.from({ length: seqs.length }, (_, i) => i + 1));
    expect(await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant))).toEqual({ ok: true, eventsChecked: seqs.length });
  });

  it("appends a batch with the same chain as one by one, interleaved with single appends", async () => {
    const before = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(200)));
    const batch = await db.inTenant(tenant, (em) => appendAuditEvents(em, [event(201), event(202), event(203)]));
    expect(batch.map((r) => r.seq)).toEqual([before.seq + 1, before.seq + 2, before.seq + 3]);
    expect(batch[0]!.prevHash).toBe(before.hash);
    expect(batch[2]!.prevHash).toBe(batch[1]!.hash);
    const after = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(204)));
    expect(after).toMatchObject({ seq: before.seq + 4, prevHash: batch[2]!.hash });
    const report = await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant));
    expect(report.ok).toBe(true);
  });

  it("appends a batch through the direct pool with the same chain and the same stored rows", async () => {
    expect(db.direct).toBeDefined();
    const awkward = {
      ...event(300),
      actorName: null,
      reason: 'a "quoted", {braced} \\ back\\slashed, comma, reason',
      details: { "{}": ["\"", "\\", ",", "NULL", null], emoji: "🔐", empty: "" },
    };
    const before = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(299)));
    const batch = await db.direct!.inTenant(tenant, (sql) => appendAuditEventsDirect(sql, [awkward, { ...event(301), details: null }, event(302)]));
    expect(batch.map((r) => r.seq)).toEqual([before.seq + 1, before.seq + 2, before.seq + 3]);
    expect(batch[0]!.prevHash).toBe(before.hash);
    for (const written of batch) {
      const read = await db.inTenant(tenant, (em) => em.findOneOrFail(AuditEventSchema, { tenantId: tenant, seq: written.seq }));
      expect({ reason: read.reason, actorName: read.actorName, details: read.details, hash: read.hash }).toEqual({
        reason: written.reason,
        actorName: written.actorName,
        details: written.details,
        hash: written.hash,
      });
    }
    const after = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(303)));
    expect(after).toMatchObject({ seq: before.seq + 4, prevHash: batch[2]!.hash });
    expect((await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant))).ok).toBe(true);
  });

  it("appends after a known head in one round trip, and writes nothing once the head has moved", async () => {
    const head = await db.inTenant(tenant, (em) => appendAuditEvent(em, event(400)));
    const awkward = { ...event(401), reason: "it''s \\'; drop table audit_events; --", details: { "'": "\\x00", e: "E'\\n'" } };
    const batch = await appendAuditEventsAfterHead(db.direct!, [awkward, event(402)], { seq: head.seq, hash: head.hash });
    expect(batch?.map((r) => r.seq)).toEqual([head.seq + 1, head.seq + 2]);
    const read = await db.inTenant(tenant, (em) => em.findOneOrFail(AuditEventSchema, { tenantId: tenant, seq: head.seq + 1 }));
    expect({ reason: read.reason, details: read.details, hash: read.hash }).toEqual({
      reason: batch![0]!.reason,
      details: batch![0]!.details,
      hash: batch![0]!.hash,
    });

    // The same head again is stale now: nothing goes in, and the chain is intact.
    const count = async () => (await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant))).eventsChecked;
    const before = await count();
    expect(await appendAuditEventsAfterHead(db.direct!, [event(403)], { seq: head.seq, hash: head.hash })).toBeUndefined();
    expect(await appendAuditEventsAfterHead(db.direct!, [event(403)], { seq: head.seq + 2, hash: head.hash })).toBeUndefined();
    expect(await count()).toBe(before);
    expect((await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant))).ok).toBe(true);
  });

  it("keeps the direct pool inside its tenant and writes nothing of a refused batch", async () => {
    const before = await db.inTenant(other, (em) => verifyAuditChain(em, other));
    await expect(
      db.direct!.inTenant(tenant, (sql) => appendAuditEventsDirect(sql, [{ ...event(1), tenantId: other }])),
    ).rejects.toBeInstanceOf(TenantIsolationError);
    expect(await db.inTenant(other, (em) => verifyAuditChain(em, other))).toEqual(before);
  });

  it("commits a change and its audit record together, or neither", async () => {
    const before = await db.inTenant(tenant, (em) => verifyAuditChain(em, tenant));
    await expect(
      db.inTenant(tenant, async (em) => {
        await createUser(em, tenant, { username: "rolled", passwordHash: "x", level: 2 });
        await appendAuditEvent(em, { ...event(200), resource: "user/rolled" });
        throw new Error("handler failed after writing");
      }),
    ).rejects.toThrow("handler failed");
    await db.inTenant(tenant, async (em) => {
      expect(await findUserByUsername(em, tenant, "rolled")).toBeNull();
      expect(await verifyAuditChain(em, tenant)).toEqual(before);
    });
  });

  it("refuses to append to another tenant's chain from inside a tenant", async () => {
    await expect(db.inTenant(tenant, (em) => appendAuditEvent(em, { ...event(1), tenantId: other }))).rejects.toBeInstanceOf(
      TenantIsolationError,
    );
  });

  it("refuses UPDATE, DELETE and TRUNCATE, even for the superuser", async () => {
    for (const sql of [
      "update audit_events set reason = 'edited' where seq = 1",
      "delete from audit_events where seq = 1",
      "truncate audit_events",
    ]) {
      const error = await db.asSystem((em) => em.execute(sql)).catch((e: unknown) => e);
      expect(error, sql).toMatchObject({ code: APPEND_ONLY_SQLSTATE });
    }
    expect((await db.asSystem((em) => verifyAuditChain(em, tenant))).ok).toBe(true);
  });

  it("reports the first broken seq after an edit behind the trigger's back", async () => {
    const fresh = await db.asSystem(async (em) => (await createTenant(em, "tampered")).id);
    for (let i = 1; i <= 5; i += 1) {
      await db.inTenant(fresh, (em) => appendAuditEvent(em, { ...event(i), tenantId: fresh }));
    }
    expect(await db.inTenant(fresh, (em) => verifyAuditChain(em, fresh, { pageSize: 2 }))).toEqual({ ok: true, eventsChecked: 5 });

    const tamper = async (sql: string) =>
      db.asSystem(async (em) => {
        await em.execute("alter table audit_events disable trigger audit_events_no_update_delete");
        await em.execute(sql, [fresh]);
        await em.execute("alter table audit_events enable trigger audit_events_no_update_delete");
      });

    await tamper("update audit_events set reason = 'nothing to see' where tenant_id = ? and seq = 3");
    expect(await db.inTenant(fresh, (em) => verifyAuditChain(em, fresh, { pageSize: 2 }))).toEqual({
      ok: false,
      eventsChecked: 3,
      firstBrokenSeq: 3,
    });

    // Re-hashing the edited row moves the break to the next link.
    const row3 = await db.asSystem((em) => em.findOneOrFail(AuditEventSchema, { tenantId: fresh, seq: 3 }));
    const { hash: _old, ...forged } = { ...row3, details: row3.details as never, reason: "nothing to see" };
    await tamper(`update audit_events set hash = '${hashAuditEvent(forged)}' where tenant_id = ? and seq = 3`);
    expect(await db.asSystem((em) => verifyAuditChain(em, fresh))).toEqual({ ok: false, eventsChecked: 4, firstBrokenSeq: 4 });

    // Restored, the chain heals; losing the newest event is caught by audit_heads.
    await tamper(`update audit_events set reason = null, hash = '${row3.hash}' where tenant_id = ? and seq = 3`);
    expect((await db.asSystem((em) => verifyAuditChain(em, fresh))).ok).toBe(true);
    await tamper("delete from audit_events where tenant_id = ? and seq = 5");
    expect(await db.asSystem((em) => verifyAuditChain(em, fresh))).toEqual({ ok: false, eventsChecked: 4, firstBrokenSeq: 5 });
    await tamper("delete from audit_events where tenant_id = ? and seq = 2");
    expect(await db.asSystem((em) => verifyAuditChain(em, fresh))).toMatchObject({ ok: false, firstBrokenSeq: 2 });
  });

  it("verifies an empty chain", async () => {
    const empty = await db.asSystem(async (em) => (await createTenant(em, "quiet")).id);
    expect(await db.inTenant(empty, (em) => verifyAuditChain(em, empty))).toEqual({ ok: true, eventsChecked: 0 });
  });
});
