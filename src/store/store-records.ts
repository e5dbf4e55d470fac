import { StoreRecordSchema } from "./entities/store-record.js";
import type { Tx } from "./tx.js";

/** StoredDocument is one record of a room's record store and who first wrote it. */
export interface StoredDocument {
  recordId: string;
  doc: unknown;
  ownerId: string | null;
}

/**
 * StoreRecordStore owns `store_records`, the per-room JSON documents behind
 * `gatehouse:store`. Every method runs in the caller's tenant-scoped
 * transaction: row-level security keeps it to the tenant.
 */
export interface StoreRecordStore {
  get(tx: Tx, roomId: string, collection: string, recordId: string): Promise<StoredDocument | undefined>;
  /** list answers up to `limit` records of a collection in id order, after the id `after`. */
  list(tx: Tx, roomId: string, collection: string, page: { after?: string; limit: number }): Promise<StoredDocument[]>;
  /** put writes a document; a record written before keeps its owner. */
  put(tx: Tx, record: { tenantId: string; roomId: string; collection: string; recordId: string; doc: unknown; ownerId: string | null }): Promise<void>;
  /** remove deletes a record and says whether there was one. */
  remove(tx: Tx, roomId: string, collection: string, recordId: string): Promise<boolean>;
}

/** RawDocument is a row as the driver answers it (column names). */
interface RawDocument {
  record_id: string;
  doc: unknown;
  owner_id: string | null;
}

function documentOf(row: RawDocument): StoredDocument {
  return { recordId: row.record_id, doc: row.doc, ownerId: row.owner_id };
}

/** ormStoreRecordStore is the StoreRecordStore on MikroORM. */
export const ormStoreRecordStore: StoreRecordStore = {
  // Reads go through the query builder without hydrating entities: a macro's
  // store calls are its hot path, and the drivers already parse jsonb.
  async get(tx, roomId, collection, recordId) {
    const row = (await tx
      .createQueryBuilder(StoreRecordSchema)
      .select(["recordId", "doc", "ownerId"])
      .where({ roomId, collection, recordId })
      .execute("get", false)) as RawDocument | undefined;
    return row ? documentOf(row) : undefined;
  },

  async list(tx, roomId, collection, page) {
    const rows = (await tx
      .createQueryBuilder(StoreRecordSchema)
      .select(["recordId", "doc", "ownerId"])
      .where(page.after !== undefined ? { roomId, collection, recordId: { $gt: page.after } } : { roomId, collection })
      .orderBy({ recordId: "asc" })
      .limit(page.limit)
      .execute("all", false)) as RawDocument[];
    return rows.map(documentOf);
  },

  async put(tx, record) {
    // updated_at is left to its default, so excluded.updated_at is now().
    await tx
      .createQueryBuilder(StoreRecordSchema)
      .insert({ tenantId: record.tenantId, roomId: record.roomId, collection: record.collection, recordId: record.recordId, doc: record.doc, ownerId: record.ownerId })
      .onConflict(["tenantId", "roomId", "collection", "recordId"])
      .merge(["doc", "updatedAt"])
      .execute("run", false);
  },

  async remove(tx, roomId, collection, recordId) {
    return (await tx.nativeDelete(StoreRecordSchema, { roomId, collection, recordId })) > 0;
  },
};
