import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { TenantSchema, type Tenant, type TenantsService } from "../../gen/gatehouse/v1/tenants_pb.js";
import { createTenant, type CreateTenantDeps } from "../app/tenants/create-tenant.js";
import { listTenants, type ListTenantsDeps } from "../app/tenants/list-tenants.js";
import type { TenantRow } from "../store/tenants.js";
import { answer, callOf } from "./call.js";
import { requestFacts } from "./request-facts.js";
import { pageOf, pageToken } from "./support.js";
import { userMessage } from "./user-view.js";

/** TenantsServiceDeps is what TenantsService uses. */
export type TenantsServiceDeps = CreateTenantDeps & ListTenantsDeps;

function tenantMessage(row: TenantRow): Tenant {
  return create(TenantSchema, { tenantId: row.id, name: row.name, createdAt: timestampFromDate(row.createdAt) });
}

/**
 * createTenantsService implements TenantsService (SUPERGOD only, by the
 * access option: min_level SUPERGOD and `tenants.manage`) over the tenant use
 * cases (src/app/tenants).
 */
export function createTenantsService(deps: TenantsServiceDeps): ServiceImpl<typeof TenantsService> {
  return {
    async createTenant(req, ctx) {
      // Named in the call's record before anything can fail, so a refusal says what was asked for.
      requestFacts(ctx, { details: { name: req.name.slice(0, 64), adminUsername: req.adminUsername.slice(0, 64) } });
      const input = { name: req.name, adminUsername: req.adminUsername, adminPassword: req.adminPassword };
      const { tenant, admin } = answer(ctx, await createTenant(deps, callOf(ctx), input));
      return {
        tenant: tenantMessage(tenant),
        adminUser: userMessage(admin),
      };
    },

    async listTenants(req, ctx) {
      const { limit, after } = pageOf(req);
      const page = await listTenants(deps, callOf(ctx), { limit, ...(after !== undefined ? { after } : {}) });
      return { tenants: page.tenants.map(tenantMessage), nextPageToken: pageToken(page.next) };
    },
  };
}
