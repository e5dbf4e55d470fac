import { randomBytes } from "node:crypto";
import type { Deps } from "./deps.js";
import { builtInRoles } from "./domain/permissions.js";
import { hashPassword } from "./auth/passwords.js";
import type { EntityManager } from "@mikro-orm/postgresql";

/** defaultTenantName is the platform's own tenant, home of GOD and SUPERGOD users. */
export const defaultTenantName = "default";

/**
 * createTenantRows makes a tenant, its built-in roles and its first user
 * (with the given level and role) in one transaction. Used by bootstrap and
 * CreateTenant. In a system transaction (bootstrap) it inserts the tenant
 * itself; with `createdBy` (CreateTenant, in the SUPERGOD caller's
 * tenant-scoped transaction) the tenant row comes from the SECURITY DEFINER
 * function gatehouse_create_tenant (migrations/0003-create-tenant.ts), which
 * checks that `createdBy` is an enabled SUPERGOD of the transaction's tenant.
 * Either way the transaction is left scoped to the new tenant.
 */
export async function createTenantRows(
  em: EntityManager,
  input: { name: string; adminUsername: string; adminPasswordHash: string; adminLevel: number; adminRole: string; createdBy?: string },
): Promise<{ tenantId: string; adminUserId: string; createdAt: Date }> {
  const [tenant] = (
    input.createdBy === undefined
      ? await em.execute("insert into tenants (name) values (?) returning id, created_at", [input.name])
      : await em.execute("select tenant_id as id, tenant_created_at as created_at from gatehouse_create_tenant(?, ?)", [input.name, input.createdBy])
  ) as Array<{ id: string; created_at: Date }>;
  const tenantId = tenant!.id;
  // Rows of the new tenant are written under its own RLS scope.
  await em.execute("select set_config('gatehouse.tenant_id', ?, true)", [tenantId]);
  const roleIds = new Map<string, string>();
  for (const role of builtInRoles) {
    const [row] = (await em.execute(
      "insert into roles (tenant_id, name, description, permissions, builtin) values (?, ?, ?, ?, true) returning id",
      [tenantId, role.name, role.description, `{${role.permissions.join(",")}}`],
    )) as Array<{ id: string }>;
    roleIds.set(role.name, row!.id);
  }
  const [user] = (await em.execute(
    "insert into users (tenant_id, username, password_hash, level) values (?, ?, ?, ?) returning id",
    [tenantId, input.adminUsername, input.adminPasswordHash, input.adminLevel],
  )) as Array<{ id: string }>;
  await em.execute("insert into user_roles (tenant_id, user_id, role_id) values (?, ?, ?)", [tenantId, user!.id, roleIds.get(input.adminRole)]);
  return { tenantId, adminUserId: user!.id, createdAt: new Date(tenant!.created_at) };
}

/**
 * bootstrap creates tenant `default` and SUPERGOD `admin` on first start.
 * The password comes from GATEHOUSE_ADMIN_PASSWORD, else it is generated and
 * handed to `print` once — never logged.
 */
export async function bootstrap(deps: Deps, print: (line: string) => void): Promise<void> {
  const exists = await deps.db.asSystem(async (em) => {
    const rows = (await em.execute("select id from tenants where name = ?", [defaultTenantName])) as unknown[];
    return rows.length > 0;
  });
  if (exists) return;
  const generated = deps.config.adminPassword === undefined;
  const password = deps.config.adminPassword ?? randomBytes(18).toString("base64url");
  const passwordHash = await hashPassword(password);
  try {
    await deps.db.asSystem((em) =>
      createTenantRows(em, { name: defaultTenantName, adminUsername: "admin", adminPasswordHash: passwordHash, adminLevel: 5, adminRole: "superuser" }),
    );
  } catch (err) {
    // Another replica bootstrapped at the same moment: fine.
    const again = await deps.db.asSystem(async (em) => ((await em.execute("select id from tenants where name = ?", [defaultTenantName])) as unknown[]).length > 0);
    if (again) return;
    throw err;
  }
  deps.logger.info({ tenant: defaultTenantName, username: "admin" }, "created the default tenant and its SUPERGOD admin");
  if (generated) {
    print(`Gatehouse first start: tenant "default", user "admin", password: ${password}`);
    print("This password is shown once. Set GATEHOUSE_ADMIN_PASSWORD to choose it instead.");
  }
}
