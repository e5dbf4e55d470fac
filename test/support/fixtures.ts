import { Code, ConnectError } from "@connectrpc/connect";
import { expect } from "vitest";
import { ErrorDetailSchema, type ErrorDetail } from "../../gen/gatehouse/v1/common_pb.js";
import { hashPassword } from "../../src/auth/passwords.js";
import type { TestServer } from "./server.js";

/**
 * Fixtures for the rooms, policies and rules e2e tests: users made through
 * SQL (any level, any roles, any tenant, independent of UsersService),
 * second tenants through TenantsService, audit rows read through a system
 * transaction, and a helper that captures a refused call's code and detail.
 */

/** Refusal is what a refused call answered: its code and our ErrorDetail. */
export interface Refusal {
  code: Code;
  detail: ErrorDetail;
}

/** refusalOf awaits a call that must fail and answers its code and ErrorDetail. */
export async function refusalOf(call: Promise<unknown>): Promise<Refusal> {
  try {
    await call;
  } catch (err) {
    const e = ConnectError.from(err);
    const [detail] = e.findDetails(ErrorDetailSchema);
    expect(detail, `${Code[e.code]} carries an ErrorDetail`).toBeDefined();
    return { code: e.code, detail: detail! };
  }
  throw new Error("expected the call to fail");
}

/** refused asserts a call fails with `code` and `reason`, and answers the detail. */
export async function refused(call: Promise<unknown>, code: Code, reason: string): Promise<ErrorDetail> {
  const r = await refusalOf(call);
  expect({ code: Code[r.code], reason: r.detail.reason }).toEqual({ code: Code[code], reason });
  return r.detail;
}

/** FixtureUser is a user made by createUser, logged in. */
export interface FixtureUser {
  id: string;
  username: string;
  token: string;
}

/** fixturePassword is the password of every fixture user and tenant admin. */
export const fixturePassword = "fixture-password-1";
const password = fixturePassword;
let hashed: Promise<string> | undefined;
let counter = 0;

/** tenantIdOf answers a tenant's id by name. */
export async function tenantIdOf(server: TestServer, name = "default"): Promise<string> {
  const rows = (await server.gatehouse.deps.db.asSystem((em) => em.execute("select id from tenants where name = ?", [name]))) as Array<{ id: string }>;
  if (!rows[0]) throw new Error(`no tenant ${name}`);
  return rows[0].id;
}

/**
 * createUser inserts a user of `tenant` (name, default `default`) with the
 * level and built-in or custom roles named, and logs them in.
 */
export async function createUser(server: TestServer, options: { level: number; roles?: string[]; tenant?: string; prefix?: string }): Promise<FixtureUser> {
  const tenant = options.tenant ?? "default";
  const tenantId = await tenantIdOf(server, tenant);
  counter += 1;
  const username = `${options.prefix ?? "u"}-${counter}-${Math.random().toString(36).slice(2, 7)}`;
  hashed ??= hashPassword(password);
  const passwordHash = await hashed;
  const id = await server.gatehouse.deps.db.asSystem(async (em) => {
    const [user] = (await em.execute("insert into users (tenant_id, username, password_hash, level) values (?, ?, ?, ?) returning id", [
      tenantId,
      username,
      passwordHash,
      options.level,
    ])) as Array<{ id: string }>;
    for (const role of options.roles ?? []) {
      const rows = (await em.execute(
        "insert into user_roles (tenant_id, user_id, role_id) select ?, ?, id from roles where tenant_id = ? and name = ? returning role_id",
        [tenantId, user!.id, tenantId, role],
      )) as unknown[];
      if (rows.length !== 1) throw new Error(`no role ${role} in tenant ${tenant}`);
    }
    return user!.id;
  });
  return { id, username, token: await server.login(username, password, tenant) };
}

/** createTenant makes a tenant through TenantsService.CreateTenant (as the bootstrap SUPERGOD) and logs its admin in. */
export async function createTenant(server: TestServer, adminToken: string, name: string): Promise<{ tenantId: string; admin: FixtureUser }> {
  const adminUsername = `${name}-admin`;
  const res = await server.client({ token: adminToken }).tenants.createTenant({ name, adminUsername, adminPassword: password });
  return {
    tenantId: res.tenant!.tenantId,
    admin: { id: res.adminUser!.userId, username: adminUsername, token: await server.login(adminUsername, password, name) },
  };
}

/** AuditRow is an audit event as stored. */
export interface AuditRow {
  seq: number;
  tenant_id: string;
  room_id: string | null;
  actor_id: string | null;
  actor_name: string | null;
  method: string | null;
  action: string;
  resource: string | null;
  outcome: string;
  reason: string | null;
  details: Record<string, unknown> | null;
}

/** auditRows reads a tenant's audit events with `action`, oldest first (a system read). */
export async function auditRows(server: TestServer, tenantId: string, action: string): Promise<AuditRow[]> {
  return (await server.gatehouse.deps.db.asSystem((em) =>
    em.execute(
      "select seq, tenant_id, room_id, actor_id, actor_name, method, action, resource, outcome, reason, details from audit_events where tenant_id = ? and action = ? order by seq",
      [tenantId, action],
    ),
  )) as AuditRow[];
}
