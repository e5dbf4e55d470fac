import { randomBytes } from "node:crypto";
import { chmodSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Deps } from "./deps.js";
import { builtInRoles } from "./domain/permissions.js";
import { hashPassword, verifyPassword } from "./auth/passwords.js";
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

/** INITIAL_PASSWORD_FILE is the file in the data directory that keeps the generated first admin password (embedded mode). */
export const INITIAL_PASSWORD_FILE = "initial-admin-password";

/** initialPasswordPath answers where the generated first admin password is kept. */
export function initialPasswordPath(dataDir: string): string {
  return join(dataDir, INITIAL_PASSWORD_FILE);
}

/**
 * bootstrap creates tenant `default` and SUPERGOD `admin` on first start.
 * The password comes from GATEHOUSE_ADMIN_PASSWORD, else it is generated and
 * handed to `print` once — never logged. In the embedded mode a generated
 * password is also written to `initial-admin-password` in the data
 * directory (mode 0600), so a lost terminal does not lose it. Answers
 * whether it created them.
 */
export async function bootstrap(deps: Deps, print: (line: string) => void): Promise<boolean> {
  const exists = await deps.db.asSystem(async (em) => {
    const rows = (await em.execute("select id from tenants where name = ?", [defaultTenantName])) as unknown[];
    return rows.length > 0;
  });
  if (exists) return false;
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
    if (again) return false;
    throw err;
  }
  deps.logger.info({ tenant: defaultTenantName, username: "admin" }, "created the default tenant and its SUPERGOD admin");
  if (generated) {
    print(`Gatehouse first start: tenant "default", user "admin", password: ${password}`);
    if (deps.config.databaseUrl === undefined) {
      const file = initialPasswordPath(deps.config.dataDir);
      writeFileSync(file, password + "\n", { mode: 0o600 });
      chmodSync(file, 0o600);
      print(`It is also kept in ${file} (readable by you only) until you change it.`);
    } else {
      print("This password is shown once. Set GATEHOUSE_ADMIN_PASSWORD to choose it instead.");
    }
  }
  return true;
}

/**
 * offerInitialPassword looks at `initial-admin-password` in the data
 * directory: while the password in it still opens tenant `default`'s
 * `admin`, `print` is told where it is; once it does not (changed, reset,
 * user gone), the file is removed.
 */
export async function offerInitialPassword(deps: Deps, print: (line: string) => void): Promise<void> {
  const file = initialPasswordPath(deps.config.dataDir);
  let password: string;
  try {
    password = readFileSync(file, "utf8").trim();
  } catch {
    return;
  }
  const rows = await deps.db.asSystem(
    async (em) =>
      (await em.execute(
        "select u.password_hash from users u join tenants t on t.id = u.tenant_id where t.name = ? and u.username = ?",
        [defaultTenantName, "admin"],
      )) as Array<{ password_hash: string }>,
  );
  const hash = rows[0]?.password_hash;
  if (hash && password !== "" && (await verifyPassword(hash, password))) {
    print(`The admin password of tenant "default" is in ${file} (removed at the first start after it is changed).`);
    return;
  }
  unlinkSync(file);
  deps.logger.info({ file }, "removed the initial admin password file: the password in it no longer opens the admin account");
}
