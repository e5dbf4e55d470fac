import { notFound } from "../../domain/errors.js";
import type { RepoPageCursor, RepoRecord, RepoStore } from "../../store/repos.js";
import type { Call } from "../call.js";

/** RepoPage is a page of a room's repos and where the next page starts, if there is one. */
export interface RepoPage {
  repos: RepoRecord[];
  next: RepoPageCursor | undefined;
}

/** listRepos answers a page of a room's repos in (url, id) order. */
export async function listRepos(
  deps: { repos: RepoStore },
  call: Call,
  input: { roomId: string; page: { after: RepoPageCursor | undefined; limit: number } },
): Promise<RepoPage> {
  const rows = await call.inTx((tx) => deps.repos.list(tx, input.roomId, { after: input.page.after, limit: input.page.limit + 1 }));
  const shown = rows.slice(0, input.page.limit);
  const last = shown[shown.length - 1];
  return { repos: shown, next: rows.length > input.page.limit && last ? { url: last.url, id: last.id } : undefined };
}

/** getRepo answers one repo of a room (NOT_FOUND when there is none). */
export async function getRepo(deps: { repos: RepoStore }, call: Call, input: { roomId: string; repoId: string }): Promise<RepoRecord> {
  const row = await call.inTx((tx) => deps.repos.byId(tx, input.roomId, input.repoId));
  if (!row) throw notFound("repo");
  return row;
}
