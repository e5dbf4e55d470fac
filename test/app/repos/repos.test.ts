import { describe, expect, it } from "vitest";
import { AuditedFailure } from "../../../src/app/audited-failure.js";
import type { AfterCommit } from "../../../src/context.js";
import { deleteRepo } from "../../../src/app/repos/delete-repo.js";
import { listRepos } from "../../../src/app/repos/read-repos.js";
import { syncRepo, type SyncRepoDeps } from "../../../src/app/repos/sync-repo.js";
import { maxReposPerRoom, updateRepo } from "../../../src/app/repos/update-repo.js";
import { lockScope } from "../../../src/locks/lock-targets.js";
import type { FetchedRepo } from "../../../src/repos/git-sync.js";
import type { Tx } from "../../../src/store/tx.js";
import { testCall, type TestCall } from "../../support/app-call.js";
import { memoryMacroStore } from "../../support/memory-stores/macros.js";
import { fakePolicies, memoryLocks, releasedTargets } from "../../support/memory-stores/macro-deps.js";
import { memoryRepoStore } from "../../support/memory-stores/repos.js";

const roomId = "00000000-0000-4000-8000-0000000000cc";
const url = "https://git.example.com/team/macros.git";

/** syncCall is a TestCall that knows whether a transaction is in progress and keeps after-rollback work. */
function syncCall(): TestCall & { inTransaction: () => boolean; rollback: () => Promise<void> } {
  const base = testCall();
  let open = 0;
  const rollbacks: AfterCommit[] = [];
  return {
    ...base,
    inTx: async (fn) => {
      open += 1;
      try {
        return await fn(undefined as unknown as Tx);
      } finally {
        open -= 1;
      }
    },
    afterRollback: (work) => void rollbacks.push(work),
    inTransaction: () => open > 0,
    rollback: async () => {
      for (const work of rollbacks.splice(0)) await work();
    },
  };
}

const file = (path: string, code: string) => ({ path, content: Buffer.from(code) });
const fn = (n: number) => `export default function () { return ${n}; }`;

function setup() {
  const fetches: Array<{ during: boolean }> = [];
  let next: FetchedRepo | Error = { commit: "c".repeat(40), files: [] };
  const changedRooms: string[] = [];
  let call: ReturnType<typeof syncCall> | undefined;
  const deps: SyncRepoDeps & { repos: ReturnType<typeof memoryRepoStore>; macros: ReturnType<typeof memoryMacroStore>; lockTargets: ReturnType<typeof releasedTargets> } = {
    repos: memoryRepoStore(),
    macros: memoryMacroStore(),
    locks: memoryLocks(),
    lockTargets: releasedTargets(),
    policies: fakePolicies({ allowedHosts: ["git.example.com"] }),
    macroCache: { roomChanged: async (_t, r) => void changedRooms.push(r) },
    async fetchRepo() {
      fetches.push({ during: call?.inTransaction() ?? false });
      if (next instanceof Error) throw next;
      return next;
    },
    maxFileBytes: 64 * 1024,
    inOwnTx: (_tenantId, work) => work(undefined as unknown as Tx),
  };
  const start = async () => {
    call = syncCall();
    const repo = (await updateRepo(deps, call, { roomId, url, ref: "main", path: "macros" })).value;
    const lease = await deps.locks.acquire(lockScope(call.principal.tenantId, roomId), `repo/${repo.id}`, { id: call.principal.userId, name: "tester" }, 60_000);
    return { call, repo, token: lease.fencingToken };
  };
  return { deps, fetches, changedRooms, start, answer: (r: FetchedRepo | Error) => void (next = r) };
}

describe("updateRepo and listRepos", () => {
  it("creates a repo with the create action in its facts, bounds a room's repos, and pages by url then id", async () => {
    const { deps } = setup();
    const call = testCall();
    const made = await updateRepo(deps, call, { roomId, url, ref: "main", path: "/macros/" });
    expect(made.value).toMatchObject({ url, ref: "main", path: "macros" });
    expect(made.audit).toEqual({ action: "repos.create", roomId, resource: `repo:${made.value.id}`, details: { url, ref: "main", path: "macros" } });
    for (let i = 1; i < maxReposPerRoom; i++) await updateRepo(deps, call, { roomId, url, ref: "", path: "" });
    const refused = await updateRepo(deps, call, { roomId, url, ref: "", path: "" }).catch((e: unknown) => e);
    expect(refused).toMatchObject({ audit: { action: "repos.create", roomId }, error: { reason: "RESOURCE_EXHAUSTED" } });
    const page = await listRepos(deps, call, { roomId, page: { after: undefined, limit: 60 } });
    expect(page.repos).toHaveLength(60);
    const rest = await listRepos(deps, call, { roomId, page: { after: page.next, limit: 60 } });
    expect([rest.repos.length, rest.next]).toEqual([40, undefined]);
  });
});

