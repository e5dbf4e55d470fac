import { TenantSchema, type TenantEntity } from "../entities/tenant.js";
import { NotFoundError } from "../errors.js";
import type { StoreEntityManager } from "../orm.js";
import { normalizeUuid } from "../tenant-scope.js";

/**
 * Tenant queries. Creating, finding by name and listing tenants cross the tenant
 * wall, so those run in `Database.asSystem`; getTenant also works inTenant (a
 * tenant sees its own row).
 */

/** createTenant inserts a tenant and answers it with its generated id. */
export async function createTenant(em: StoreEntityManager, name: string): Promise<TenantEntity> {
  const tenant = em.create(TenantSchema, { name });
  await em.flush();
  return tenant;
}

/** findTenantByName answers the tenant called `name`, or null. System only. */
export function findTenantByName(em: StoreEntityManager, name: string): Promise<TenantEntity | null> {
  return em.findOne(TenantSchema, { name });
}

/** getTenant answers a tenant by id or throws NotFoundError. */
export async function getTenant(em: StoreEntityManager, tenantId: string): Promise<TenantEntity> {
  const tenant = await em.findOne(TenantSchema, { id: normalizeUuid(tenantId, "tenant_id") });
  if (!tenant) throw new NotFoundError("tenant not found");
  return tenant;
}

/** listTenants answers up to `limit` tenants ordered by name, after `afterName`. System only. */
export function listTenants(
  em: StoreEntityManager,
  page: { limit: number; afterName?: string },
): Promise<TenantEntity[]> {
  return em.find(
    TenantSchema,
    page.afterName === undefined ? {} : { name: { $gt: page.afterName } },
    { orderBy: { name: "asc" }, limit: page.limit },
  );
}
