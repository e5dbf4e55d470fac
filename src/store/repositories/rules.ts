import type { StoreEntityManager } from "../orm.js";

/** StoredRule is a row of `rules` as the start-up check reads it. */
export interface StoredRule {
  id: string;
  tenant_id: string;
  subject: string;
  action: string;
  resource: string;
  effect: string;
}

/**
 * pageOfAllRules answers up to `limit` rules of every tenant after the
 * (tenant_id, id) position `after`, in that order. System only (asSystem):
 * it crosses the tenant wall, for the start-up report of malformed rules.
 */
export async function pageOfAllRules(em: StoreEntityManager, limit: number, after?: { tenantId: string; id: string }): Promise<StoredRule[]> {
  const where = after === undefined ? "" : "where (tenant_id, id) > (?::uuid, ?::uuid)";
  return (await em.execute(
    `select id, tenant_id, subject, action, resource, effect from rules ${where} order by tenant_id, id limit ?`,
    [...(after === undefined ? [] : [after.tenantId, after.id]), limit],
  )) as StoredRule[];
}
