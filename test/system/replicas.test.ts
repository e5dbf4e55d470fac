import { randomUUID } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Redis } from "ioredis";
import { Code, ConnectError } from "@connectrpc/connect";
import { ErrorDetailSchema, Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { refused } from "../support/fixtures.js";
import { newMacroTarget } from "../support/lock-targets.js";
import { startReplicas, type Replica, type ReplicaSet } from "../support/replicas.js";
import { codeOf } from "../support/refusals.js";

/**
 * Three real server processes on one Postgres and the three Redis nodes
 * behave as one service: locks, logouts, disabled users, role changes, rate
 * limits and login lockouts made through one are seen by the others.
 */

const RATE_LIMIT = 300;
const LOCKOUT_FAILURES = 3;
const password = "replica-user-password-1";

/**
 * within polls `probe` until it answers true and answers when the successful
 * probe was sent (ms after the start). It fails if no probe sent within
 * `limitMs` succeeds: a call made a second after a change must see it.
 */
async function within(limitMs: number, probe: () => Promise<boolean>): Promise<number> {
  const started = performance.now();
  for (;;) {
    const sent = performance.now() - started;
    if (sent > limitMs) throw new Error(`not seen within ${limitMs} ms`);
    if (await probe()) return sent;
    await sleep(20);
  }
}

/** busLog records what crossed the replicas' invalidation bus (a subscriber of the test's own), with arrival times. */
const busLog: Array<{ at: number; channel: string; message: string }> = [];

/** report prints propagation times, and the replicas' warnings and the bus traffic when one took longer than the bus should. */
function report(what: string, elapsed: number[], replicas: readonly Replica[], changedAt: number): void {
  console.log(`${what} after ${elapsed.map((ms) => ms.toFixed(0)).join(", ")} ms`);
  if (elapsed.some((ms) => ms > 300)) {
    const recent = busLog.filter((m) => m.at > changedAt - 2000).map((m) => `${(m.at - changedAt).toFixed(0)} ms ${m.channel} ${m.message}`);
    console.log(`bus traffic around the change (ms after it returned):\n${recent.join("\n")}`);
    // Over the bus this takes milliseconds; near a second means the cache TTL did it.
    for (const replica of replicas) {
      const warnings = replica.output().split("\n").filter((line) => /"level":(40|50|60)/.test(line));
      console.log(`${replica.name} warnings:\n${warnings.slice(-20).join("\n")}`);
    }
  }
}

describe("replicas", () => {
  let set: ReplicaSet;
  let r: Replica[];
  let adminToken: string;
  let roleIds: Map<string, string>;
  let roomId: string;
  let busWatcher: Redis;

  /** newUser creates a LEVEL_USER with `role` through replica 0 and logs it in through `via`. */
  const newUser = async (role: string, via = 0, member?: RoomRole): Promise<{ id: string; username: string; token: string }> => {
    const username = `${role}-${randomUUID().slice(0, 8)}`;
    const created = await r[0]!.client({ token: adminToken }).users.createUser({ username, password, level: Level.USER, roleIds: [roleIds.get(role)!] });
    const id = created.user!.userId;
    if (member) await r[0]!.client({ token: adminToken }).rooms.addRoomMember({ roomId, userId: id, role: member });
    return { id, username, token: await r[via]!.login(username, password) };
  };

  beforeAll(async () => {
    set = await startReplicas({
      count: 3,
      env: {
        GATEHOUSE_RATE_LIMIT_PER_MINUTE: String(RATE_LIMIT),
        GATEHOUSE_LOCKOUT_USER_FAILURES: String(LOCKOUT_FAILURES),
      },
    });
    r = set.replicas;
    busWatcher = new Redis(6379, { lazyConnect: true });
    await busWatcher.connect();
    await busWatcher.psubscribe(`${set.env.GATEHOUSE_REDIS_PREFIX}*`);
    busWatcher.on("pmessage", (_pattern: string, channel: string, message: string) => busLog.push({ at: performance.now(), channel, message }));
    adminToken = await r[0]!.login();
    const roles = await r[1]!.client({ token: adminToken }).roles.listRoles({});
    roleIds = new Map(roles.roles.map((role) => [role.name, role.roleId]));
    roomId = (await r[2]!.client({ token: adminToken }).rooms.createRoom({ name: "replicas" })).room!.roomId;
  });
  afterAll(async () => {
    busWatcher?.disconnect();
    await set?.close();
  });

  it("serves one token on every replica (shared signing key and sessions)", async () => {
    for (const replica of r) {
      expect((await replica.client({ token: adminToken }).auth.whoAmI({})).user?.username).toBe("admin");
    }
  });

  describe("locks", () => {
    it("shows a lock taken through one replica on the others, and lets only its holder release it", async () => {
      const [alice, bob] = await Promise.all([newUser("editor", 0, RoomRole.EDITOR), newUser("editor", 1, RoomRole.EDITOR)]);
      const target = await newMacroTarget(r[0]!.client({ token: adminToken }), roomId);
      const held = await r[0]!.client({ token: alice.token }).locks.acquireLock({ roomId, target });
      for (const replica of r) {
        const seen = await replica.client({ token: bob.token }).locks.getLock({ roomId, target });
        expect(seen.lock?.ownerId).toBe(alice.id);
        expect(seen.lock?.fencingToken).toBe(held.lock!.fencingToken);
      }
      const detail = await refused(r[2]!.client({ token: bob.token }).locks.acquireLock({ roomId, target }), Code.FailedPrecondition, "LOCKED");
      expect(detail.holder?.holderId).toBe(alice.id);
      await refused(r[1]!.client({ token: bob.token }).locks.releaseLock({ roomId, target }), Code.FailedPrecondition, "LOCKED");
      await r[1]!.client({ token: alice.token }).locks.releaseLock({ roomId, target });
      const next = await r[2]!.client({ token: bob.token }).locks.acquireLock({ roomId, target });
      expect(next.lock?.ownerId).toBe(bob.id);
      expect(next.lock!.fencingToken).toBeGreaterThan(held.lock!.fencingToken);
    });

    it("gives each target exactly one holder when three principals race for it through three replicas", async () => {
      const [p1, p2] = await Promise.all([newUser("editor", 1, RoomRole.EDITOR), newUser("editor", 2, RoomRole.EDITOR)]);
      const contenders = [adminToken, p1.token, p2.token];
      for (let round = 0; round < 10; round++) {
        const target = await newMacroTarget(r[0]!.client({ token: adminToken }), roomId);
        const results = await Promise.allSettled(contenders.map((token, i) => r[i]!.client({ token }).locks.acquireLock({ roomId, target })));
        const winners = results.filter((x) => x.status === "fulfilled");
        expect(winners).toHaveLength(1);
        for (const loser of results.filter((x) => x.status === "rejected")) {
          expect(ConnectError.from((loser as PromiseRejectedResult).reason).code).toBe(Code.FailedPrecondition);
        }
        const owner = (winners[0] as PromiseFulfilledResult<{ lock?: { ownerId: string } }>).value.lock?.ownerId;
        const seen = await Promise.all(r.map((replica) => replica.client({ token: adminToken }).locks.getLock({ roomId, target })));
        expect(seen.map((s) => s.lock?.ownerId)).toEqual([owner, owner, owner]);
      }
    });
  });

  describe("sessions", () => {
    it("ends a session on every replica within a second of a logout on one", async () => {
      const user = await newUser("viewer", 1);
      // Warm every replica's session cache first.
      for (const replica of r) expect((await replica.client({ token: user.token }).auth.whoAmI({})).user?.userId).toBe(user.id);
      await r[0]!.client({ token: user.token }).auth.logout({});
      const changedAt = performance.now();
      const elapsed = await Promise.all(
        [r[1]!, r[2]!].map((replica) => within(1000, async () => (await codeOf(replica.client({ token: user.token }).auth.whoAmI({}))) === Code.Unauthenticated)),
      );
      report("logout seen on the other replicas", elapsed, r, changedAt);
    });

    it("shuts a disabled user out of every replica within a second", async () => {
      const user = await newUser("viewer", 2);
      for (const replica of r) expect((await replica.client({ token: user.token }).auth.whoAmI({})).user?.userId).toBe(user.id);
      const updated = await r[0]!.client({ token: adminToken }).users.updateUser({ userId: user.id, disabled: true });
      expect(updated.user?.disabled).toBe(true);
      const changedAt = performance.now();
      const elapsed = await Promise.all(
        r.map((replica) => within(1000, async () => (await codeOf(replica.client({ token: user.token }).auth.whoAmI({}))) === Code.Unauthenticated)),
      );
      report("disabled user refused on the replicas", elapsed, r, changedAt);
      // And the disabled user cannot log in again through any of them.
      await refused(r[1]!.client().auth.login({ tenant: "default", username: user.username, password }), Code.Unauthenticated, "INVALID_CREDENTIALS");
    });

    it("applies a role change made on one replica to checks on the others within a second", async () => {
      const user = await newUser("editor", 1, RoomRole.EDITOR);
      for (const replica of r) {
        const check = await replica.client({ token: user.token }).users.checkPermission({ permission: "macros.write" });
        expect(check.allowed).toBe(true);
      }
      await r[0]!.client({ token: adminToken }).users.setUserRoles({ userId: user.id, roleIds: [roleIds.get("viewer")!] });
      const changedAt = performance.now();
      const elapsed = await Promise.all(
        [r[1]!, r[2]!].map((replica) =>
          within(1000, async () => !(await replica.client({ token: user.token }).users.checkPermission({ permission: "macros.write" })).allowed),
        ),
      );
      report("role change seen on the other replicas", elapsed, r, changedAt);
      for (const replica of r) {
        const me = await replica.client({ token: user.token }).auth.whoAmI({});
        expect(me.roles).toEqual(["viewer"]);
        expect(me.permissions).not.toContain("macros.write");
      }
      // The lost permission is enforced by the interceptors too, not only reported.
      await refused(r[2]!.client({ token: user.token }).locks.acquireLock({ roomId, target: `macro/${randomUUID()}` }), Code.PermissionDenied, "PERMISSION_DENIED");
    });
  });

  describe("limits", () => {
    it("counts one principal's calls across all replicas against one rate limit", async () => {
      const user = await newUser("viewer", 0);
      let ok = 0;
      let firstRefusal: ConnectError | undefined;
      for (let i = 0; i < RATE_LIMIT * 2 && !firstRefusal; i++) {
        try {
          await r[i % 3]!.client({ token: user.token }).auth.whoAmI({});
          ok++;
        } catch (err) {
          firstRefusal = ConnectError.from(err);
        }
      }
      // Per-replica counting would have let 3 × RATE_LIMIT through.
      expect(ok).toBe(RATE_LIMIT);
      expect(firstRefusal?.code).toBe(Code.ResourceExhausted);
      expect(firstRefusal?.findDetails(ErrorDetailSchema)[0]?.reason).toBe("RATE_LIMITED");
      expect(Number(firstRefusal?.metadata.get("retry-after"))).toBeGreaterThan(0);
      for (const replica of r) {
        await refused(replica.client({ token: user.token }).auth.whoAmI({}), Code.ResourceExhausted, "RATE_LIMITED");
      }
    });

    it("locks an account out after failures spread over the replicas", async () => {
      const user = await newUser("viewer", 0);
      for (let i = 0; i < LOCKOUT_FAILURES; i++) {
        await refused(r[i % 3]!.client().auth.login({ tenant: "default", username: user.username, password: "wrong-password-1" }), Code.Unauthenticated, "INVALID_CREDENTIALS");
      }
      // Each replica saw fewer failures than the limit; together they reached it.
      for (const replica of r) {
        const detail = await refused(replica.client().auth.login({ tenant: "default", username: user.username, password }), Code.ResourceExhausted, "LOGIN_LOCKED");
        expect(Number(detail.retryAfter?.seconds)).toBeGreaterThan(0);
      }
    });
  });

  describe("audit", () => {
    it("keeps one verifiable audit chain while all replicas write to it at once", async () => {
      await Promise.all(
        Array.from({ length: 30 }, (_, i) => r[i % 3]!.client({ token: adminToken }).rooms.createRoom({ name: `chain-${i}-${randomUUID().slice(0, 6)}` })),
      );
      for (const replica of r) {
        const report = await replica.client({ token: adminToken }).audit.verifyAuditChain({});
        expect(report.ok).toBe(true);
        expect(report.eventsChecked).toBeGreaterThan(30n);
      }
    });
  });
});
