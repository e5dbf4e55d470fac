import { beforeEach, describe, expect, it } from "vitest";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { changePassword, resetUserPassword, unlockUser, type PasswordDeps } from "../../../src/app/users/passwords.js";
import { hashPassword, verifyPassword } from "../../../src/auth/passwords.js";
import { DomainError } from "../../../src/domain/errors.js";
import type { Limiter } from "../../../src/shared-state/rate-limiters.js";
import { testCall } from "../../support/app-call.js";
import { MemoryDirectory, RecordingSessionCaches } from "../../support/memory-stores/users.js";

const callerId = "00000000-0000-4000-8000-000000000001";

/** countingLimiter is an in-memory Limiter of `points` per key. */
function countingLimiter(points: number): Limiter & { counts: Map<string, number> } {
  const counts = new Map<string, number>();
  return {
    counts,
    consume: async (key, n = 1) => {
      counts.set(key, (counts.get(key) ?? 0) + n);
      return counts.get(key)! <= points ? { ok: true, remaining: points - counts.get(key)! } : { ok: false, retryAfterSeconds: 60 };
    },
    refund: async (key, n = 1) => void counts.set(key, Math.max(0, (counts.get(key) ?? 0) - n)),
    penalty: async (key, n = 1) => {
      counts.set(key, (counts.get(key) ?? 0) + n);
      return counts.get(key)! < points ? { ok: true, remaining: points - counts.get(key)! } : { ok: false, retryAfterSeconds: 60 };
    },
    get: async (key) => (counts.has(key) ? { consumed: counts.get(key)!, retryAfterSeconds: 60 } : undefined),
    reset: async (key) => void counts.delete(key),
    block: async (key) => void counts.set(key, points),
  };
}

async function refusal(work: Promise<unknown>): Promise<DomainError> {
  const err = await work.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(DomainError);
  return err as DomainError;
}

describe("password use cases", () => {
  let dir: MemoryDirectory;
  let caches: RecordingSessionCaches;
  let deps: PasswordDeps & { passwordFailures: ReturnType<typeof countingLimiter> };
  let locked: Set<string>;

  beforeEach(async () => {
    dir = new MemoryDirectory();
    caches = new RecordingSessionCaches();
    locked = new Set();
    deps = {
      users: dir.users,
      sessions: dir.sessions,
      sessionCaches: caches,
      passwordFailures: countingLimiter(3),
      loginGuard: {
        locked: async (tenant, username) => locked.has(`${tenant}:${username}`),
        unlock: async (tenant, username) => void locked.delete(`${tenant}:${username}`),
      },
      lockout: { failures: 3, durationSeconds: 60 },
    };
    dir.addUser({ id: callerId, username: "tester", level: Level.ADMIN, passwordHash: await hashPassword("old-password-123") });
  });

  it("resets the password of a user below the caller and ends every session of theirs", async () => {
    const plain = dir.addUser({ username: "plain", level: Level.USER });
    dir.addSession(plain);
    dir.addSession(plain);
    const call = testCall();
    const done = await resetUserPassword(deps, call, { userId: plain, newPassword: "a-new-password-1" });
    expect(done.value).toEqual({ sessionsRevoked: 2 });
    expect(done.audit).toEqual({ resource: `user:${plain}`, details: { username: "plain", level: "USER", sessionsRevoked: 2 } });
    expect(JSON.stringify(done.audit)).not.toContain("a-new-password-1");
    expect(await verifyPassword(dir.userRows.get(plain)!.passwordHash, "a-new-password-1")).toBe(true);
    await call.commit();
    expect(caches.invalidated).toEqual([`user:${dir.tenantId}:${plain}`]);
  });

  it("refuses resetting one's own password, a peer's, and a weak one", async () => {
    expect((await refusal(resetUserPassword(deps, testCall(), { userId: callerId, newPassword: "a-new-password-1" }))).reason).toBe("LEVEL_TOO_LOW");
    const peer = dir.addUser({ username: "peer", level: Level.ADMIN });
    expect((await refusal(resetUserPassword(deps, testCall(), { userId: peer, newPassword: "a-new-password-1" }))).reason).toBe("LEVEL_TOO_LOW");
    const plain = dir.addUser({ username: "plain", level: Level.USER });
    expect((await refusal(resetUserPassword(deps, testCall(), { userId: plain, newPassword: "x" }))).facts.field).toBe("new_password");
  });

  it("changes the caller's password given the old one and ends the caller's other sessions only", async () => {
    const other = dir.addSession(callerId);
    const call = testCall({ sessionId: "current" });
    dir.sessionRows.set("current", { id: "current", userId: callerId, revokedReason: null });
    await changePassword(deps, call, { oldPassword: "old-password-123", newPassword: "new-password-456" });
    expect(await verifyPassword(dir.userRows.get(callerId)!.passwordHash, "new-password-456")).toBe(true);
    expect(dir.sessionRows.get(other)!.revokedReason).toBe("password changed");
    expect(dir.sessionRows.get("current")!.revokedReason).toBeNull();
  });

  it("counts wrong old passwords and locks the change out past the limit", async () => {
    for (let i = 0; i < 3; i++) {
      expect((await refusal(changePassword(deps, testCall(), { oldPassword: "wrong-password-1", newPassword: "new-password-456" }))).reason).toBe("INVALID_CREDENTIALS");
    }
    const locked = await refusal(changePassword(deps, testCall(), { oldPassword: "old-password-123", newPassword: "new-password-456" }));
    expect(locked.reason).toBe("RATE_LIMITED");
    expect(await verifyPassword(dir.userRows.get(callerId)!.passwordHash, "old-password-123")).toBe(true);
  });

  it("unlocks a locked user below the caller only once the call committed", async () => {
    const plain = dir.addUser({ username: "plain", level: Level.USER });
    locked.add("default:plain");
    const call = testCall();
    const done = await unlockUser(deps, call, { userId: plain });
    expect(done.value).toEqual({ wasLocked: true });
    expect(done.audit).toEqual({ resource: `user:${plain}`, details: { username: "plain", wasLocked: true } });
    expect(locked.has("default:plain")).toBe(true);
    await call.commit();
    expect(locked.has("default:plain")).toBe(false);
    expect((await unlockUser(deps, testCall(), { userId: plain })).value).toEqual({ wasLocked: false });
    expect((await refusal(unlockUser(deps, testCall(), { userId: "00000000-0000-4000-8000-00000000dead" }))).reason).toBe("NOT_FOUND");
  });
});