describe("syncRepo", () => {
  it("fetches outside any transaction, then imports the files as macros in one", async () => {
    const { deps, fetches, changedRooms, start, answer } = setup();
    const { call, repo, token } = await start();
    answer({ commit: "a".repeat(40), files: [file("macros/one.js", fn(1)), file("macros/sub/two.js", fn(2))] });
    const done = await syncRepo(deps, call, { roomId, repoId: repo.id });
    expect(fetches).toEqual([{ during: false }]);
    expect(done.value).toEqual({ commit: "a".repeat(40), imported: ["macros/one.js", "macros/sub/two.js"], removed: [], violations: [] });
    expect(done.audit).toMatchObject({ roomId, resource: `repo:${repo.id}`, details: { outcome: "imported", fencingToken: token.toString(), unchanged: 0 } });
    expect([...deps.macros.rows.values()].map((m) => [m.name, m.sourceKind, m.sourcePath, m.sourceCommit]).sort()).toEqual([
      ["one", "repo", "macros/one.js", "a".repeat(40)],
      ["sub/two", "repo", "macros/sub/two.js", "a".repeat(40)],
    ]);
    expect(deps.repos.rows.get(repo.id)).toMatchObject({ lastCommit: "a".repeat(40), lastError: null, fencingToken: token });
    await call.commit();
    expect(changedRooms).toEqual([roomId]);
  });

  it("swaps two macros' names, bumps changed versions and removes macros whose files are gone", async () => {
    const { deps, start, answer } = setup();
    const { call, repo } = await start();
    answer({ commit: "a".repeat(40), files: [file("macros/a.js", fn(1)), file("macros/b.js", fn(2)), file("macros/c.js", fn(3))] });
    await syncRepo(deps, call, { roomId, repoId: repo.id });
    const byName = (name: string) => [...deps.macros.rows.values()].find((m) => m.name === name)!;
    const [a, b] = [byName("a"), byName("b")];
    answer({ commit: "b".repeat(40), files: [file("macros/a.js", fn(2)), file("macros/b.js", fn(1))] });
    const done = await syncRepo(deps, call, { roomId, repoId: repo.id });
    expect(done.value).toMatchObject({ imported: ["macros/a.js", "macros/b.js"], removed: ["macros/c.js"] });
    expect([byName("a").id, byName("a").version, byName("b").id, byName("b").version]).toEqual([a.id, 2, b.id, 2]);
    expect(deps.macros.rows.size).toBe(2);
    expect((deps.policies as ReturnType<typeof fakePolicies>).invalidated).toEqual([]);
    await call.commit();
    expect((deps.policies as ReturnType<typeof fakePolicies>).invalidated).toHaveLength(1);
  });

  it("imports nothing when a file breaks the rules, and the repo remembers why", async () => {
    const { deps, start, answer } = setup();
    const { call, repo } = await start();
    answer({ commit: "a".repeat(40), files: [file("macros/ok.js", fn(1)), file("macros/bad.js", "import fs from 'fs'; export default function () { return 1; }")] });
    const done = await syncRepo(deps, call, { roomId, repoId: repo.id });
    expect(done.value.violations.map((v) => v.file)).toContain("macros/bad.js");
    expect(done.audit?.details).toMatchObject({ outcome: "violations" });
    expect(deps.macros.rows.size).toBe(0);
    expect(deps.repos.rows.get(repo.id)!.lastError).toMatch(/nothing imported: macros\/bad\.js/);
  });

  it("records a failed fetch after the rollback, with the failure's facts", async () => {
    const { deps, start, answer } = setup();
    const { call, repo, token } = await start();
    answer(new Error("connection reset"));
    const err = await syncRepo(deps, call, { roomId, repoId: repo.id }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuditedFailure);
    expect(err).toMatchObject({ audit: { roomId, resource: `repo:${repo.id}`, details: { outcome: "failed", fencingToken: token.toString() } } });
    expect(deps.repos.rows.get(repo.id)!.lastError).toBeNull();
    await call.rollback();
    expect(deps.repos.rows.get(repo.id)!.lastError).toBe("internal error");
  });

  it("refuses to write what it fetched when the repo's settings changed during the fetch", async () => {
    const { deps, start } = setup();
    const { call, repo } = await start();
    deps.fetchRepo = async () => {
      deps.repos.rows.get(repo.id)!.ref = "other";
      return { commit: "a".repeat(40), files: [file("macros/x.js", fn(1))] };
    };
    await expect(syncRepo(deps, call, { roomId, repoId: repo.id })).rejects.toMatchObject({ error: { reason: "CONFLICT" } });
    expect(deps.macros.rows.size).toBe(0);
  });

  it("needs the repo's lock before it fetches anything", async () => {
    const { deps, fetches } = setup();
    const call = syncCall();
    const repo = (await updateRepo(deps, call, { roomId, url, ref: "main", path: "macros" })).value;
    await expect(syncRepo(deps, call, { roomId, repoId: repo.id })).rejects.toMatchObject({ error: { reason: "LOCK_REQUIRED" } });
    expect(fetches).toEqual([]);
  });
});

describe("deleteRepo", () => {
  it("keeps the imported macros as manual ones and lets the repo's lock go", async () => {
    const { deps, start, answer } = setup();
    const { call, repo, token } = await start();
    answer({ commit: "a".repeat(40), files: [file("macros/kept.js", fn(1))] });
    await syncRepo(deps, call, { roomId, repoId: repo.id });
    const done = await deleteRepo(deps, call, { roomId, repoId: repo.id });
    expect(done.audit).toEqual({ roomId, resource: `repo:${repo.id}`, details: { url, fencingToken: token.toString(), macrosKeptAsManual: { items: ["kept"], count: 1 } } });
    expect([...deps.macros.rows.values()].map((m) => [m.name, m.sourceKind])).toEqual([["kept", "manual"]]);
    expect(deps.repos.rows.has(repo.id)).toBe(false);
    expect(deps.lockTargets.released).toEqual([`${roomId}:repo/${repo.id}`]);
  });
});
