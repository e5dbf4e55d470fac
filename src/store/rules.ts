import { LockMode, type FilterQuery } from "@mikro-orm/core";
import { RuleVersionSchema } from "./entities/rule-version.js";
import { RuleSchema, type RuleEntity } from "./entities/rule.js";
import type { Tx } from "./tx.js";

/** RuleRow is a stored rule. Its fields are as stored: a rule written under older forms may not parse today. */
export type RuleRow = Omit<RuleEntity, symbol>;

/** RuleFields are the fields a caller writes. */
export type RuleFields = Pick<RuleRow, "subject" | "action" | "resource" | "effect" | "description">;

/** RulePosition is a rule's place in creation order (keyset pagination). */
export interface RulePosition {
  createdAt: Date;
  id: string;
}

/**
 * RulesStore owns `rules` and reads `rule_versions`. Every method but
 * pageOfAll runs in a tenant-scoped transaction; pageOfAll crosses the
 * tenant wall (a system transaction) for the start-up report of malformed rules.
 */
export interface RulesStore {
  /** list answers up to `limit` of the tenant's rules in creation order, of one subject if given, after `after`. */
  list(tx: Tx, query: { limit: number; subject?: string; after?: RulePosition }): Promise<RuleRow[]>;
  /** get answers a rule by id, locked until the transaction ends with `forUpdate`. */
  get(tx: Tx, id: string, options?: { forUpdate?: boolean }): Promise<RuleRow | undefined>;
  /** create stores a new rule of the tenant. */
  create(tx: Tx, tenantId: string, fields: RuleFields): Promise<RuleRow>;
  /** update replaces a rule's fields (updated_at becomes now) and answers it, or undefined if there is none. */
  update(tx: Tx, id: string, fields: RuleFields): Promise<RuleRow | undefined>;
  /** delete removes a rule and answers what it was, or undefined if there was none. */
  delete(tx: Tx, id: string): Promise<RuleRow | undefined>;
  /** version answers the tenant's rule version ("0" before its first rule). */
  version(tx: Tx, tenantId: string): Promise<string>;
  /** allOfTenant answers every rule of the tenant in creation order, as the rule index needs them. */
  allOfTenant(tx: Tx, tenantId: string): Promise<Array<Pick<RuleRow, "id" | "subject" | "action" | "resource" | "effect">>>;
  /** pageOfAll answers up to `limit` rules of every tenant after (tenantId, id), in that order. System only. */
  pageOfAll(tx: Tx, limit: number, after?: { tenantId: string; id: string }): Promise<RuleRow[]>;
}

const plain = (row: RuleEntity): RuleRow => ({
  id: row.id,
  tenantId: row.tenantId,
  subject: row.subject,
  action: row.action,
  resource: row.resource,
  effect: row.effect,
  description: row.description,
  createdAt: row.createdAt,
  updatedAt: row.updatedAt,
});

/** ormRulesStore is the RulesStore on MikroORM. */
export const ormRulesStore: RulesStore = {
  async list(tx, query) {
    const where: FilterQuery<RuleEntity>[] = [];
    if (query.subject !== undefined) where.push({ subject: query.subject });
    if (query.after !== undefined) {
      const { createdAt, id } = query.after;
      where.push({ $or: [{ createdAt: { $gt: createdAt } }, { createdAt, id: { $gt: id } }] });
    }
    const rows = await tx.find(RuleSchema, where.length > 0 ? { $and: where } : {}, {
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      limit: query.limit,
      disableIdentityMap: true,
    });
    return rows.map(plain);
  },

  async get(tx, id, options = {}) {
    const row = await tx.findOne(RuleSchema, { id }, { disableIdentityMap: true, ...(options.forUpdate ? { lockMode: LockMode.PESSIMISTIC_WRITE } : {}) });
    return row ? plain(row) : undefined;
  },

  async create(tx, tenantId, fields) {
    const id = (await tx.insert(RuleSchema, { tenantId, ...fields })) as string;
    return plain(await tx.findOneOrFail(RuleSchema, { id }, { disableIdentityMap: true }));
  },

  async update(tx, id, fields) {
    const changed = await tx.nativeUpdate(RuleSchema, { id }, { ...fields, updatedAt: new Date() });
    if (changed === 0) return undefined;
    return plain(await tx.findOneOrFail(RuleSchema, { id }, { disableIdentityMap: true }));
  },

  async delete(tx, id) {
    const row = await tx.findOne(RuleSchema, { id }, { disableIdentityMap: true });
    if (!row) return undefined;
    await tx.nativeDelete(RuleSchema, { id });
    return plain(row);
  },

  async version(tx, tenantId) {
    const row = await tx.findOne(RuleVersionSchema, { tenantId }, { disableIdentityMap: true });
    return row?.version ?? "0";
  },

  async allOfTenant(tx, tenantId) {
    return tx.find(RuleSchema, { tenantId }, {
      fields: ["id", "subject", "action", "resource", "effect"],
      orderBy: [{ createdAt: "asc" }, { id: "asc" }],
      disableIdentityMap: true,
    });
  },

  async pageOfAll(tx, limit, after) {
    const where: FilterQuery<RuleEntity> =
      after === undefined ? {} : { $or: [{ tenantId: { $gt: after.tenantId } }, { tenantId: after.tenantId, id: { $gt: after.id } }] };
    const rows = await tx.find(RuleSchema, where, { orderBy: [{ tenantId: "asc" }, { id: "asc" }], limit, disableIdentityMap: true });
    return rows.map(plain);
  },
};
