import { randomUUID } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "@connectrpc/connect";
import { RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { auditRows, createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startTestServer, type TestServer } from "../support/server.js";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy.js";
import { ensureRedisNodes, LOCK_NODE_PORTS } from "../support/redis.js";
import { newMacroTarget } from "../support/lock-targets.js";

const USER = 2;

async function roomWith(server: TestServer, adminToken: string, members: Array<[FixtureUser, RoomRole]>): Promise<string> {
  const admin = server.client({ token: adminToken });
  const room = await admin.rooms.createRoom({ name: `locks-${randomUUID().slice(0, 8)}` });
  for (const [user, role] of members) await admin.rooms.addRoomMember({ roomId: room.room!.roomId, userId: user.id, role });
  return room.room!.roomId;
}

async function auditActions(server: TestServer, action: string): Promise<Array<{ outcome: string; details: Record<string, unknown> }>> {
  const rows = await auditRows(server, await tenantIdOf(server), action);
  return rows.map((r) => ({ outcome: r.outcome, details: r.details ?? {} }));
}

describe("LocksService", () => {
  let server: TestServer;
  let adminToken: string;
  let alice: FixtureUser;
  let bob: FixtureUser;
  let viewer: FixtureUser;
  let roomAdmin: FixtureUser;
  let roomId: string;
  beforeAll(async () => {
    server = await startTestServer({ env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "1" } });
    adminToken = await server.login();
    [alice, bob, viewer, roomAdmin] = await Promise.all([
      createUser(server, { level: USER, roles: ["editor"], prefix: "alice" }),
      createUser(server, { level: USER, roles: ["editor"], prefix: "bob" }),
      createUser(server, { level: USER, roles: ["viewer"], prefix: "viewer" }),
      createUser(server, { level: USER, roles: ["admin"], prefix: "roomadmin" }),
    ]);
    roomId = await roomWith(server, adminToken, [
      [alice, RoomRole.EDITOR],
      [bob, RoomRole.EDITOR],
      [viewer, RoomRole.VIEWER],
      [roomAdmin, RoomRole.ADMIN],
    ]);
  });
  afterAll(async () => {
    await server?.close();
  });
  /** target creates a macro in the room and answers its lock target (AcquireLock takes existing targets only). */
  const target = () => newMacroTarget(server.client({ token: alice.token }), roomId);

  describe("AcquireLock", () => {
    it("gives the lock to one principal and answers LOCKED with the holder to another", async () => {
      const t = await target();
      const got = await server.client({ token: alice.token }).locks.acquireLock({ roomId, target: t });
      expect(got.lock?.ownerId).toBe(alice.id);
      expect(got.lock?.ownerName).toBe(alice.username);
      expect(got.lock?.fencingToken).toBeGreaterThan(0n);
      const expiresIn = Number(got.lock!.expiresAt!.seconds) - Date.now() / 1000;
      expect(expiresIn).toBeGreaterThan(890);
      expect(expiresIn).toBeLessThan(910);
      const detail = await refused(server.client({ token: bob.token }).locks.acquireLock({ roomId, target: t }), Code.FailedPrecondition, "LOCKED");
      expect(detail.holder?.holderId).toBe(alice.id);
      expect(detail.holder?.holderName).toBe(alice.username);
      expect(detail.holder?.expiresAt?.seconds).toBe(got.lock!.expiresAt!.seconds);
    });

    it("refreshes when the holder acquires again, keeping the fencing token", async () => {
      const t = await target();
      const client = server.client({ token: alice.token });
      const first = await client.locks.acquireLock({ roomId, target: t, ttlSeconds: 600 });
      const again = await client.locks.acquireLock({ roomId, target: t, ttlSeconds: 1200 });
      expect(again.lock?.fencingToken).toBe(first.lock?.fencingToken);
      expect(Number(again.lock!.expiresAt!.seconds)).toBeGreaterThan(Number(first.lock!.expiresAt!.seconds) + 500);
      const refreshed = await client.locks.refreshLock({ roomId, target: t, ttlSeconds: 900 });
      expect(refreshed.lock?.fencingToken).toBe(first.lock?.fencingToken);
      await refused(server.client({ token: bob.token }).locks.refreshLock({ roomId, target: t }), Code.FailedPrecondition, "LOCK_REQUIRED");
    });

    it("refuses a TTL outside the allowed range and a malformed target", async () => {
      const client = server.client({ token: alice.token });
      await refused(client.locks.acquireLock({ roomId, target: await target(), ttlSeconds: 1801 }), Code.InvalidArgument, "INVALID_ARGUMENT");
      await refused(client.locks.acquireLock({ roomId, target: "macro/../../etc" }), Code.InvalidArgument, "INVALID_ARGUMENT");
    });

    it("refuses viewers (no locks.write) and non-members", async () => {
      await refused(server.client({ token: viewer.token }).locks.acquireLock({ roomId, target: await target() }), Code.PermissionDenied, "PERMISSION_DENIED");
      const outsider = await createUser(server, { level: USER, roles: ["editor"], prefix: "outsider" });
      await refused(server.client({ token: outsider.token }).locks.acquireLock({ roomId, target: await target() }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
    });

    it("lets a lock expire, and the next holder gets a higher fencing token", async () => {
      const t = await target();
      const first = await server.client({ token: alice.token }).locks.acquireLock({ roomId, target: t, ttlSeconds: 1 });
      await new Promise((r) => setTimeout(r, 1300));
      expect((await server.client({ token: bob.token }).locks.getLock({ roomId, target: t })).lock).toBeUndefined();
      const second = await server.client({ token: bob.token }).locks.acquireLock({ roomId, target: t });
      expect(second.lock!.fencingToken).toBeGreaterThan(first.lock!.fencingToken);
      const acquisitions = await auditActions(server, "locks.acquire");
      expect(acquisitions.some((a) => (a.details.previousLeaseExpired as { ownerId?: string } | undefined)?.ownerId === alice.id)).toBe(true);
    });

    it("gives exactly one holder to 50 parallel acquisitions from different principals", async () => {
      const t = await target();
      const contenders = await Promise.all(Array.from({ length: 50 }, (_, i) => createUser(server, { level: USER, roles: ["editor"], prefix: `c${i}` })));
      const admin = server.client({ token: adminToken });
      for (const c of contenders) await admin.rooms.addRoomMember({ roomId, userId: c.id, role: RoomRole.EDITOR });
      const results = await Promise.allSettled(contenders.map((c) => server.client({ token: c.token }).locks.acquireLock({ roomId, target: t })));
      const winners = results.filter((r) => r.status === "fulfilled");
      expect(winners).toHaveLength(1);
      const holder = (await server.client({ token: alice.token }).locks.getLock({ roomId, target: t })).lock;
      expect(holder?.ownerId).toBe((winners[0] as PromiseFulfilledResult<{ lock?: { ownerId: string } }>).value.lock?.ownerId);
    });
  });

  describe("ReleaseLock", () => {
    it("lets only the holder release", async () => {
      const t = await target();
      await server.client({ token: alice.token }).locks.acquireLock({ roomId, target: t });
      await refused(server.client({ token: bob.token }).locks.releaseLock({ roomId, target: t }), Code.FailedPrecondition, "LOCKED");
      await server.client({ token: alice.token }).locks.releaseLock({ roomId, target: t });
      expect((await server.client({ token: bob.token }).locks.getLock({ roomId, target: t })).lock).toBeUndefined();
    });
  });

  describe("BreakLock", () => {
    it("lets a room admin break a lock, audited, and refuses an editor", async () => {
      const t = await target();
      const held = await server.client({ token: alice.token }).locks.acquireLock({ roomId, target: t });
      await refused(server.client({ token: bob.token }).locks.breakLock({ roomId, target: t }), Code.PermissionDenied, "PERMISSION_DENIED");
      const broken = await server.client({ token: roomAdmin.token }).locks.breakLock({ roomId, target: t });
      expect(broken.lock?.ownerId).toBe(alice.id);
      expect((await server.client({ token: bob.token }).locks.getLock({ roomId, target: t })).lock).toBeUndefined();
      const next = await server.client({ token: bob.token }).locks.acquireLock({ roomId, target: t });
      expect(next.lock!.fencingToken).toBeGreaterThan(held.lock!.fencingToken);
      const breaks = await auditActions(server, "locks.break");
      expect(breaks.filter((b) => b.outcome === "ALLOWED").length).toBeGreaterThanOrEqual(1);
      expect(breaks.some((b) => b.outcome === "DENIED")).toBe(true);
    });
  });

  describe("GetLock", () => {
    it("answers no lock for another tenant's room", async () => {
      const res = await server.client({ token: alice.token }).locks.getLock({ roomId: randomUUID(), target: await target() }).catch((e: unknown) => e);
      expect(res).toMatchObject({ code: Code.NotFound });
    });
  });
});

describe("LocksService across replicas and Redis faults", () => {
  let proxies: TcpProxy[] = [];
  let one: TestServer;
  let two: TestServer;
  beforeAll(async () => {
    await ensureRedisNodes(LOCK_NODE_PORTS);
    proxies = await Promise.all(LOCK_NODE_PORTS.map((p) => startTcpProxy("127.0.0.1", p)));
    const env = {
      GATEHOUSE_REDIS_URLS: proxies.map((p) => `redis://127.0.0.1:${p.port}`).join(","),
      GATEHOUSE_REDIS_PREFIX: `ghtest:locks:${randomUUID().slice(0, 8)}:`,
    };
    one = await startTestServer({ redis: false, env });
    two = await startTestServer({ redis: false, env, db: one.db });
  });
  afterAll(async () => {
    for (const p of proxies) p.restore();
    await two?.close();
    await one?.close();
    await Promise.all(proxies.map((p) => p.close()));
  });

  it("shows a lock taken through one server on the other, and keeps working with one Redis node of three cut, refusing with two", async () => {
    const adminOne = await one.login();
    const adminTwo = await two.login();
    const room = await one.client({ token: adminOne }).rooms.createRoom({ name: "replicas" });
    const roomId = room.room!.roomId;
    const t = await newMacroTarget(one.client({ token: adminOne }), roomId);
    await one.client({ token: adminOne }).locks.acquireLock({ roomId, target: t });
    const seen = await two.client({ token: adminTwo }).locks.getLock({ roomId, target: t });
    expect(seen.lock?.target).toBe(t);

    proxies[2]!.cut();
    const t2 = await newMacroTarget(one.client({ token: adminOne }), roomId);
    const got = await two.client({ token: adminTwo }).locks.acquireLock({ roomId, target: t2 });
    expect(got.lock?.target).toBe(t2);
    proxies[1]!.cut();
    await refused(two.client({ token: adminTwo }).locks.acquireLock({ roomId, target: await newMacroTarget(two.client({ token: adminTwo }), roomId) }), Code.Unavailable, "UNAVAILABLE");
    for (const p of proxies) p.restore();
  });
});
