import { describe, expect, it } from "vitest";
import { listAuditEvents } from "../../../src/app/audit/list-audit-events.js";
import { verifyAuditChain } from "../../../src/app/audit/verify-audit-chain.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { AuditEventRow } from "../../../src/store/audit-log.js";
import { testCall } from "../../support/app-call.js";
import { memoryAuditLog } from "../../support/memory-stores/audit-log.js";

const call = testCall();
const tenantId = call.principal.tenantId;
const room = "00000000-0000-4000-8000-0000000000aa";

function event(seq: number, over: Partial<AuditEventRow> = {}): AuditEventRow {
  return {
    tenantId,
    seq,
    roomId: null,
    actorId: null,
    actorName: "alice",
    ip: null,
    userAgent: null,
    requestId: null,
    method: null,
    action: "users.create",
    resource: null,
    outcome: "ALLOWED",
    reason: null,
    details: null,
    createdAt: new Date(Date.UTC(2026, 0, 1, 0, 0, seq)),
    prevHash: "0".repeat(64),
    hash: "f".repeat(64),
    ...over,
  };
}

describe("listAuditEvents", () => {
  const events = [1, 2, 3, 4, 5].map((n) => event(n, n % 2 === 0 ? { roomId: room, action: "rooms.update" } : {}));
  const stores = { auditLog: memoryAuditLog([...events, event(9, { tenantId: "00000000-0000-4000-8000-0000000009ff" })]) };

  it("pages the caller's tenant's events newest first, with a cursor while more remain", async () => {
    const first = await listAuditEvents(stores, call, { limit: 2 });
    expect(first.events.map((e) => e.seq)).toEqual([5, 4]);
    expect(first.next).toBe("4");
    const second = await listAuditEvents(stores, call, { limit: 2, after: first.next! });
    expect(second.events.map((e) => e.seq)).toEqual([3, 2]);
    const last = await listAuditEvents(stores, call, { limit: 2, after: second.next! });
    expect(last.events.map((e) => e.seq)).toEqual([1]);
    expect(last.next).toBeUndefined();
  });

  it("filters by room (any case), action and time", async () => {
    const inRoom = await listAuditEvents(stores, call, { limit: 10, roomId: room.toUpperCase() });
    expect(inRoom.events.map((e) => e.seq)).toEqual([4, 2]);
    const byTime = await listAuditEvents(stores, call, { limit: 10, since: events[1]!.createdAt, until: events[3]!.createdAt });
    expect(byTime.events.map((e) => e.seq)).toEqual([3, 2]);
    const byAction = await listAuditEvents(stores, call, { limit: 10, action: "users.create" });
    expect(byAction.events.map((e) => e.seq)).toEqual([5, 3, 1]);
  });

  it("refuses a cursor it did not issue and since after until", async () => {
    await expect(listAuditEvents(stores, call, { limit: 1, after: "0x1" })).rejects.toThrow(DomainError);
    await expect(listAuditEvents(stores, call, { limit: 1, after: "01" })).rejects.toThrow(/page_token/);
    await expect(
      listAuditEvents(stores, call, { limit: 1, since: new Date(2_000), until: new Date(1_000) }),
    ).rejects.toThrow(/since/);
  });
});

describe("verifyAuditChain", () => {
  it("answers the store's report for the caller's tenant", async () => {
    const auditLog = memoryAuditLog();
    auditLog.chain = { ok: false, eventsChecked: 3, firstBrokenSeq: 3 };
    expect(await verifyAuditChain({ auditLog }, call)).toEqual({ ok: false, eventsChecked: 3, firstBrokenSeq: 3 });
  });
});
