import { DomainError, notFound } from "../../domain/errors.js";
import { LockedError } from "../../locks/errors.js";
import type { LockManager } from "../../locks/lock-manager.js";
import { lockScope } from "../../locks/lock-targets.js";
import { staleToken } from "../../locks/require-lock.js";
import type { MacroCache } from "../../macros/macro-cache.js";
import type { UrlPolicy } from "../../net/url-guard.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import type { FetchedRepo } from "../../repos/git-sync.js";
import { planImport, type ImportPlan, type ImportViolation } from "../../repos/repo-import.js";
import type { MacroStore } from "../../store/macros.js";
import type { RepoRecord, RepoStore } from "../../store/repos.js";
import type { Tx } from "../../store/tx.js";
import { actorUuid } from "../actor.js";
import { AuditedFailure, failingWith } from "../audited-failure.js";
import { outcome, type AuditFacts, type Call, type Outcome } from "../call.js";
import { listed, repoUnderLock, roomNetwork } from "./repo-access.js";

export interface SyncRepoDeps {
  repos: RepoStore;
  macros: MacroStore;
  locks: LockManager;
  policies: Pick<EffectivePolicies, "effectivePolicy" | "globalLayer" | "invalidate">;
  macroCache: Pick<MacroCache, "roomChanged">;
  /** fetchRepo fetches the repo's `*.js` files at its ref, every request through the URL guard (the sync caps bound). */
  fetchRepo(source: { url: string; ref: string; path: string; policy: UrlPolicy; signal: AbortSignal }): Promise<FetchedRepo>;
  /** maxFileBytes caps one file's size (the sync caps' maxFileBytes). */
  maxFileBytes: number;
  /**
   * inOwnTx runs `fn` in a tenant transaction of its own: the failure record
   * of a sync is written after the call's transaction rolled back.
   */
  inOwnTx<T>(tenantId: string, fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** SyncResult is what a sync imported, or the violations that stopped it (nothing imported then). */
export interface SyncResult {
  commit: string;
  imported: string[];
  removed: string[];
  violations: ImportViolation[];
}

function describeViolations(violations: readonly ImportViolation[]): string {
  const first = violations[0]!;
  const where = first.line > 0 ? `${first.file}:${first.line}:${first.column}` : first.file;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return `${violations.length} violation${violations.length === 1 ? "" : "s"}, nothing imported: ${where}: ${first.message}${more}`.slice(0, 1000);
}

/**
 * syncRepo imports the repo's `*.js` files as the room's macros, all or
 * nothing, under the repo's lock. It reads the repo and the room's policy,
 * fetches WITHOUT holding any row lock (a fetch may take many seconds), then
 * locks the repo and the room's macros only for its all-or-nothing write,
 * checking that nothing it relied on changed meanwhile. Violations import
 * nothing and are remembered on the repo; a failure is remembered after the
 * call's transaction rolled back.
 */
export async function syncRepo(deps: SyncRepoDeps, call: Call, input: { roomId: string; repoId: string; fencingToken?: bigint }): Promise<Outcome<SyncResult>> {
  const { principal } = call;
  const { roomId, repoId } = input;
  const facts: AuditFacts = { roomId, resource: `repo:${repoId}` };
  return failingWith(facts, async () => {
    // 1. What to fetch, and the right to write it: no row lock is taken here.
    const { repo, token, network } = await call.inTx(async (tx) => {
      const held = await repoUnderLock(deps, tx, principal, { roomId, repoId, sent: input.fencingToken, forUpdate: false });
      return { ...held, network: await roomNetwork(deps.policies, tx, principal.tenantId, roomId) };
    });
    let commit: string | undefined;
    try {
      // 2. The fetch.
      const fetched = await deps.fetchRepo({ url: repo.url, ref: repo.ref, path: repo.path, policy: network.url, signal: call.signal });
      commit = fetched.commit;
      // 3. The write, all or nothing, with the repo's and the room's macros' rows locked.
      return await call.inTx((tx) => writeSync(deps, call, tx, { roomId, repoId, repo, token, fetched, allowedImports: network.allowedImports }));
    } catch (err) {
      // The call's transaction rolls back: the failure is recorded after it, in a transaction of its own.
      const message = (err instanceof DomainError ? err.message : "internal error").slice(0, 1000);
      call.afterRollback(() => deps.inOwnTx(principal.tenantId, (tx) => deps.repos.recordFailure(tx, roomId, repoId, message, token)));
      throw new AuditedFailure(err, { ...facts, details: { outcome: "failed", ...(commit ? { commit } : {}), fencingToken: token.toString() } });
    }
  });
}

async function writeSync(
  deps: SyncRepoDeps,
  call: Call,
  tx: Tx,
  sync: { roomId: string; repoId: string; repo: RepoRecord; token: bigint; fetched: FetchedRepo; allowedImports: readonly string[] },
): Promise<Outcome<SyncResult>> {
  const { principal } = call;
  const { roomId, repoId, token, fetched } = sync;
  const { commit } = fetched;
  const facts: AuditFacts = { roomId, resource: `repo:${repoId}` };
  const now = await deps.repos.byId(tx, roomId, repoId, { forUpdate: true });
  if (!now) throw notFound("repo");
  if (token < now.fencingToken) throw staleToken(`repo/${repoId}`, token, now.fencingToken);
  if (now.url !== sync.repo.url || now.ref !== sync.repo.ref || now.path !== sync.repo.path) {
    throw new DomainError("aborted", "CONFLICT", "the repo's url, ref or path changed during the sync; sync again");
  }
  const existing = await deps.macros.lockRoom(tx, roomId);
  const plan = planImport(fetched.files, now.path, repoId, existing, sync.allowedImports, deps.maxFileBytes);
  if (plan.violations.length > 0) {
    // Nothing imported: the answer carries the violations, the repo remembers them.
    await deps.repos.recordRefusal(tx, roomId, repoId, describeViolations(plan.violations), token);
    return outcome(
      { commit, imported: [], removed: [], violations: plan.violations },
      {
        ...facts,
        details: { outcome: "violations", commit, fencingToken: token.toString(), violations: plan.violations.length, files: listed([...new Set(plan.violations.map((v) => v.file))]) },
      },
    );
  }
  await requireMacrosFree(deps.locks, call, roomId, plan);
  await applyPlan(deps.macros, tx, call, { roomId, repoId, commit, token, plan, versions: new Map(existing.map((m) => [m.id, m.version])) });
  await deps.repos.recordSynced(tx, roomId, repoId, commit, token);
  const imported = plan.macros.filter((m) => m.changed).map((m) => m.path);
  const removed = plan.removed.map((m) => m.path);
  if (plan.removed.length > 0) {
    call.afterCommit(async () => {
      for (const gone of plan.removed) await deps.policies.invalidate({ kind: "macro", tenantId: principal.tenantId, roomId, macroId: gone.id });
    });
  }
  call.afterCommit(() => deps.macroCache.roomChanged(principal.tenantId, roomId));
  return outcome(
    { commit, imported, removed, violations: [] },
    { ...facts, details: { outcome: "imported", commit, fencingToken: token.toString(), imported: listed(imported), removed: listed(removed), unchanged: plan.macros.length - imported.length } },
  );
}

/** requireMacrosFree refuses (LOCKED) when someone else holds the lock of a macro the sync would overwrite or remove. */
async function requireMacrosFree(locks: LockManager, call: Call, roomId: string, plan: ImportPlan): Promise<void> {
  const scope = lockScope(call.principal.tenantId, roomId);
  const touched = [...plan.macros.filter((m) => m.id !== undefined && m.changed).map((m) => m.id!), ...plan.removed.map((m) => m.id)];
  for (const macroId of touched) {
    const holder = await locks.get(scope, `macro/${macroId}`);
    if (holder && holder.ownerId !== call.principal.userId) throw new LockedError(holder);
  }
}

async function applyPlan(
  macros: MacroStore,
  tx: Tx,
  call: Call,
  sync: { roomId: string; repoId: string; commit: string; token: bigint; plan: ImportPlan; versions: Map<string, number> },
): Promise<void> {
  const { roomId, repoId, commit, token, plan } = sync;
  const by = actorUuid(call.principal);
  for (const gone of plan.removed) await macros.remove(tx, roomId, gone.id);
  // Every macro of this repo now comes from this commit, under this lock.
  await macros.markRepoSource(tx, roomId, repoId, commit, token);
  // Renames go through names no macro can have, so two macros may swap names.
  for (const m of plan.macros) {
    if (m.id !== undefined && m.renamed) await macros.rename(tx, roomId, m.id, `~sync~${m.id}`);
  }
  for (const m of plan.macros) {
    if (m.id === undefined) {
      await macros.insert(tx, { tenantId: call.principal.tenantId, roomId, name: m.name, code: m.code, by, source: { repoId, commit, path: m.path, fencingToken: token } });
    } else if (m.changed) {
      // The room's macros are locked: the version read is the one to bump.
      await macros.saveRepoEdit(tx, roomId, m.id, { name: m.name, code: m.code, version: (sync.versions.get(m.id) ?? 0) + 1, path: m.path, by });
    }
  }
}
