import { randomUUID } from "node:crypto";
import { beforeAll, expect, it } from "vitest";
import type { Database } from "../../src/store/database.js";
import { createTenant } from "../../src/store/repositories/tenants.js";
import { ormRolesStore } from "../../src/store/roles.js";
import { keptRefreshHashes, ormSessionsStore as sessions, type NewSessionRow } from "../../src/store/sessions.js";
import { ormUsersStore } from "../../src/store/users.js";
import { describeStoreOnEngines } from "../support/store-engines.js";

describeStoreOnEngines("sessions store", (database) => {
  let db: Database;
  let tenant: string;
  let user: string;
  const t0 = new Date("2026-01-01T00:00:00.000Z");

  const newSession = (overrides: Partial<NewSessionRow> = {}): NewSessionRow => ({
    id: randomUUID(),
    tenantId: tenant,
    userId: user,
    refreshTokenHash: `r-${randomUUID()}`,
    csrfTokenHash: null,
    cookieSecretHash: null,
    ip: "127.0.0.1",
    userAgent: "test",
    createdAt: t0,
    idleExpiresAt: new Date(t0.getTime() + 3_600_000),
    absoluteExpiresAt: new Date(t0.getTime() + 86_400_000),
    ...overrides,
  });

  beforeAll(async () => {
    db = database();
    tenant = await db.asSystem(async (em) => (await createTenant(em, "sessions-a")).id);
    user = await db.inTenant(tenant, async (tx) => {
      const role = await ormRolesStore.create(tx, { tenantId: tenant, name: "viewer", description: "", permissions: ["rooms.read"], defaultPolicy: null });
      const id = await ormUsersStore.create(tx, { tenantId: tenant, username: "sam", passwordHash: "h", level: 2 });
      await ormUsersStore.grant(tx, tenant, id, [role.id]);
      return id;
    });
  });

  it("inserts a session and views it with its user and the user's grants", async () => {
    const row = newSession({ csrfTokenHash: "csrf", cookieSecretHash: "cookie" });
    await db.inTenant(tenant, (tx) => sessions.insert(tx, row));
    const view = await db.inTenant(tenant, (tx) => sessions.view(tx, row.id));
    expect(view).toMatchObject({
      id: row.id,
      tenantId: tenant,
      userId: user,
      username: "sam",
      level: 2,
      disabled: false,
      csrfTokenHash: "csrf",
      cookieSecretHash: "cookie",
      revokedAt: null,
      roles: ["viewer"],
    });
    expect([...view!.permissions]).toEqual(["rooms.read"]);
    expect(view!.lastSeenAt.getTime()).toBe(t0.getTime());
    expect(view!.absoluteExpiresAt.getTime()).toBe(row.absoluteExpiresAt.getTime());
    expect(await db.inTenant(tenant, (tx) => sessions.view(tx, randomUUID()))).toBeUndefined();
  });

  it("slides the idle expiry", async () => {
    const row = newSession();
    await db.inTenant(tenant, (tx) => sessions.insert(tx, row));
    const later = new Date(t0.getTime() + 120_000);
    const idle = new Date(t0.getTime() + 7_200_000);
    const view = await db.inTenant(tenant, async (tx) => {
      await sessions.touch(tx, row.id, later, idle);
      return sessions.view(tx, row.id);
    });
    expect(view!.lastSeenAt.getTime()).toBe(later.getTime());
    expect(view!.idleExpiresAt.getTime()).toBe(idle.getTime());
  });

  it("rotates refresh hashes, remembering the last ones for reuse detection", async () => {
    const row = newSession({ refreshTokenHash: "h0" });
    await db.inTenant(tenant, (tx) => sessions.insert(tx, row));
    for (let i = 1; i <= keptRefreshHashes + 3; i++) {
      await db.inTenant(tenant, async (tx) => {
        const current = (await sessions.lockRefreshState(tx, row.id))!;
        expect(current.refreshTokenHash).toBe(`h${i - 1}`);
        await sessions.rotate(tx, row.id, current, { refreshTokenHash: `h${i}`, seenAt: t0, idleExpiresAt: row.idleExpiresAt });
      });
    }
    const state = (await db.inTenant(tenant, (tx) => sessions.lockRefreshState(tx, row.id)))!;
    const n = keptRefreshHashes + 3;
    expect(state.refreshTokenHash).toBe(`h${n}`);
    expect(state.refreshGeneration).toBe(n);
    expect(state.previousRefreshHashes.length).toBe(keptRefreshHashes);
    expect(state.previousRefreshHashes.at(-1)).toBe(`h${n - 1}`);
    expect(state.previousRefreshHashes[0]).toBe(`h${n - keptRefreshHashes}`);
    expect(await db.inTenant(tenant, (tx) => sessions.lockRefreshState(tx, randomUUID()))).toBeUndefined();
  });

  it("revokes one session once, and every other live session of a user", async () => {
    const [a, b, c] = [newSession(), newSession(), newSession()];
    await db.inTenant(tenant, async (tx) => {
      for (const s of [a, b, c]) await sessions.insert(tx, s);
    });
    expect(await db.inTenant(tenant, (tx) => sessions.revoke(tx, a.id, "logout"))).toBe(true);
    expect(await db.inTenant(tenant, (tx) => sessions.revoke(tx, a.id, "logout"))).toBe(false);
    const live = await db.inTenant(tenant, (tx) => sessions.revokeUser(tx, user, "password changed", c.id));
    expect(live).toBeGreaterThanOrEqual(1);
    const views = await db.inTenant(tenant, async (tx) => Promise.all([a, b, c].map((s) => sessions.view(tx, s.id))));
    expect(views.map((v) => v!.revokedAt !== null)).toEqual([true, true, false]);
    expect(await db.inTenant(tenant, (tx) => sessions.revokeUser(tx, user, "user disabled"))).toBe(1);
  });
});
