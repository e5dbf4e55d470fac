import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { EntityManager } from "@mikro-orm/postgresql";
import { RepoSchema, type Repo } from "../../gen/gatehouse/v1/repos_pb.js";

/** RepoRow is a row of `repos`. */
export interface RepoRow {
  id: string;
  tenant_id: string;
  room_id: string;
  url: string;
  ref: string;
  path: string;
  last_commit: string | null;
  last_synced_at: Date | string | null;
  last_error: string | null;
  fencing_token: string | number;
  created_by: string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

/** repoById reads one repo of a room (row-level security scopes it to the tenant). */
export async function repoById(em: EntityManager, roomId: string, repoId: string, forUpdate = false): Promise<RepoRow | undefined> {
  const rows = (await em.execute(`select * from repos where room_id = ? and id = ?${forUpdate ? " for update" : ""}`, [roomId, repoId])) as RepoRow[];
  return rows[0];
}

/** repoMessage renders a row as the API's Repo. */
export function repoMessage(row: RepoRow): Repo {
  return create(RepoSchema, {
    repoId: row.id,
    tenantId: row.tenant_id,
    roomId: row.room_id,
    url: row.url,
    ref: row.ref,
    path: row.path,
    lastCommit: row.last_commit ?? "",
    lastSyncedAt: row.last_synced_at ? timestampFromDate(new Date(row.last_synced_at)) : undefined,
    fencingToken: BigInt(row.fencing_token),
    createdBy: row.created_by ?? "",
    createdAt: timestampFromDate(new Date(row.created_at)),
    updatedAt: timestampFromDate(new Date(row.updated_at)),
    lastError: row.last_error ?? "",
  });
}
