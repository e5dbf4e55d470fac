/**
 * SQL shared by migrations to put a table behind the tenant wall. Frozen: the
 * statements this emits are part of every migration that used it, so never change
 * them; write a new function (or plain SQL in a new migration) instead.
 */

/** appRole is the role tenant-scoped transactions switch to (`SET LOCAL ROLE`). */
const appRole = "gatehouse_app";

/** currentTenantSql is the expression that reads the transaction's tenant, or null when unset. */
export const currentTenantSql = "nullif(current_setting('gatehouse.tenant_id', true), '')::uuid";

/**
 * systemAccessSql is the condition of the system policy: `Database.asSystem` sets `gatehouse.system`
 * for its transaction, and the app role can never use it. Superusers bypass RLS
 * anyway; this is what lets a non-superuser table owner (FORCE'd into RLS) run
 * system work, while any other transaction of that owner sees nothing.
 */
export const systemAccessSql = `current_user <> '${appRole}' and current_setting('gatehouse.system', true) = 'on'`;

/**
 * tenantTableSecuritySql answers the statements that enable and force row-level
 * security on `table`, add the tenant-isolation and system policies, and grant
 * `privileges` (e.g. "select, insert, update, delete") to the app role.
 * `tenantColumn` is the column compared with the transaction's tenant.
 */
export function tenantTableSecuritySql(table: string, privileges: string, tenantColumn = "tenant_id"): string[] {
  return [
    `alter table ${table} enable row level security`,
    `alter table ${table} force row level security`,
    `create policy ${table}_tenant_isolation on ${table} for all to public` +
      ` using (${tenantColumn} = ${currentTenantSql}) with check (${tenantColumn} = ${currentTenantSql})`,
    `create policy ${table}_system_access on ${table} for all to public` +
      ` using (${systemAccessSql}) with check (${systemAccessSql})`,
    `grant ${privileges} on ${table} to ${appRole}`,
  ];
}
