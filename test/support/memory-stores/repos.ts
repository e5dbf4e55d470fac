import { randomUUID } from "node:crypto";
import type { RepoRecord, RepoStore } from "../../../src/store/repos.js";

/** MemoryRepoStore is a RepoStore in a Map, for use-case tests; `rows` is its content. */
export interface MemoryRepoStore extends RepoStore {
  rows: Map<string, RepoRecord>;
}

/** memoryRepoStore builds an empty MemoryRepoStore. */
export function memoryRepoStore(): MemoryRepoStore {
  const rows = new Map<string, RepoRecord>();
  const inRoom = (roomId: string) => [...rows.values()].filter((r) => r.roomId === roomId);
  const mustGet = (roomId: string, id: string) => {
    const row = rows.get(id);
    if (!row || row.roomId !== roomId) throw new Error(`no repo ${id} in room ${roomId}`);
    return row;
  };
  const key = (r: { url: string; id: string }) => `${r.url}\n${r.id}`;
  return {
    rows,
    async byId(_tx, roomId, repoId) {
      const row = rows.get(repoId);
      return row && row.roomId === roomId ? { ...row } : undefined;
    },
    async list(_tx, roomId, page) {
      return inRoom(roomId)
        .filter((r) => !page.after || r.url > page.after.url || (r.url === page.after.url && r.id > page.after.id))
        .sort((a, b) => (key(a) < key(b) ? -1 : 1))
        .slice(0, page.limit)
        .map((r) => ({ ...r }));
    },
    async countInRoom(_tx, roomId) {
      return inRoom(roomId).length;
    },
    async insert(_tx, repo) {
      const now = new Date();
      const row: RepoRecord = { id: randomUUID(), tenantId: repo.tenantId, roomId: repo.roomId, url: repo.url, ref: repo.ref, path: repo.path, lastCommit: null, lastSyncedAt: null, lastError: null, fencingToken: 0n, createdBy: repo.createdBy, createdAt: now, updatedAt: now };
      rows.set(row.id, row);
      return { ...row };
    },
    async update(_tx, roomId, repoId, settings, fencingToken) {
      const row = mustGet(roomId, repoId);
      Object.assign(row, settings, { fencingToken, updatedAt: new Date() });
      return { ...row };
    },
    async remove(_tx, roomId, repoId) {
      if (rows.get(repoId)?.roomId === roomId) rows.delete(repoId);
    },
    async recordRefusal(_tx, roomId, repoId, lastError, fencingToken) {
      Object.assign(mustGet(roomId, repoId), { lastError, fencingToken });
    },
    async recordSynced(_tx, roomId, repoId, commit, fencingToken) {
      Object.assign(mustGet(roomId, repoId), { lastCommit: commit, lastSyncedAt: new Date(), lastError: null, fencingToken });
    },
    async recordFailure(_tx, roomId, repoId, lastError, fencingToken) {
      const row = rows.get(repoId);
      if (row && row.roomId === roomId && row.fencingToken <= fencingToken) row.lastError = lastError;
    },
  };
}
