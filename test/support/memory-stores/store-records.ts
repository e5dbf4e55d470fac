import type { StoreRecordStore, StoredDocument } from "../../../src/store/store-records.js";

/** MemoryStoreRecordStore is a StoreRecordStore in a Map, for use-case tests. */
export interface MemoryStoreRecordStore extends StoreRecordStore {
  rows: Map<string, StoredDocument & { roomId: string; collection: string }>;
}

/** memoryStoreRecordStore builds an empty MemoryStoreRecordStore. */
export function memoryStoreRecordStore(): MemoryStoreRecordStore {
  const rows: MemoryStoreRecordStore["rows"] = new Map();
  const key = (roomId: string, collection: string, recordId: string) => `${roomId}/${collection}/${recordId}`;
  const plain = (r: StoredDocument): StoredDocument => ({ recordId: r.recordId, doc: structuredClone(r.doc), ownerId: r.ownerId });
  return {
    rows,
    async get(_tx, roomId, collection, recordId) {
      const row = rows.get(key(roomId, collection, recordId));
      return row ? plain(row) : undefined;
    },
    async list(_tx, roomId, collection, page) {
      return [...rows.values()]
        .filter((r) => r.roomId === roomId && r.collection === collection && (page.after === undefined || r.recordId > page.after))
        .sort((a, b) => (a.recordId < b.recordId ? -1 : 1))
        .slice(0, page.limit)
        .map(plain);
    },
    async put(_tx, record) {
      const k = key(record.roomId, record.collection, record.recordId);
      const before = rows.get(k);
      rows.set(k, { roomId: record.roomId, collection: record.collection, recordId: record.recordId, doc: structuredClone(record.doc), ownerId: before ? before.ownerId : record.ownerId });
    },
    async remove(_tx, roomId, collection, recordId) {
      return rows.delete(key(roomId, collection, recordId));
    },
  };
}
