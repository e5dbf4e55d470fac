import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { RepoSchema, type Repo } from "../../gen/gatehouse/v1/repos_pb.js";
import { DomainError } from "../domain/errors.js";
import { isUuid } from "../domain/ids.js";
import type { RepoPageCursor, RepoRecord } from "../store/repos.js";
import { pageToken } from "./support.js";

/** repoMessage renders a stored repo as the API's Repo. */
export function repoMessage(row: RepoRecord): Repo {
  return create(RepoSchema, {
    repoId: row.id,
    tenantId: row.tenantId,
    roomId: row.roomId,
    url: row.url,
    ref: row.ref,
    path: row.path,
    lastCommit: row.lastCommit ?? "",
    lastSyncedAt: row.lastSyncedAt ? timestampFromDate(new Date(row.lastSyncedAt)) : undefined,
    fencingToken: row.fencingToken,
    createdBy: row.createdBy ?? "",
    createdAt: timestampFromDate(new Date(row.createdAt)),
    updatedAt: timestampFromDate(new Date(row.updatedAt)),
    lastError: row.lastError ?? "",
  });
}

/** repoCursorOf reads the cursor of a ListRepos page token (`url\nid`, as repoPageToken wrote it). */
export function repoCursorOf(after: string | undefined): RepoPageCursor | undefined {
  if (after === undefined) return undefined;
  const cut = after.lastIndexOf("\n");
  // Tokens this server issued end in a repo id; anything else is refused before it reaches a query.
  if (cut < 0 || !isUuid(after.slice(cut + 1))) throw new DomainError("invalid_argument", "INVALID_ARGUMENT", "page_token: is not a token this server issued", { field: "page_token" });
  return { url: after.slice(0, cut), id: after.slice(cut + 1) };
}

/** repoPageToken writes the page token of the page after `next`. */
export function repoPageToken(next: RepoPageCursor | undefined): string {
  return next ? pageToken(`${next.url}\n${next.id}`) : "";
}
