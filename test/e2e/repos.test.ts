import { randomBytes, randomUUID } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { Code } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Level, PolicySchema, RoomRole, StringListSchema } from "../../gen/gatehouse/v1/common_pb.js";
import { MacroSourceKind } from "../../gen/gatehouse/v1/macros_pb.js";
import { auditRows, createTenant, createUser, refused, tenantIdOf, type FixtureUser } from "../support/fixtures.js";
import { startConnectionCounter, startGitServer, type ConnectionCounter, type GitServer, type TestRepo } from "../support/git-server.js";
import { startTestServer, type TestServer } from "../support/server.js";

type PolicyInit = MessageInitShape<typeof PolicySchema>;
const list = (...values: string[]) => create(StringListSchema, { values });

const ok = (n: number) => `export default function (input) { return ${n}; }\n`;

describe("ReposService", () => {
  let server: TestServer;
  let git: GitServer;
  let counter: ConnectionCounter;
  let tenantId: string;
  let god: FixtureUser;
  let alice: FixtureUser;
  let bob: FixtureUser;
  /** reader has the editor role's permissions (repos.read) but is only a room VIEWER. */
  let reader: FixtureUser;
  let outsider: FixtureUser;

  const client = (u: FixtureUser) => server.client({ token: u.token });
  const repos = (u: FixtureUser) => client(u).repos;
  const lock = (u: FixtureUser, roomId: string, repoId: string) => client(u).locks.acquireLock({ roomId, target: `repo/${repoId}` });
  const release = (u: FixtureUser, roomId: string, repoId: string) => client(u).locks.releaseLock({ roomId, target: `repo/${repoId}` });
  const macrosOf = async (roomId: string) => (await client(alice).macros.listMacros({ roomId, pageSize: 1000 })).macros;
  const snapshot = async (roomId: string) => (await macrosOf(roomId)).map((m) => ({ id: m.macroId, name: m.name, code: m.code, version: m.version, commit: m.source?.commit }));

  /** newRoom makes a room (god is its ADMIN) with alice and bob as editors and reader as viewer. */
  const newRoom = async (): Promise<string> => {
    const rooms = client(god).rooms;
    const room = (await rooms.createRoom({ name: `repos-${randomUUID().slice(0, 8)}` })).room!;
    await rooms.addRoomMember({ roomId: room.roomId, userId: alice.id, role: RoomRole.EDITOR });
    await rooms.addRoomMember({ roomId: room.roomId, userId: bob.id, role: RoomRole.EDITOR });
    await rooms.addRoomMember({ roomId: room.roomId, userId: reader.id, role: RoomRole.VIEWER });
    return room.roomId;
  };

  /** newRepo pushes `files` to a new git repo and registers it in a new room as alice, path `macros`. */
  const newRepo = async (files: Record<string, string | Buffer>, path = "macros"): Promise<{ roomId: string; repoId: string; remote: TestRepo; commit: string }> => {
    const roomId = await newRoom();
    const remote = await git.createRepo(`r-${randomUUID().slice(0, 8)}`);
    const commit = await remote.commit(files);
    const repo = (await repos(alice).updateRepo({ roomId, url: remote.url, ref: "", path })).repo!;
    return { roomId, repoId: repo.repoId, remote, commit };
  };

  beforeAll(async () => {
    git = await startGitServer();
    counter = await startConnectionCounter();
    server = await startTestServer({ env: { GATEHOUSE_LOCK_MIN_TTL_SECONDS: "1" } });
    tenantId = await tenantIdOf(server);
    [god, alice, bob, reader] = await Promise.all([
      createUser(server, { level: Level.GOD, roles: ["superuser"], prefix: "god" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "alice" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "bob" }),
      createUser(server, { level: Level.USER, roles: ["editor"], prefix: "reader" }),
    ]);
    outsider = (await createTenant(server, await server.login(), `other-${randomUUID().slice(0, 6)}`)).admin;
    // The test git server's exact host:port is allowed explicitly (http, loopback); every other
    // host name passes allowed_hosts, so the address rules are what refuses the SSRF attempts.
    const global: PolicyInit = { allowedHosts: list(git.hostPort, "*", "*:*"), allowedImports: list("gatehouse:store", "gatehouse:log") };
    await client(god).policies.updateGlobalPolicy({ policy: create(PolicySchema, global) });
  });
  afterAll(async () => {
    await server?.close();
    await git?.close();
    await counter?.close();
  });

  describe("UpdateRepo", () => {
    it("creates a repo without a lock, normalizing the url and path, and audits it", async () => {
      const roomId = await newRoom();
      const remote = await git.createRepo(`c-${randomUUID().slice(0, 8)}`);
      const repo = (await repos(alice).updateRepo({ roomId, url: `${remote.url}/`, ref: "main", path: "/macros/" })).repo!;
      expect(repo).toMatchObject({ roomId, tenantId, url: remote.url, ref: "main", path: "macros", lastCommit: "", fencingToken: 0n, createdBy: alice.id });
      const rows = await auditRows(server, tenantId, "repos.create");
      expect(rows.at(-1)).toMatchObject({ outcome: "ALLOWED", resource: `repo:${repo.repoId}`, room_id: roomId });
    });

    it("changes a repo only under the caller's lock, storing its fencing token and refusing an older one", async () => {
      const { roomId, repoId, remote } = await newRepo({ "macros/a.js": ok(1) });
      await refused(repos(alice).updateRepo({ roomId, repoId, url: remote.url, ref: "", path: "other" }), Code.FailedPrecondition, "LOCK_REQUIRED");
      const first = (await lock(alice, roomId, repoId)).lock!;
      const changed = (await repos(alice).updateRepo({ roomId, repoId, url: remote.url, ref: "main", path: "other" })).repo!;
      expect(changed).toMatchObject({ ref: "main", path: "other", fencingToken: first.fencingToken });
      const detail = await refused(repos(bob).updateRepo({ roomId, repoId, url: remote.url, ref: "", path: "" }), Code.FailedPrecondition, "LOCK_REQUIRED");
      expect(detail.holder?.holderId).toBe(alice.id);
      await release(alice, roomId, repoId);
      const second = (await lock(bob, roomId, repoId)).lock!;
      await repos(bob).updateRepo({ roomId, repoId, url: remote.url, ref: "", path: "macros" });
      await release(bob, roomId, repoId);
      await lock(alice, roomId, repoId);
      // Alice acts under the token of her first lease, older than what bob stored.
      const stale = await refused(
        repos(alice).updateRepo({ roomId, repoId, url: remote.url, ref: "", path: "x", fencingToken: first.fencingToken }),
        Code.FailedPrecondition,
        "STALE_FENCING_TOKEN",
      );
      expect(stale.parentValue).toBe(second.fencingToken.toString());
      expect((await repos(alice).getRepo({ roomId, repoId })).repo?.path).toBe("macros");
      expect((await auditRows(server, tenantId, "repos.update")).some((r) => r.resource === `repo:${repoId}` && r.outcome === "ALLOWED")).toBe(true);
    });

    it.each([
      ["file:///etc/passwd", "url"],
      ["git://127.0.0.1/repo.git", "url"],
      ["ssh://git@example.com/repo.git", "url"],
      ["ftp://example.com/repo.git", "url"],
      ["https://user:secret@example.com/repo.git", "url"],
      ["https://example.com/repo.git?x=1", "url"],
      ["not a url", "url"],
    ])("refuses %s with INVALID_ARGUMENT naming the url", async (url, field) => {
      const roomId = await newRoom();
      const detail = await refused(repos(alice).updateRepo({ roomId, url, ref: "", path: "" }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(detail.field).toBe(field);
      expect(detail.attemptedValue).not.toContain("secret");
    });

    it.each(["..", "a/../b", ".git"])("refuses the path %s", async (path) => {
      const roomId = await newRoom();
      const detail = await refused(repos(alice).updateRepo({ roomId, url: "https://example.com/r.git", ref: "", path }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(detail.field).toBe("path");
    });

    it("refuses http:// to a host:port not listed explicitly, and hosts the room's policy does not allow", async () => {
      const roomId = await newRoom();
      const http = await refused(repos(alice).updateRepo({ roomId, url: "http://example.com/r.git", ref: "", path: "" }), Code.PermissionDenied, "NETWORK_NOT_ALLOWED");
      expect(http.attemptedValue).toBe("example.com:80");
      await client(god).policies.updateRoomPolicy({ roomId, policy: create(PolicySchema, { allowedHosts: list(git.hostPort) }) });
      const host = await refused(repos(alice).updateRepo({ roomId, url: "https://example.com/r.git", ref: "", path: "" }), Code.PermissionDenied, "NETWORK_NOT_ALLOWED");
      expect(host.attemptedValue).toBe("example.com");
    });
  });

  describe("ListRepos and GetRepo", () => {
    it("show a room's repos to room viewers with repos.read, paginated", async () => {
      const roomId = await newRoom();
      const remote = await git.createRepo(`l-${randomUUID().slice(0, 8)}`);
      for (const suffix of ["c", "a", "b"]) await repos(alice).updateRepo({ roomId, url: `${remote.url.replace(/\.git$/, "")}-${suffix}.git`, ref: "", path: "" });
      const page1 = await repos(reader).listRepos({ roomId, pageSize: 2 });
      expect(page1.repos.map((r) => r.url.slice(-6))).toEqual(["-a.git", "-b.git"]);
      const page2 = await repos(reader).listRepos({ roomId, pageSize: 2, pageToken: page1.nextPageToken });
      expect(page2.repos.map((r) => r.url.slice(-6))).toEqual(["-c.git"]);
      expect(page2.nextPageToken).toBe("");
      expect((await repos(reader).getRepo({ roomId, repoId: page2.repos[0]!.repoId })).repo?.url).toBe(page2.repos[0]!.url);
      await refused(repos(reader).updateRepo({ roomId, url: remote.url, ref: "", path: "" }), Code.PermissionDenied, "ROOM_ROLE_REQUIRED");
    });

    it("answers NOT_FOUND for another tenant's room and repo", async () => {
      const { roomId, repoId } = await newRepo({ "macros/a.js": ok(1) });
      await refused(repos(outsider).getRepo({ roomId, repoId }), Code.NotFound, "NOT_FOUND");
      await refused(repos(outsider).listRepos({ roomId }), Code.NotFound, "NOT_FOUND");
      await refused(repos(outsider).syncRepo({ roomId, repoId }), Code.NotFound, "NOT_FOUND");
      await refused(repos(outsider).deleteRepo({ roomId, repoId }), Code.NotFound, "NOT_FOUND");
      const otherRoom = await newRoom();
      await refused(repos(alice).getRepo({ roomId: otherRoom, repoId }), Code.NotFound, "NOT_FOUND");
    });
  });

  describe("SyncRepo", () => {
    it("imports the .js files under the path as macros, then updates and removes them after a new commit", async () => {
      const { roomId, repoId, remote, commit } = await newRepo({
        "macros/sum.js": ok(1),
        "macros/reports/daily.js": ok(2),
        "macros/gone.js": ok(3),
        "macros/notes.md": "not a macro",
        "elsewhere.js": ok(4),
      });
      const token = (await lock(alice, roomId, repoId)).lock!.fencingToken;
      const first = await repos(alice).syncRepo({ roomId, repoId });
      expect(first).toMatchObject({ commit, imported: ["macros/gone.js", "macros/reports/daily.js", "macros/sum.js"], removed: [], violations: [] });
      const imported = await macrosOf(roomId);
      expect(imported.map((m) => m.name)).toEqual(["gone", "reports/daily", "sum"]);
      for (const m of imported) {
        expect(m.source).toMatchObject({ kind: MacroSourceKind.REPO, repoId, commit, path: `macros/${m.name}.js` });
        expect(m.version).toBe(1);
      }
      const afterFirst = (await repos(alice).getRepo({ roomId, repoId })).repo!;
      expect(afterFirst).toMatchObject({ lastCommit: commit, lastError: "", fencingToken: token });
      expect(afterFirst.lastSyncedAt).toBeDefined();

      const next = await remote.commit({ "macros/sum.js": ok(10), "macros/gone.js": null, "macros/new.js": ok(5) });
      const second = await repos(alice).syncRepo({ roomId, repoId });
      expect(second).toMatchObject({ commit: next, imported: ["macros/new.js", "macros/sum.js"], removed: ["macros/gone.js"], violations: [] });
      const after = await macrosOf(roomId);
      expect(after.map((m) => [m.name, m.version, m.source?.commit])).toEqual([
        ["new", 1, next],
        ["reports/daily", 1, next],
        ["sum", 2, next],
      ]);
      expect(after.find((m) => m.name === "sum")?.code).toBe(ok(10));
      expect(after.find((m) => m.name === "sum")?.macroId).toBe(imported.find((m) => m.name === "sum")?.macroId);

      const audit = (await auditRows(server, tenantId, "repos.sync")).filter((r) => r.resource === `repo:${repoId}`);
      expect(audit.map((r) => [r.outcome, r.details?.outcome])).toEqual([
        ["ALLOWED", "imported"],
        ["ALLOWED", "imported"],
      ]);
      expect(audit[1]!.details).toMatchObject({ commit: next, removed: { items: ["macros/gone.js"], count: 1 } });
    });

    it("imports nothing when a file has an AST violation, answering each violation with file, line and column", async () => {
      const { roomId, repoId, remote, commit } = await newRepo({ "macros/a.js": ok(1), "macros/b.js": ok(2) });
      await lock(alice, roomId, repoId);
      await repos(alice).syncRepo({ roomId, repoId });
      const before = await snapshot(roomId);
      const bad = await remote.commit({
        "macros/a.js": ok(100),
        "macros/c.js": ok(3),
        "macros/evil.js": 'import fs from "node:fs";\nexport default function () { return fs; }\n',
        "macros/net.js": 'import { fetch } from "gatehouse:net";\n\nconst x = 1;\nexport default function () {}\n',
        "macros/b.js": null,
      });
      const res = await repos(alice).syncRepo({ roomId, repoId });
      expect(res.commit).toBe(bad);
      expect(res.imported).toEqual([]);
      expect(res.removed).toEqual([]);
      expect(res.violations.map((v) => [v.file, v.line, v.column, v.rule])).toEqual([
        ["macros/evil.js", 1, 16, "import-not-allowed"],
        ["macros/net.js", 1, 23, "import-not-allowed"],
        ["macros/net.js", 3, 1, "top-level-statement"],
      ]);
      expect(await snapshot(roomId)).toEqual(before);
      const repo = (await repos(alice).getRepo({ roomId, repoId })).repo!;
      expect(repo.lastCommit).toBe(commit);
      expect(repo.lastError).toContain("3 violations");
      expect(repo.lastError).toContain("macros/evil.js:1:16");
      const audit = (await auditRows(server, tenantId, "repos.sync")).filter((r) => r.resource === `repo:${repoId}`).at(-1)!;
      expect(audit.details).toMatchObject({ outcome: "violations", commit: bad, violations: 3 });

      await remote.commit({ "macros/evil.js": null, "macros/net.js": null });
      const fixed = await repos(alice).syncRepo({ roomId, repoId });
      expect(fixed.imported).toEqual(["macros/a.js", "macros/c.js"]);
      expect(fixed.removed).toEqual(["macros/b.js"]);
      expect((await repos(alice).getRepo({ roomId, repoId })).repo?.lastError).toBe("");
    });

    it("refuses an oversize file, too many files and an oversize repo, changing nothing and recording last_error", async () => {
      const { roomId, repoId, remote } = await newRepo({ "macros/a.js": ok(1) });
      await lock(alice, roomId, repoId);
      await repos(alice).syncRepo({ roomId, repoId });
      const before = await snapshot(roomId);

      await remote.commit({ "macros/a.js": ok(2), "macros/huge.js": `${ok(1)}//${"x".repeat(300 * 1024)}\n` });
      const file = await refused(repos(alice).syncRepo({ roomId, repoId }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(file.attemptedValue).toBe("macros/huge.js");
      expect(file.violations[0]).toMatchObject({ file: "macros/huge.js", rule: "too-large" });
      expect(await snapshot(roomId)).toEqual(before);
      expect((await repos(alice).getRepo({ roomId, repoId })).repo?.lastError).toContain("macros/huge.js");

      const many: Record<string, string | null> = { "macros/huge.js": null };
      for (let i = 0; i < 501; i++) many[`macros/many/m${i}.js`] = ok(i);
      await remote.commit(many);
      const count = await refused(repos(alice).syncRepo({ roomId, repoId }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(count.field).toBe("path");
      expect(await snapshot(roomId)).toEqual(before);

      const gone = Object.fromEntries(Object.keys(many).filter((k) => k.startsWith("macros/many/")).map((k) => [k, null]));
      await remote.commit({ ...gone, "assets/blob.bin": randomBytes(21 * 1024 * 1024) });
      const pack = await refused(repos(alice).syncRepo({ roomId, repoId }), Code.InvalidArgument, "INVALID_ARGUMENT");
      expect(pack.field).toBe("url");
      expect(await snapshot(roomId)).toEqual(before);
      expect((await repos(alice).getRepo({ roomId, repoId })).repo?.lastError).toContain("larger than");
      const failed = (await auditRows(server, tenantId, "repos.sync")).filter((r) => r.resource === `repo:${repoId}` && r.outcome === "FAILED");
      expect(failed).toHaveLength(3);
      expect(failed[0]!.reason).toBe("INVALID_ARGUMENT");
    }, 120_000);

    it("refuses a sync without the caller holding the repo's lock", async () => {
      const { roomId, repoId } = await newRepo({ "macros/a.js": ok(1) });
      await refused(repos(alice).syncRepo({ roomId, repoId }), Code.FailedPrecondition, "LOCK_REQUIRED");
      await lock(bob, roomId, repoId);
      const detail = await refused(repos(alice).syncRepo({ roomId, repoId }), Code.FailedPrecondition, "LOCK_REQUIRED");
      expect(detail.holder?.holderId).toBe(bob.id);
      expect(await macrosOf(roomId)).toEqual([]);
    });

    it("serializes concurrent syncs of one repo through the lock", async () => {
      const { roomId, repoId, remote } = await newRepo({ "macros/a.js": ok(1), "macros/b.js": ok(2) });
      await lock(alice, roomId, repoId);
      git.delayMs = 300;
      try {
        const syncing = repos(alice).syncRepo({ roomId, repoId });
        // While alice syncs, bob can neither take the lock nor sync.
        const locked = await refused(lock(bob, roomId, repoId), Code.FailedPrecondition, "LOCKED");
        expect(locked.holder?.holderId).toBe(alice.id);
        await refused(repos(bob).syncRepo({ roomId, repoId }), Code.FailedPrecondition, "LOCK_REQUIRED");
        expect((await syncing).imported).toEqual(["macros/a.js", "macros/b.js"]);
        // Two syncs by the holder run one after the other (the repo's row is locked for the
        // sync): one imports the new commit, the other then finds nothing left to do.
        await remote.commit({ "macros/c.js": ok(3) });
        const both = await Promise.all([repos(alice).syncRepo({ roomId, repoId }), repos(alice).syncRepo({ roomId, repoId })]);
        expect(both.map((r) => r.imported).sort((x, y) => x.length - y.length)).toEqual([[], ["macros/c.js"]]);
      } finally {
        git.delayMs = 0;
      }
      await release(alice, roomId, repoId);
      await lock(bob, roomId, repoId);
      expect((await repos(bob).syncRepo({ roomId, repoId })).imported).toEqual([]);
      expect((await macrosOf(roomId)).map((m) => [m.name, m.version])).toEqual([
        ["a", 1],
        ["b", 1],
        ["c", 1],
      ]);
    });

    it("does not overwrite a macro someone else holds the lock of", async () => {
      const { roomId, repoId, remote } = await newRepo({ "macros/a.js": ok(1) });
      await lock(alice, roomId, repoId);
      await repos(alice).syncRepo({ roomId, repoId });
      const [macro] = await macrosOf(roomId);
      await client(bob).locks.acquireLock({ roomId, target: `macro/${macro!.macroId}` });
      await remote.commit({ "macros/a.js": ok(2) });
      const detail = await refused(repos(alice).syncRepo({ roomId, repoId }), Code.FailedPrecondition, "LOCKED");
      expect(detail.holder?.holderId).toBe(bob.id);
      expect((await macrosOf(roomId))[0]?.code).toBe(ok(1));
    });

    it("keeps repo and macro fencing tokens apart: an imported macro is editable under its own lock, and then no longer the repo's", async () => {
      const { roomId, repoId } = await newRepo({ "macros/a.js": ok(1) });
      // Raise the repo's token above the macro's first token.
      for (let i = 0; i < 3; i++) {
        await lock(alice, roomId, repoId);
        await release(alice, roomId, repoId);
      }
      await lock(alice, roomId, repoId);
      await repos(alice).syncRepo({ roomId, repoId });
      const [macro] = await macrosOf(roomId);
      await client(alice).locks.acquireLock({ roomId, target: `macro/${macro!.macroId}` });
      const edited = (await client(alice).macros.updateMacros({ roomId, macros: [{ macroId: macro!.macroId, name: "a", code: ok(42) }] })).macros[0]!;
      expect(edited.source?.kind).toBe(MacroSourceKind.MANUAL);
      const res = await repos(alice).syncRepo({ roomId, repoId });
      expect(res.violations.map((v) => [v.file, v.rule])).toEqual([["macros/a.js", "name-taken"]]);
      expect((await macrosOf(roomId))[0]?.code).toBe(ok(42));
    });

    describe("refuses SSRF attempts before any connection", () => {
      it.each([
        (p: number) => `https://127.0.0.1:${p}/r.git`,
        (p: number) => `https://2130706433:${p}/r.git`,
        (p: number) => `https://0x7f000001:${p}/r.git`,
        (p: number) => `https://0177.0.0.1:${p}/r.git`,
        (p: number) => `https://127.1:${p}/r.git`,
        (p: number) => `https://[::1]:${p}/r.git`,
        (p: number) => `https://[::ffff:127.0.0.1]:${p}/r.git`,
        () => "https://169.254.169.254/latest/meta-data/",
        () => "https://[fd00:ec2::254]/latest/meta-data/",
        () => "https://10.0.0.1/r.git",
        () => "https://192.168.0.1/r.git",
        () => "https://172.16.0.1/r.git",
        () => "https://100.64.0.1/r.git",
        () => "https://0.0.0.0/r.git",
        () => "https://[fe80::1]/r.git",
        (p: number) => `http://127.0.0.1:${p}/r.git`,
      ])("as written in the url (%s)", async (urlOf) => {
        const roomId = await newRoom();
        await refused(repos(alice).updateRepo({ roomId, url: urlOf(counter.port), ref: "", path: "" }), Code.PermissionDenied, "NETWORK_NOT_ALLOWED");
        expect(counter.connections).toBe(0);
      });

      it("as resolved when syncing (a name that resolves to loopback), recording last_error", async () => {
        const roomId = await newRoom();
        const repo = (await repos(alice).updateRepo({ roomId, url: `https://localhost:${counter.port}/r.git`, ref: "", path: "" })).repo!;
        await lock(alice, roomId, repo.repoId);
        const detail = await refused(repos(alice).syncRepo({ roomId, repoId: repo.repoId }), Code.PermissionDenied, "NETWORK_NOT_ALLOWED");
        expect(detail.attemptedValue).toMatch(/^localhost → (127\.0\.0\.1|::1)$/);
        expect(counter.connections).toBe(0);
        expect((await repos(alice).getRepo({ roomId, repoId: repo.repoId })).repo?.lastError).toContain("network access not allowed");
        const audit = (await auditRows(server, tenantId, "repos.sync")).filter((r) => r.resource === `repo:${repo.repoId}`);
        expect(audit.map((r) => [r.outcome, r.reason])).toEqual([["DENIED", "NETWORK_NOT_ALLOWED"]]);
      });

      it("on a redirect to loopback", async () => {
        const { roomId, repoId, remote } = await newRepo({ "macros/a.js": ok(1) });
        git.redirects.set(`/${remote.name}.git/`, `http://127.0.0.1:${counter.port}/${remote.name}.git/info/refs?service=git-upload-pack`);
        try {
          await lock(alice, roomId, repoId);
          await refused(repos(alice).syncRepo({ roomId, repoId }), Code.PermissionDenied, "NETWORK_NOT_ALLOWED");
          expect(counter.connections).toBe(0);
          expect(await macrosOf(roomId)).toEqual([]);
        } finally {
          git.redirects.clear();
        }
      });
    });
  });

  describe("DeleteRepo", () => {
    it("deletes under the lock, keeping the imported macros as manual ones and releasing the lock", async () => {
      const { roomId, repoId } = await newRepo({ "macros/a.js": ok(1), "macros/b.js": ok(2) });
      await refused(repos(alice).deleteRepo({ roomId, repoId }), Code.FailedPrecondition, "LOCK_REQUIRED");
      await lock(alice, roomId, repoId);
      await repos(alice).syncRepo({ roomId, repoId });
      await repos(alice).deleteRepo({ roomId, repoId });
      await refused(repos(alice).getRepo({ roomId, repoId }), Code.NotFound, "NOT_FOUND");
      const kept = await macrosOf(roomId);
      expect(kept.map((m) => [m.name, m.code, m.version, m.source?.kind, m.source?.repoId])).toEqual([
        ["a", ok(1), 1, MacroSourceKind.MANUAL, ""],
        ["b", ok(2), 1, MacroSourceKind.MANUAL, ""],
      ]);
      expect((await client(alice).locks.getLock({ roomId, target: `repo/${repoId}` })).lock).toBeUndefined();
      const audit = (await auditRows(server, tenantId, "repos.delete")).filter((r) => r.resource === `repo:${repoId}`);
      expect(audit.map((r) => r.outcome)).toEqual(["FAILED", "ALLOWED"]);
      expect(audit[1]!.details).toMatchObject({ macrosKeptAsManual: { items: ["a", "b"], count: 2 } });
    });
  });
});
