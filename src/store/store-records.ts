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

const readOnly = { disableIdentityMap: true } as const;

/** ormStoreRecordStore is the StoreRecordStore on MikroORM. */
export const ormStoreRecordStore: StoreRecordStore = {
  async get(tx, roomId, collection, recordId) {
    const row = await tx.findOne(StoreRecordSchema, { roomId, collection, recordId }, { ...readOnly, fields: ["recordId", "doc", "ownerId"] });
    return row ? { recordId: row.recordId, doc: row.doc, ownerId: row.ownerId } : undefined;
  },

  async list(tx, roomId, collection, page) {
    const rows = await tx.find(
      StoreRecordSchema,
      page.after !== undefined ? { roomId, collection, recordId: { $gt: page.after } } : { roomId, collection },
      { ...readOnly, fields: ["recordId", "doc", "ownerId"], orderBy: { recordId: "asc" }, limit: page.limit },
    );
    return rows.map((row) => ({ recordId: row.recordId, doc: row.doc, ownerId: row.ownerId }));
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
