import type { SigningKeyRow, SigningKeyStore } from "../../../src/store/signing-keys.js";

/** MemorySigningKeyStore is a SigningKeyStore in memory for use-case tests; `rows` is its table. */
export interface MemorySigningKeyStore extends SigningKeyStore {
  rows: SigningKeyRow[];
}

/** memorySigningKeyStore answers an empty in-memory ring store (the transaction is ignored). */
export function memorySigningKeyStore(now: () => Date = () => new Date()): MemorySigningKeyStore {
  const rows: SigningKeyRow[] = [];
  return {
    rows,
    async list() {
      return rows.map((r) => ({ ...r }));
    },
    async serialize() {},
    async add(_tx, key) {
      if (rows.some((r) => r.kid === key.kid)) throw new Error(`duplicate kid ${key.kid}`);
      const at = now();
      for (const r of rows) if (r.retiredAt === null) r.retiredAt = at;
      const row: SigningKeyRow = { ...key, generation: rows.length + 1, createdAt: at, retiredAt: null };
      rows.push(row);
      return { ...row };
    },
  };
}
