import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { ReposService } from "../../gen/gatehouse/v1/repos_pb.js";
import type { Deps } from "../deps.js";
import { DomainError, notFound } from "../domain/errors.js";
import { LockedError } from "../locks/errors.js";
import { lockScope } from "../locks/lock-targets.js";
import { staleToken, writeToken } from "../locks/require-lock.js";
import { explicitEntries, type Resolver, type UrlPolicy } from "../net/url-guard.js";
import { defaultSyncLimits, fetchRepoFiles, type SyncLimits } from "../repos/git-sync.js";
import { planImport, type ExistingMacro, type ImportViolation } from "../repos/repo-import.js";
import { repoById, repoMessage, type RepoRow } from "../repos/repo-rows.js";
import { checkRef, normalizePath, normalizeRepoUrl } from "../repos/repo-settings.js";
import { actorUuid, afterCommit, afterRollback, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, transactionOf } from "./support.js";

/** maxReposPerRoom bounds how many repos one room may have. */
export const maxReposPerRoom = 100;

/** ReposServiceOptions let tests shrink the sync caps or answer DNS themselves. */
export interface ReposServiceOptions {
  /** limits override defaultSyncLimits. */
  limits?: Partial<SyncLimits>;
  /** resolve answers host names (default: the system resolver). */
  resolve?: Resolver;
}

interface RoomNetwork {
  url: UrlPolicy;
  allowedImports: readonly string[];
}

/** listed keeps audit details small: the first items and how many there were. */
function listed(items: readonly string[], max = 50): { items: string[]; count: number } {
  return { items: items.slice(0, max), count: items.length };
}

function describeViolations(violations: readonly ImportViolation[]): string {
  const first = violations[0]!;
  const where = first.line > 0 ? `${first.file}:${first.line}:${first.column}` : first.file;
  const more = violations.length > 1 ? ` (and ${violations.length - 1} more)` : "";
  return `${violations.length} violation${violations.length === 1 ? "" : "s"}, nothing imported: ${where}: ${first.message}${more}`.slice(0, 1000);
}

/**
 * createReposService implements ReposService: repos of a room whose `*.js`
 * files SyncRepo imports as macros, all or nothing, under the repo's lock,
 * through the URL guard (src/net). See repos.proto for the contract.
 */
