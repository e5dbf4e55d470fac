import { LockMode, sql } from "@mikro-orm/core";
import { RepoSchema, type RepoEntity } from "./entities/repo.js";
import type { Tx } from "./tx.js";

/** RepoRecord is a stored repo setting and how its last sync went. */
export interface RepoRecord {
  id: string;
  tenantId: string;
  roomId: string;
  url: string;
  ref: string;
  path: string;
  lastCommit: string | null;
  lastSyncedAt: Date | null;
  lastError: string | null;
  /** fencingToken is the highest lock token a write of this repo stored. */
  fencingToken: bigint;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** RepoSettings are what a caller sets on a repo. */
export interface RepoSettings {
  url: string;
  ref: string;
  path: string;
}

/** RepoPageCursor is where a page of repos (in url, then id order) continues. */
export interface RepoPageCursor {
  url: string;
  id: string;
}

/**
 * RepoStore owns `repos`. Every method runs in the caller's tenant-scoped
 * transaction: row-level security keeps it to the tenant.
 */
export interface RepoStore {
  /** byId reads one repo of a room; forUpdate locks its row until the transaction ends. */
  byId(tx: Tx, roomId: string, repoId: string, options?: { forUpdate?: boolean }): Promise<RepoRecord | undefined>;
  /** list answers up to `limit` repos of a room in (url, id) order, after `after`. */
  list(tx: Tx, roomId: string, page: { after?: RepoPageCursor; limit: number }): Promise<RepoRecord[]>;
  countInRoom(tx: Tx, roomId: string): Promise<number>;
  insert(tx: Tx, repo: RepoSettings & { tenantId: string; roomId: string; createdBy: string | null }): Promise<RepoRecord>;
  /** update stores new settings under a lock token and answers the row. */
  update(tx: Tx, roomId: string, repoId: string, settings: RepoSettings, fencingToken: bigint): Promise<RepoRecord>;
  remove(tx: Tx, roomId: string, repoId: string): Promise<void>;
  /** recordRefusal remembers why a sync imported nothing (its violations), under its lock token. */
  recordRefusal(tx: Tx, roomId: string, repoId: string, lastError: string, fencingToken: bigint): Promise<void>;
  /** recordSynced remembers the commit a sync imported, under its lock token. */
  recordSynced(tx: Tx, roomId: string, repoId: string, commit: string, fencingToken: bigint): Promise<void>;
  /** recordFailure remembers why a sync failed, unless a newer lock token has written the repo since. */
  recordFailure(tx: Tx, roomId: string, repoId: string, lastError: string, fencingToken: bigint): Promise<void>;
}

function recordOf(e: RepoEntity): RepoRecord {
  return {
    id: e.id,
    tenantId: e.tenantId,
    roomId: e.roomId,
    url: e.url,
    ref: e.ref,
    path: e.path,
    lastCommit: e.lastCommit,
    lastSyncedAt: e.lastSyncedAt,
    lastError: e.lastError,
    fencingToken: BigInt(e.fencingToken),
    createdBy: e.createdBy,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

const readOnly = { disableIdentityMap: true } as const;

async function mustRead(tx: Tx, roomId: string, repoId: string): Promise<RepoRecord> {
  const row = await tx.findOne(RepoSchema, { roomId, id: repoId }, readOnly);
  if (!row) throw new Error(`repo ${repoId} vanished inside its own transaction`);
  return recordOf(row);
}

/** ormRepoStore is the RepoStore on MikroORM. */
export const ormRepoStore: RepoStore = {
  async byId(tx, roomId, repoId, options = {}) {
    const row = await tx.findOne(RepoSchema, { roomId, id: repoId }, options.forUpdate ? { ...readOnly, lockMode: LockMode.PESSIMISTIC_WRITE } : readOnly);
    return row ? recordOf(row) : undefined;
  },

  async list(tx, roomId, page) {
    const after = page.after;
    // uuid order is the order of its text form, so (url, id) pages as (url, id::text) always did.
    const rows = await tx.find(
      RepoSchema,
      after ? { roomId, $or: [{ url: { $gt: after.url } }, { url: after.url, id: { $gt: after.id } }] } : { roomId },
      { ...readOnly, orderBy: [{ url: "asc" }, { id: "asc" }], limit: page.limit },
    );
    return rows.map(recordOf);
  },

  async countInRoom(tx, roomId) {
    return tx.count(RepoSchema, { roomId });
  },

  async insert(tx, repo) {
    const [row] = (await tx
      .createQueryBuilder(RepoSchema)
      .insert({ tenantId: repo.tenantId, roomId: repo.roomId, url: repo.url, ref: repo.ref, path: repo.path, createdBy: repo.createdBy })
      .returning("id")
      .execute("all", false)) as unknown as Array<{ id: string }>;
    return mustRead(tx, repo.roomId, row!.id);
  },

  async update(tx, roomId, repoId, settings, fencingToken) {
    await tx.nativeUpdate(RepoSchema, { roomId, id: repoId }, { url: settings.url, ref: settings.ref, path: settings.path, fencingToken, updatedAt: sql.now() });
    return mustRead(tx, roomId, repoId);
  },

  async remove(tx, roomId, repoId) {
    await tx.nativeDelete(RepoSchema, { roomId, id: repoId });
  },

  async recordRefusal(tx, roomId, repoId, lastError, fencingToken) {
    await tx.nativeUpdate(RepoSchema, { roomId, id: repoId }, { lastError, fencingToken });
  },

  async recordSynced(tx, roomId, repoId, commit, fencingToken) {
    await tx.nativeUpdate(RepoSchema, { roomId, id: repoId }, { lastCommit: commit, lastSyncedAt: sql.now(), lastError: null, fencingToken });
  },

  async recordFailure(tx, roomId, repoId, lastError, fencingToken) {
    await tx.nativeUpdate(RepoSchema, { roomId, id: repoId, fencingToken: { $lte: fencingToken } }, { lastError });
  },
};
