import { randomUUID } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ErrorDetailSchema, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { auditRows, createTenant, createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { newMacroTarget } from "../support/lock-targets.js";
import { startTestServer, type TestServer } from "../support/server.js";

/**
 * Finding 6 of issue 13: AcquireLock takes only targets that exist in the
 * room, and a holder (GATEHOUSE_LOCKS_PER_USER) and a tenant
 * (GATEHOUSE_LOCKS_PER_TENANT) hold a bounded number of locks at once.
 */

const USER = 2;
const perUser = 3;
const perTenant = 7;

describe("AcquireLock: targets and quotas", () => {
  let server: TestServer;
  let adminToken: string;
  let tenantId: string;

  beforeAll(async () => {
    server = await startTestServer({
      env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "1", GATEHOUSE_LOCKS_PER_USER: String(perUser), GATEHOUSE_LOCKS_PER_TENANT: String(perTenant) },
    });
    adminToken = await server.login();
    tenantId = await tenantIdOf(server);
  });
  afterAll(async () => {
    await server?.close();
  });

  /** roomOf makes a room of the caller's tenant with the users as EDITORs. */
  const roomOf = async (token: string, editors: FixtureUser[]) => {
    const admin = server.client({ token });
    const roomId = (await admin.rooms.createRoom({ name: `quota-${randomUUID().slice(0, 8)}` })).room!.roomId;
    for (const user of editors) await admin.rooms.addRoomMember({ roomId, userId: user.id, role: RoomRole.EDITOR });
    return roomId;
  };
  const targets = async (token: string, roomId: string, n: number) => {
    const made: string[] = [];
    for (let i = 0; i < n; i++) made.push(await newMacroTarget(server.client({ token }), roomId));
    return made;
  };
  const locks = (user: FixtureUser) => server.client({ token: user.token }).locks;

  describe("targets", () => {
    it("answers NOT_FOUND for a macro or repo that is not in the room, and takes no lock", async () => {
      const editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "t" });
      const roomId = await roomOf(adminToken, [editor]);
      const elsewhere = await roomOf(adminToken, [editor]);
      const [foreign] = await targets(editor.token, elsewhere, 1);
      const [deleted] = await targets(editor.token, roomId, 1);
      await locks(editor).acquireLock({ roomId, target: deleted! });
      await server.client({ token: editor.token }).macros.deleteMacro({ roomId, macroId: deleted!.slice("macro/".length) });
      for (const target of [`macro/${randomUUID()}`, `repo/${randomUUID()}`, foreign!, deleted!]) {
        await refused(locks(editor).acquireLock({ roomId, target }), Code.NotFound, "NOT_FOUND");
        expect((await locks(editor).getLock({ roomId, target })).lock, target).toBeUndefined();
      }
      // The macro is lockable in its own room.
      expect((await locks(editor).acquireLock({ roomId: elsewhere, target: foreign! })).lock?.ownerId).toBe(editor.id);
      await locks(editor).releaseLock({ roomId: elsewhere, target: foreign! });
    });
  });

  describe("GATEHOUSE_LOCKS_PER_USER", () => {
    it("refuses a holder's lock past the limit with RESOURCE_EXHAUSTED LOCK_QUOTA and the limit, until one is released", async () => {
      const editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "q" });
      const roomId = await roomOf(adminToken, [editor]);
      const made = await targets(editor.token, roomId, perUser + 1);
      for (const target of made.slice(0, perUser)) await locks(editor).acquireLock({ roomId, target });
      const detail = await refused(locks(editor).acquireLock({ roomId, target: made[perUser]! }), Code.ResourceExhausted, "LOCK_QUOTA");
      expect(detail).toMatchObject({ limit: perUser, layer: "user" });
      expect((await locks(editor).getLock({ roomId, target: made[perUser]! })).lock).toBeUndefined();
      // Acquiring a lock one holds is a refresh, never refused by the quota.
      expect((await locks(editor).acquireLock({ roomId, target: made[0]! })).lock?.ownerId).toBe(editor.id);
      const denied = (await auditRows(server, tenantId, "locks.acquire")).filter((r) => r.resource === made[perUser]);
      expect(denied.map((r) => [r.outcome, r.reason])).toEqual([["FAILED", "LOCK_QUOTA"]]);

      await locks(editor).releaseLock({ roomId, target: made[0]! });
      expect((await locks(editor).acquireLock({ roomId, target: made[perUser]! })).lock?.ownerId).toBe(editor.id);
      for (const target of made.slice(1)) await locks(editor).releaseLock({ roomId, target });
    });

    it("does not count leases that lapsed, nor locks broken by a room admin", async () => {
      const editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "lapse" });
      const roomId = await roomOf(adminToken, [editor]);
      const made = await targets(editor.token, roomId, perUser * 2 + 1);
      for (const target of made.slice(0, perUser)) await locks(editor).acquireLock({ roomId, target, ttlSeconds: 1 });
      await refused(locks(editor).acquireLock({ roomId, target: made[perUser]! }), Code.ResourceExhausted, "LOCK_QUOTA");
      // Wait until the leases have lapsed (GetLock answers none), then the holder has room again.
      for (;;) {
        const left = await Promise.all(made.slice(0, perUser).map((target) => locks(editor).getLock({ roomId, target })));
        if (left.every((l) => l.lock === undefined)) break;
        await new Promise((r) => setTimeout(r, 100));
      }
      const more = made.slice(perUser, perUser * 2);
      for (const target of more) await locks(editor).acquireLock({ roomId, target });
      await refused(locks(editor).acquireLock({ roomId, target: made[perUser * 2]! }), Code.ResourceExhausted, "LOCK_QUOTA");
      await server.client({ token: adminToken }).locks.breakLock({ roomId, target: more[0]! });
      expect((await locks(editor).acquireLock({ roomId, target: made[perUser * 2]! })).lock?.ownerId).toBe(editor.id);
      for (const target of [...more.slice(1), made[perUser * 2]!]) await locks(editor).releaseLock({ roomId, target });
    });

    it("lets exactly the limit through when one holder races for many targets at once", async () => {
      const editor = await createUser(server, { level: USER, roles: ["editor"], prefix: "race" });
      const roomId = await roomOf(adminToken, [editor]);
      const made = await targets(editor.token, roomId, perUser + 5);
      const results = await Promise.allSettled(made.map((target) => locks(editor).acquireLock({ roomId, target })));
      const won = results.filter((r) => r.status === "fulfilled");
      const lost = results.filter((r): r is PromiseRejectedResult => r.status === "rejected").map((r) => ConnectError.from(r.reason));
      expect(won).toHaveLength(perUser);
      expect(lost.map((e) => [Code[e.code], e.findDetails(ErrorDetailSchema)[0]?.reason])).toEqual(Array(5).fill(["ResourceExhausted", "LOCK_QUOTA"]));
      for (const [i, r] of results.entries()) if (r.status === "fulfilled") await locks(editor).releaseLock({ roomId, target: made[i]! });
    });
  });

  describe("GATEHOUSE_LOCKS_PER_TENANT", () => {
    it("refuses a lock past the tenant's limit (layer tenant), and leaves other tenants alone", async () => {
      const name = `quota-${randomUUID().slice(0, 6)}`;
      const other = await createTenant(server, adminToken, name);
      const [a, b, c] = await Promise.all(["a", "b", "c"].map((p) => createUser(server, { level: USER, roles: ["editor"], prefix: p, tenant: name })));
      const roomId = await roomOf(other.admin.token, [a!, b!, c!]);
      const made = await targets(other.admin.token, roomId, perTenant + 1);
      // a and b hold three each, c one: the tenant's seven.
      for (const target of made.slice(0, 3)) await locks(a!).acquireLock({ roomId, target });
      for (const target of made.slice(3, 6)) await locks(b!).acquireLock({ roomId, target });
      await locks(c!).acquireLock({ roomId, target: made[6]! });
      const detail = await refused(locks(c!).acquireLock({ roomId, target: made[perTenant]! }), Code.ResourceExhausted, "LOCK_QUOTA");
      expect(detail).toMatchObject({ limit: perTenant, layer: "tenant" });

      // The default tenant is not bound by this tenant's locks.
      const mine = await createUser(server, { level: USER, roles: ["editor"], prefix: "home" });
      const home = await roomOf(adminToken, [mine]);
      const [target] = await targets(mine.token, home, 1);
      expect((await locks(mine).acquireLock({ roomId: home, target: target! })).lock?.ownerId).toBe(mine.id);
      await locks(mine).releaseLock({ roomId: home, target: target! });

      await locks(a!).releaseLock({ roomId, target: made[0]! });
      expect((await locks(c!).acquireLock({ roomId, target: made[perTenant]! })).lock?.ownerId).toBe(c!.id);
    });
  });
});