export function createReposService(deps: Deps, options: ReposServiceOptions = {}): ServiceImpl<typeof ReposService> {
  const limits: SyncLimits = { ...defaultSyncLimits, ...options.limits };

  /** roomNetwork reads the room's effective policy (global and room layers) as the guard needs it. */
  const roomNetwork = async (em: EntityManager, tenantId: string, roomId: string): Promise<RoomNetwork> => {
    const merged = await deps.policies.effectivePolicy(em, { tenantId, roomId });
    const global = await deps.policies.globalLayer(em);
    return {
      url: { allowedHosts: merged.policy.allowedHosts, explicitHostPorts: explicitEntries(global.allowedHosts ?? []) },
      allowedImports: merged.policy.allowedImports,
    };
  };

  /** locked answers the repo (NOT_FOUND), checks the caller holds its lock and answers the token to store. */
  const underLock = async (ctx: HandlerContext, roomId: string, repoId: string, sent: bigint | undefined): Promise<{ repo: RepoRow; token: bigint }> => {
    const principal = principalOf(ctx);
    const tx = transactionOf(ctx);
    if (!(await repoById(tx, roomId, repoId))) throw notFound("repo");
    const target = `repo/${repoId}`;
    const token = await writeToken(deps.locks, principal, roomId, target, sent);
    // The row lock serializes writes of one repo (two syncs of the same holder too).
    const repo = await repoById(tx, roomId, repoId, true);
    if (!repo) throw notFound("repo");
    if (token < BigInt(repo.fencing_token)) throw staleToken(target, token, BigInt(repo.fencing_token));
    return { repo, token };
  };

  return {
    async listRepos(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      const page = pageOf(req);
      let after: [string, string] | undefined;
      if (page.after !== undefined) {
        const cut = page.after.lastIndexOf("\n");
        if (cut < 0) throw new DomainError("invalid_argument", "INVALID_ARGUMENT", "page_token: is not a token this server issued", { field: "page_token" });
        after = [page.after.slice(0, cut), page.after.slice(cut + 1)];
      }
      const rows = (await inCallerTenant(ctx, deps, (em) =>
        em.execute(`select * from repos where room_id = ?${after ? " and (url, id::text) > (?, ?)" : ""} order by url, id::text limit ?`, [
          roomId,
          ...(after ?? []),
          page.limit + 1,
        ]),
      )) as RepoRow[];
      const more = rows.length > page.limit;
      const shown = rows.slice(0, page.limit);
      const last = shown[shown.length - 1];
      return { repos: shown.map(repoMessage), nextPageToken: more && last ? pageToken(`${last.url}\n${last.id}`) : "" };
    },

    async getRepo(req, ctx) {
      const roomId = req.roomId.toLowerCase();
      const repoId = req.repoId.toLowerCase();
      const row = await inCallerTenant(ctx, deps, (em) => repoById(em, roomId, repoId));
      if (!row) throw notFound("repo");
      return { repo: repoMessage(row) };
    },

    async updateRepo(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const tx = transactionOf(ctx);
      const note = auditNoteOf(ctx);
      note.roomId = roomId;
      if (req.repoId === undefined) {
        note.action = "repos.create";
        const network = await roomNetwork(tx, principal.tenantId, roomId);
        const url = normalizeRepoUrl(req.url, network.url);
        const ref = checkRef(req.ref);
        const path = normalizePath(req.path);
        const [{ count }] = (await tx.execute("select count(*)::int as count from repos where room_id = ?", [roomId])) as [{ count: number }];
        if (count >= maxReposPerRoom) throw new DomainError("resource_exhausted", "RESOURCE_EXHAUSTED", `a room has at most ${maxReposPerRoom} repos`);
        const [row] = (await tx.execute("insert into repos (tenant_id, room_id, url, ref, path, created_by) values (?, ?, ?, ?, ?, ?) returning *", [
          principal.tenantId,
          roomId,
          url,
          ref,
          path,
          actorUuid(principal),
        ])) as RepoRow[];
        note.resource = `repo:${row!.id}`;
        note.details = { url, ref, path };
        return { repo: repoMessage(row!) };
      }
      note.action = "repos.update";
      const repoId = req.repoId.toLowerCase();
      note.resource = `repo:${repoId}`;
      const { repo, token } = await underLock(ctx, roomId, repoId, req.fencingToken);
      const network = await roomNetwork(tx, principal.tenantId, roomId);
      const url = normalizeRepoUrl(req.url, network.url);
      const ref = checkRef(req.ref);
      const path = normalizePath(req.path);
      const [row] = (await tx.execute(
        "update repos set url = ?, ref = ?, path = ?, fencing_token = ?, updated_at = now() where room_id = ? and id = ? returning *",
        [url, ref, path, token.toString(), roomId, repoId],
      )) as RepoRow[];
      note.details = { url, ref, path, fencingToken: token.toString(), previous: { url: repo.url, ref: repo.ref, path: repo.path } };
      return { repo: repoMessage(row!) };
    },

    async deleteRepo(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const repoId = req.repoId.toLowerCase();
      const tx = transactionOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "repos.delete";
      note.resource = `repo:${repoId}`;
      note.roomId = roomId;
      const { repo, token } = await underLock(ctx, roomId, repoId, req.fencingToken);
      // Imported macros stay, as manual macros: nobody's code disappears with a repo setting.
      const kept = (await tx.execute(
        `update macros set source_kind = 'manual', source_repo_id = null, source_commit = null, source_path = null, source_fencing_token = 0, updated_at = now()
          where room_id = ? and source_repo_id = ? returning name`,
        [roomId, repoId],
      )) as Array<{ name: string }>;
      await tx.execute("delete from repos where room_id = ? and id = ?", [roomId, repoId]);
      const target = `repo/${repoId}`;
      await tx.execute("update lock_targets set held = false where room_id = ? and target = ? and last_owner_id = ?", [roomId, target, principal.userId]);
      afterCommit(ctx, () => deps.locks.release(lockScope(principal.tenantId, roomId), target, principal.userId).catch(() => undefined));
      afterCommit(ctx, () => deps.macroCache.roomChanged(principal.tenantId, roomId));
      note.details = { url: repo.url, fencingToken: token.toString(), macrosKeptAsManual: listed(kept.map((m) => m.name)) };
      return {};
    },

    async syncRepo(req, ctx) {
      const principal = principalOf(ctx);
      const roomId = req.roomId.toLowerCase();
      const repoId = req.repoId.toLowerCase();
      const tx = transactionOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "repos.sync";
      note.resource = `repo:${repoId}`;
      note.roomId = roomId;
      const { repo, token } = await underLock(ctx, roomId, repoId, req.fencingToken);
      const scope = lockScope(principal.tenantId, roomId);
      let commit: string | undefined;
      try {
        const network = await roomNetwork(tx, principal.tenantId, roomId);
        const fetched = await fetchRepoFiles({
          url: repo.url,
          ref: repo.ref,
          path: repo.path,
          policy: network.url,
          limits,
          signal: ctx.signal,
          resolve: options.resolve,
        });
        commit = fetched.commit;
        const existing = (
          (await tx.execute("select id, name, code, source_kind, source_repo_id, source_path from macros where room_id = ? for update", [roomId])) as Array<{
            id: string;
            name: string;
            code: string;
            source_kind: "manual" | "repo";
            source_repo_id: string | null;
            source_path: string | null;
          }>
        ).map(
          (m): ExistingMacro => ({ id: m.id, name: m.name, code: m.code, sourceKind: m.source_kind, sourceRepoId: m.source_repo_id, sourcePath: m.source_path }),
        );
        const plan = planImport(fetched.files, repo.path, repoId, existing, network.allowedImports, limits.maxFileBytes);

        if (plan.violations.length > 0) {
          // Nothing imported: the answer carries the violations, the repo remembers them.
          await tx.execute("update repos set last_error = ?, fencing_token = ? where room_id = ? and id = ?", [
            describeViolations(plan.violations),
            token.toString(),
            roomId,
            repoId,
          ]);
          note.details = { outcome: "violations", commit, fencingToken: token.toString(), violations: plan.violations.length, files: listed([...new Set(plan.violations.map((v) => v.file))]) };
          return { commit, imported: [], removed: [], violations: plan.violations };
        }

        // A macro someone else is editing under its own lock is not overwritten or removed.
        const touched = [...plan.macros.filter((m) => m.id !== undefined && m.changed).map((m) => m.id!), ...plan.removed.map((m) => m.id)];
        for (const macroId of touched) {
          const holder = await deps.locks.get(scope, `macro/${macroId}`);
          if (holder && holder.ownerId !== principal.userId) throw new LockedError(holder);
        }

        for (const gone of plan.removed) {
          await tx.execute("delete from macro_policies where room_id = ? and macro_id = ?", [roomId, gone.id]);
          await tx.execute("delete from macros where room_id = ? and id = ?", [roomId, gone.id]);
        }
        // Every macro of this repo now comes from this commit, under this lock.
        await tx.execute("update macros set source_commit = ?, source_fencing_token = ? where room_id = ? and source_kind = 'repo' and source_repo_id = ?", [
          commit,
          token.toString(),
          roomId,
          repoId,
        ]);
        // Renames go through names no macro can have, so two macros may swap names.
        for (const m of plan.macros) {
          if (m.id !== undefined && m.renamed) await tx.execute("update macros set name = ? where room_id = ? and id = ?", [`~sync~${m.id}`, roomId, m.id]);
        }
        for (const m of plan.macros) {
          if (m.id === undefined) {
            await tx.execute(
              `insert into macros (tenant_id, room_id, name, code, source_kind, source_repo_id, source_commit, source_path, source_fencing_token, created_by, updated_by)
               values (?, ?, ?, ?, 'repo', ?, ?, ?, ?, ?, ?)`,
              [principal.tenantId, roomId, m.name, m.code, repoId, commit, m.path, token.toString(), actorUuid(principal), actorUuid(principal)],
            );
          } else if (m.changed) {
            await tx.execute(
              `update macros set name = ?, code = ?, version = version + 1, source_path = ?, updated_by = ?, updated_at = now()
                where room_id = ? and id = ?`,
              [m.name, m.code, m.path, actorUuid(principal), roomId, m.id],
            );
          }
        }
        await tx.execute("update repos set last_commit = ?, last_synced_at = now(), last_error = null, fencing_token = ? where room_id = ? and id = ?", [
          commit,
          token.toString(),
          roomId,
          repoId,
        ]);
        const imported = plan.macros.filter((m) => m.changed).map((m) => m.path);
        const removed = plan.removed.map((m) => m.path);
        note.details = { outcome: "imported", commit, fencingToken: token.toString(), imported: listed(imported), removed: listed(removed), unchanged: plan.macros.length - imported.length };
        if (plan.removed.length > 0) {
          afterCommit(ctx, async () => {
            for (const gone of plan.removed) await deps.policies.invalidate({ kind: "macro", tenantId: principal.tenantId, roomId, macroId: gone.id });
          });
        }
        afterCommit(ctx, () => deps.macroCache.roomChanged(principal.tenantId, roomId));
        return { commit, imported, removed, violations: [] };
      } catch (err) {
        // The call's transaction rolls back: record the failure after it, in a transaction of its own.
        const message = (err instanceof DomainError ? err.message : "internal error").slice(0, 1000);
        note.details = { outcome: "failed", ...(commit ? { commit } : {}), fencingToken: token.toString() };
        afterRollback(ctx, () =>
          deps.db
            .inTenant(principal.tenantId, (em) =>
              em.execute("update repos set last_error = ? where room_id = ? and id = ? and fencing_token <= ?", [message, roomId, repoId, token.toString()]),
            )
            .then(() => undefined),
        );
        throw err;
      }
    },
  };
}
