import type { Database } from "../../src/store/database.js";

/**
 * Rows the store conformance suites stand on, written as a system (tests may
 * write SQL: they set the scene, the store under test does the rest).
 */

/** newTenant inserts a tenant and answers its id. */
export async function newTenant(db: Database, name: string): Promise<string> {
  const rows = (await db.asSystem((em) => em.execute("insert into tenants (name) values (?) returning id", [name]))) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** newUser inserts a user of `tenantId` and answers its id. */
export async function newUser(db: Database, tenantId: string, username: string, level = 1): Promise<string> {
  const rows = (await db.asSystem((em) =>
    em.execute("insert into users (tenant_id, username, password_hash, level) values (?, ?, 'x', ?) returning id", [tenantId, username, level]),
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** newRole inserts a role of `tenantId` and answers its id. */
export async function newRole(
  db: Database,
  tenantId: string,
  role: { name: string; permissions?: string[]; defaultPolicy?: unknown; builtin?: boolean },
): Promise<string> {
  const rows = (await db.asSystem((em) =>
    em.execute("insert into roles (tenant_id, name, permissions, default_policy, builtin) values (?, ?, ?::text[], ?::jsonb, ?) returning id", [
      tenantId,
      role.name,
      `{${(role.permissions ?? []).join(",")}}`,
      role.defaultPolicy === undefined ? null : JSON.stringify(role.defaultPolicy),
      role.builtin ?? false,
    ]),
  )) as Array<{ id: string }>;
  return rows[0]!.id;
}

/** grantRole gives a user a role. */
export async function grantRole(db: Database, tenantId: string, userId: string, roleId: string): Promise<void> {
  await db.asSystem((em) => em.execute("insert into user_roles (tenant_id, user_id, role_id) values (?, ?, ?)", [tenantId, userId, roleId]));
}
