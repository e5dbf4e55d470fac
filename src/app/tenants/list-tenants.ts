import type { Call } from "../call.js";
import type { TenantRow, TenantStore } from "../../store/tenants.js";
import type { Tx } from "../../store/tx.js";

/** TenantsPage is one page of tenants by name and the cursor of the next (undefined at the end). */
export interface TenantsPage {
  tenants: TenantRow[];
  next: string | undefined;
}

/** ListTenantsDeps is what listTenants uses: the tenant store and a system (cross-tenant) read transaction. */
export interface ListTenantsDeps {
  tenants: TenantStore;
  systemRead<T>(fn: (tx: Tx) => Promise<T>): Promise<T>;
}

/** listTenants pages through every tenant by name: listing crosses the tenant wall, so it is a system read. */
export async function listTenants(deps: ListTenantsDeps, _call: Call, input: { limit: number; after?: string }): Promise<TenantsPage> {
  const rows = await deps.systemRead((tx) =>
    deps.tenants.list(tx, { limit: input.limit + 1, ...(input.after !== undefined ? { afterName: input.after } : {}) }),
  );
  const tenants = rows.slice(0, input.limit);
  return { tenants, next: rows.length > input.limit ? tenants[tenants.length - 1]!.name : undefined };
}
