import { SigningKeySchema } from "./entities/signing-key.js";
import type { Tx } from "./tx.js";

/**
 * The signing-keys aggregate: the ring of Ed25519 keys that sign access
 * tokens, platform-wide. Private keys come in and go out sealed (the store
 * never sees a key in the clear). Written in a platform-tenant transaction
 * (RotateSigningKey's unit of work) or a system one (the first key at
 * start); read by the key ring through a system transaction.
 */

/** SigningKeyRow is one key of the ring, as stored. */
export interface SigningKeyRow {
  kid: string;
  generation: number;
  algorithm: string;
  publicJwk: Record<string, unknown>;
  sealedPrivateKey: string;
  origin: SigningKeyOrigin;
  createdAt: Date;
  retiredAt: Date | null;
}

/** SigningKeyOrigin says how a key entered the ring. */
export type SigningKeyOrigin = "generated" | "imported" | "rotated";

/** NewSigningKey is what add inserts (the database numbers the generation and dates the key). */
export type NewSigningKey = Pick<SigningKeyRow, "kid" | "algorithm" | "publicJwk" | "sealedPrivateKey" | "origin">;

/** SigningKeyStore owns the rows of `signing_keys`. */
export interface SigningKeyStore {
  /** list answers every key, oldest generation first. */
  list(tx: Tx): Promise<SigningKeyRow[]>;
  /**
   * serialize holds the ring's change lock until `tx` ends, so that two
   * replicas importing the first key, or two rotations, take turns.
   */
  serialize(tx: Tx): Promise<void>;
  /** add inserts a key that signs from now on, and dates the retirement of every key still signing. */
  add(tx: Tx, key: NewSigningKey): Promise<SigningKeyRow>;
}

/** changeLockKey is the advisory lock of ring changes: 'gh:signing_keys' as an int8-sized key. */
const changeLockKey = 0x67685f736b6579n;

/** ormSigningKeyStore is the MikroORM implementation. */
export const ormSigningKeyStore: SigningKeyStore = {
  async list(tx) {
    const rows = await tx.find(SigningKeySchema, {}, { orderBy: { generation: "asc" }, disableIdentityMap: true });
    return rows.map((r) => ({ ...r, generation: Number(r.generation), origin: r.origin as SigningKeyOrigin }));
  },
  async serialize(tx) {
    // Plain SQL: an advisory lock, which the query builder cannot say.
    await tx.execute("select pg_advisory_xact_lock(?)", [changeLockKey.toString()]);
  },
  async add(tx, key) {
    await tx.nativeUpdate(SigningKeySchema, { retiredAt: null }, { retiredAt: new Date() });
    await tx.insert(SigningKeySchema, { ...key });
    const row = await tx.findOneOrFail(SigningKeySchema, { kid: key.kid }, { disableIdentityMap: true });
    return { ...row, generation: Number(row.generation), origin: row.origin as SigningKeyOrigin };
  },
};
