import { EntitySchema, OptionalProps, PrimaryKeyProp, Type } from "@mikro-orm/core";

/**
 * JsonDocumentType stores any JSON value in a jsonb column, null and bare
 * strings included: MikroORM's json type writes a null document as SQL NULL
 * and reads a string document that looks like JSON as the value it spells.
 * The drivers already parse jsonb, so reading keeps their value.
 */
class JsonDocumentType extends Type<unknown, string> {
  override convertToDatabaseValue(value: unknown): string {
    return JSON.stringify(value ?? null);
  }
  override convertToJSValue(value: string): unknown {
    return value;
  }
  override getColumnType(): string {
    return "jsonb";
  }
}

/**
 * StoreRecordEntity is a row of `store_records`: one JSON document of a
 * room's record store (`gatehouse:store` in macros), keyed by collection and
 * record id; ownerId is who first wrote it.
 */
export interface StoreRecordEntity {
  [PrimaryKeyProp]?: ["tenantId", "roomId", "collection", "recordId"];
  [OptionalProps]?: "ownerId" | "createdAt" | "updatedAt";
  tenantId: string;
  roomId: string;
  collection: string;
  recordId: string;
  doc: unknown;
  ownerId: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** StoreRecordSchema maps StoreRecordEntity to the `store_records` table. */
export const StoreRecordSchema = new EntitySchema<StoreRecordEntity>({
  name: "StoreRecord",
  tableName: "store_records",
  properties: {
    tenantId: { type: "uuid", primary: true },
    roomId: { type: "uuid", primary: true },
    collection: { type: "text", primary: true },
    recordId: { type: "text", primary: true },
    doc: { type: JsonDocumentType, columnType: "jsonb" },
    ownerId: { type: "uuid", nullable: true },
    createdAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
  },
});
