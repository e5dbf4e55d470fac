import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Level, PolicySchema, RoomRole, StringListSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { MacroSourceKind } from "../../gen/gatehouse/v1/macros_pb.js";
import { createUser, type FixtureUser } from "../support/fixtures.js";
import { startGitServer, type GitServer } from "../support/git-server.js";
import { startTestServer, type TestServer } from "../support/server.js";

const list = (...values: string[]) => create(StringListSchema, { values });
const ok = (n: number) => `export default function () { return ${n}; }\n`;

describe("ReposService with a room token", () => {
  let server: TestServer;
  let git: GitServer;
  let owner: FixtureUser;
  let alice: FixtureUser;

  beforeAll(async () => {
    git = await startGitServer();
    server = await startTestServer({ env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "1" } });
    [owner, alice] = await Promise.all([
      createUser(server, { level: Level.GOD, roles: ["superuser"], prefix: "owner" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "alice" }),
    ]);
    await server.client({ token: owner.token }).policies.updateGlobalPolicy({
      policy: create(PolicySchema, { allowRoomTokens: true, allowedHosts: list(git.hostPort), allowedImports: list("gatehouse:store", "gatehouse:log") }),
    });
  });
  afterAll(async () => {
    await server?.close();
    await git?.close();
  });

  describe("SyncRepo", () => {
    it("imports the repo's macros for a room-token editor, recording no user as their author", async () => {
      const me = server.client({ token: owner.token });
      const roomId = (await me.rooms.createRoom({ name: `token-sync-${randomUUID().slice(0, 8)}` })).room!.roomId;
      await me.rooms.addRoomMember({ roomId, userId: alice.id, role: RoomRole.EDITOR });
      await me.policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, { allowRoomTokens: true }) }); // rooms opt in to tokens
      const remote = await git.createRepo(`t-${randomUUID().slice(0, 8)}`);
      const commit = await remote.commit({ "macros/sum.js": ok(1), "macros/reports/daily.js": ok(2) });
      const { editorToken } = await me.rooms.getRoomToken({ roomId });
      const byToken = server.client({ headers: { "x-room-token": editorToken } });

      const repo = (await byToken.repos.updateRepo({ roomId, url: remote.url, ref: "", path: "macros" })).repo!;
      expect(repo.createdBy).toBe("");
      await byToken.locks.acquireLock({ roomId, target: `repo/${repo.repoId}` });
      const synced = await byToken.repos.syncRepo({ roomId, repoId: repo.repoId });
      expect(synced).toMatchObject({ commit, imported: ["macros/reports/daily.js", "macros/sum.js"], violations: [] });

      const macros = (await server.client({ token: alice.token }).macros.listMacros({ roomId })).macros;
      expect(macros.map((m) => [m.name, m.source?.kind, m.createdBy, m.updatedBy])).toEqual([
        ["reports/daily", MacroSourceKind.REPO, "", ""],
        ["sum", MacroSourceKind.REPO, "", ""],
      ]);

      // A second commit updates under the token too: updated_by stays no user.
      const next = await remote.commit({ "macros/sum.js": ok(10) });
      expect((await byToken.repos.syncRepo({ roomId, repoId: repo.repoId })).commit).toBe(next);
      const sum = (await server.client({ token: alice.token }).macros.listMacros({ roomId })).macros.find((m) => m.name === "sum")!;
      expect(sum).toMatchObject({ version: 2, code: ok(10), updatedBy: "" });
    });

    it("records the user as author when a user syncs", async () => {
      const me = server.client({ token: owner.token });
      const roomId = (await me.rooms.createRoom({ name: `user-sync-${randomUUID().slice(0, 8)}` })).room!.roomId;
      await me.rooms.addRoomMember({ roomId, userId: alice.id, role: RoomRole.EDITOR });
      const remote = await git.createRepo(`u-${randomUUID().slice(0, 8)}`);
      await remote.commit({ "macros/one.js": ok(1) });
      const as = server.client({ token: alice.token });
      const repo = (await as.repos.updateRepo({ roomId, url: remote.url, ref: "", path: "macros" })).repo!;
      expect(repo.createdBy).toBe(alice.id);
      await as.locks.acquireLock({ roomId, target: `repo/${repo.repoId}` });
      await as.repos.syncRepo({ roomId, repoId: repo.repoId });
      const [one] = (await as.macros.listMacros({ roomId })).macros;
      expect(one).toMatchObject({ name: "one", createdBy: alice.id, updatedBy: alice.id });
    });
  });
});
