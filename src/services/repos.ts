import type { ServiceImpl } from "@connectrpc/connect";
import { ReposService } from "../../gen/gatehouse/v1/repos_pb.js";
import { deleteRepo, type DeleteRepoDeps } from "../app/repos/delete-repo.js";
import { getRepo, listRepos } from "../app/repos/read-repos.js";
import { syncRepo, type SyncRepoDeps } from "../app/repos/sync-repo.js";
import { updateRepo, type UpdateRepoDeps } from "../app/repos/update-repo.js";
import type { Resolver } from "../net/url-guard.js";
import { defaultSyncLimits, fetchRepoFiles, type SyncLimits } from "../repos/git-sync.js";
import { answered } from "./audited.js";
import { callOf } from "./call.js";
import { repoCursorOf, repoMessage, repoPageToken } from "./repo-messages.js";
import { pageOf } from "./support.js";

/** ReposServiceOptions let tests shrink the sync caps or answer DNS themselves. */
export interface ReposServiceOptions {
  /** limits override defaultSyncLimits. */
  limits?: Partial<SyncLimits>;
  /** resolve answers host names (default: the system resolver). */
  resolve?: Resolver;
}

/** ReposServiceDeps is what ReposService uses: its stores, locks, policies and the macro cache. */
export type ReposServiceDeps = UpdateRepoDeps & DeleteRepoDeps & Omit<SyncRepoDeps, "fetchRepo" | "maxFileBytes">;

/**
 * createReposService implements ReposService: repos of a room whose `*.js`
 * files SyncRepo imports as macros, all or nothing, under the repo's lock,
 * through the URL guard (src/net). See repos.proto for the contract. Each
 * handler maps its request to a use case of src/app/repos and its result back.
 */
export function createReposService(deps: ReposServiceDeps, options: ReposServiceOptions = {}): ServiceImpl<typeof ReposService> {
  const limits: SyncLimits = { ...defaultSyncLimits, ...options.limits };
  const syncDeps: SyncRepoDeps = {
    ...deps,
    fetchRepo: (source) => fetchRepoFiles({ ...source, limits, resolve: options.resolve }),
    maxFileBytes: limits.maxFileBytes,
  };
  return {
    async listRepos(req, ctx) {
      const page = pageOf(req);
      const found = await listRepos(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), page: { after: repoCursorOf(page.after), limit: page.limit } });
      return { repos: found.repos.map(repoMessage), nextPageToken: repoPageToken(found.next) };
    },

    async getRepo(req, ctx) {
      return { repo: repoMessage(await getRepo(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), repoId: req.repoId.toLowerCase() })) };
    },

    async updateRepo(req, ctx) {
      const change = { roomId: req.roomId.toLowerCase(), repoId: req.repoId?.toLowerCase(), url: req.url, ref: req.ref, path: req.path, fencingToken: req.fencingToken };
      return { repo: repoMessage(await answered(ctx, updateRepo(deps, callOf(ctx), change))) };
    },

    async deleteRepo(req, ctx) {
      await answered(ctx, deleteRepo(deps, callOf(ctx), { roomId: req.roomId.toLowerCase(), repoId: req.repoId.toLowerCase(), fencingToken: req.fencingToken }));
      return {};
    },

    async syncRepo(req, ctx) {
      const target = { roomId: req.roomId.toLowerCase(), repoId: req.repoId.toLowerCase(), fencingToken: req.fencingToken };
      return answered(ctx, syncRepo(syncDeps, callOf(ctx), target));
    },
  };
}
