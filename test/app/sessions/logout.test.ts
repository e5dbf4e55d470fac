import { describe, expect, it } from "vitest";
import { logout } from "../../../src/app/sessions/logout.js";
import { testCall } from "../../support/app-call.js";
import { MemoryDirectory, RecordingSessionCaches } from "../../support/memory-stores/users.js";

describe("logout", () => {
  it("ends the caller's session only, and drops it from every replica's cache once committed", async () => {
    const dir = new MemoryDirectory();
    const caches = new RecordingSessionCaches();
    const userId = dir.addUser({ username: "tester", level: 2 });
    const mine = dir.addSession(userId);
    const other = dir.addSession(userId);
    const call = testCall({ userId, sessionId: mine });
    const done = await logout({ sessions: dir.sessions, sessionCaches: caches }, call);
    expect(done.audit).toEqual({ resource: `session:${mine}` });
    expect(dir.sessionRows.get(mine)!.revokedReason).toBe("logout");
    expect(dir.sessionRows.get(other)!.revokedReason).toBeNull();
    expect(caches.invalidated).toEqual([]);
    await call.commit();
    expect(caches.invalidated).toEqual([`session:${dir.tenantId}:${mine}`]);
  });
});
