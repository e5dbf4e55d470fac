import { outcome, type Call, type Outcome } from "../call.js";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { hashPassword, passwordProblem } from "../../auth/passwords.js";
import { invalidArgument } from "../../domain/errors.js";
import { tenantNameProblem, usernameProblem } from "../../domain/names.js";
import type { ProvisionedTenant, TenantStore } from "../../store/tenants.js";
import type { Tx } from "../../store/tx.js";

/** NewTenantAuditEvent is the first event of a new tenant's audit chain (the fields of an audit record). */
export interface NewTenantAuditEvent {
  tenantId: string;
  actorId: string;
  actorName: string;
  ip: string;
  userAgent: string;
  requestId: string;
  method: string;
  action: string;
  resource: string;
  outcome: "ALLOWED";
  reason: string;
  details: Record<string, unknown>;
}

/** CreateTenantDeps is what createTenant uses: the tenant store and the audit log's append in a transaction. */
export interface CreateTenantDeps {
  tenants: TenantStore;
  audit: { append(tx: Tx, record: NewTenantAuditEvent): Promise<void> };
}

/** CreateTenantInput names the tenant and its first admin. */
export interface CreateTenantInput {
  name: string;
  adminUsername: string;
  adminPassword: string;
}

/** createTenantMethod is the RPC the new tenant's first audit event names. */
const createTenantMethod = "gatehouse.v1.TenantsService/CreateTenant";

/**
 * createTenant runs entirely in the caller's unit-of-work transaction (no
 * second connection: that would deadlock embedded PGlite): the tenant row
 * comes from the SECURITY DEFINER function gatehouse_create_tenant, the
 * built-in roles and the first admin (LEVEL_ADMIN, role `admin`) are written
 * under the new tenant's RLS scope, the new tenant's audit chain opens with a
 * `tenants.create` event naming the platform operator, and the scope is set
 * back to the caller's tenant, where the unit of work appends the caller's
 * own record. All of it commits or rolls back together.
 */
export async function createTenant(deps: CreateTenantDeps, call: Call, input: CreateTenantInput): Promise<Outcome<ProvisionedTenant>> {
  const { principal, request } = call;
  const nameProblem = tenantNameProblem(input.name);
  if (nameProblem) throw invalidArgument("name", nameProblem, input.name.slice(0, 64));
  const adminProblem = usernameProblem(input.adminUsername);
  if (adminProblem) throw invalidArgument("admin_username", adminProblem, input.adminUsername.slice(0, 64));
  const pwProblem = passwordProblem(input.adminPassword);
  if (pwProblem) throw invalidArgument("admin_password", pwProblem);
  const adminPasswordHash = await hashPassword(input.adminPassword);
  const created = await call.inTx(async (tx) => {
    const made = await deps.tenants.provision(tx, {
      name: input.name,
      adminUsername: input.adminUsername,
      adminPasswordHash,
      adminLevel: Level.ADMIN,
      adminRole: "admin",
      createdBy: principal.userId,
    });
    // Still scoped to the new tenant: open its audit chain.
    await deps.audit.append(tx, {
      tenantId: made.tenant.id,
      actorId: principal.userId,
      actorName: principal.username,
      ip: request.ip,
      userAgent: request.userAgent.slice(0, 256),
      requestId: request.requestId,
      method: createTenantMethod,
      action: "tenants.create",
      resource: `tenant:${made.tenant.id}`,
      outcome: "ALLOWED",
      reason: "",
      details: { name: input.name, adminUserId: made.admin.id, createdFromTenant: principal.tenantId },
    });
    await deps.tenants.scopeTo(tx, principal.tenantId);
    return made;
  });
  return outcome(created, {
    resource: `tenant:${created.tenant.id}`,
    details: { name: input.name, adminUsername: input.adminUsername, adminUserId: created.admin.id },
  });
}
