import { randomUUID } from "node:crypto";
import type { RuleRow, RulesStore } from "../../../src/store/rules.js";

/** MemoryRules is an in-memory RulesStore of one tenant's rules, for use-case tests. */
export interface MemoryRules extends RulesStore {
  rows: RuleRow[];
  version: RulesStore["version"];
  /** changes counts writes, as the version trigger does. */
  changes: number;
}

const byCreation = (a: RuleRow, b: RuleRow) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** memoryRules answers as the ORM store does, over an array (creation times one millisecond apart). */
export function memoryRules(): MemoryRules {
  let clock = Date.UTC(2026, 0, 1);
  const store: MemoryRules = {
    rows: [],
    changes: 0,
    async list(_tx, q) {
      return store.rows
        .filter((r) => q.subject === undefined || r.subject === q.subject)
        .filter((r) => q.after === undefined || byCreation(r, { ...r, createdAt: q.after.createdAt, id: q.after.id }) > 0)
        .sort(byCreation)
        .slice(0, q.limit);
    },
    async get(_tx, id) {
      const row = store.rows.find((r) => r.id === id);
      return row && { ...row };
    },
    async create(_tx, tenantId, fields) {
      const at = new Date((clock += 1));
      const row = { id: randomUUID(), tenantId, ...fields, createdAt: at, updatedAt: at };
      store.rows.push(row);
      store.changes += 1;
      return row;
    },
    async update(_tx, id, fields) {
      const row = store.rows.find((r) => r.id === id);
      if (!row) return undefined;
      Object.assign(row, fields, { updatedAt: new Date((clock += 1)) });
      store.changes += 1;
      return { ...row };
    },
    async delete(_tx, id) {
      const at = store.rows.findIndex((r) => r.id === id);
      if (at < 0) return undefined;
      store.changes += 1;
      return store.rows.splice(at, 1)[0];
    },
    async version() {
      return String(store.changes);
    },
    async allOfTenant() {
      return [...store.rows].sort(byCreation);
    },
    async pageOfAll(_tx, limit) {
      return store.rows.slice(0, limit);
    },
  };
  return store;
}
