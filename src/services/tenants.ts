import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { TenantSchema, TenantsService } from "../../gen/gatehouse/v1/tenants_pb.js";
import type { Deps } from "../deps.js";
import { createTenantRows } from "../bootstrap.js";
import { invalidArgument } from "../domain/errors.js";
import { tenantNameProblem, usernameProblem } from "../domain/names.js";
import { hashPassword, passwordProblem } from "../auth/passwords.js";
import { auditNoteOf, pageOf, pageToken, principalOf, requestInfoOf, transactionOf } from "./support.js";
import { userMessage } from "./user-view.js";
import { ormUsersStore } from "../store/users.js";

/**
 * createTenantsService implements TenantsService (SUPERGOD only, by the
 * access option: min_level SUPERGOD and `tenants.manage`).
 *
 * CreateTenant runs entirely in the caller's unit-of-work transaction (no
 * second connection: that would deadlock embedded PGlite): the tenant row
 * comes from the SECURITY DEFINER function gatehouse_create_tenant, the
 * built-in roles and the first admin (LEVEL_ADMIN, role `admin`) are written
 * under the new tenant's RLS scope, the new tenant's audit chain opens with a
 * `tenants.create` event naming the platform operator, and the scope is set
 * back to the caller's tenant, where the unit of work appends the caller's
 * own ALLOWED record. All of it commits or rolls back together.
 */
export function createTenantsService(deps: Deps): ServiceImpl<typeof TenantsService> {
  return {
    async createTenant(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "tenants.create";
      note.details = { name: req.name.slice(0, 64), adminUsername: req.adminUsername.slice(0, 64) };
      const nameProblem = tenantNameProblem(req.name);
      if (nameProblem) throw invalidArgument("name", nameProblem, req.name.slice(0, 64));
      const adminProblem = usernameProblem(req.adminUsername);
      if (adminProblem) throw invalidArgument("admin_username", adminProblem, req.adminUsername.slice(0, 64));
      const pwProblem = passwordProblem(req.adminPassword);
      if (pwProblem) throw invalidArgument("admin_password", pwProblem);
      const adminPasswordHash = await hashPassword(req.adminPassword);
      const tx = transactionOf(ctx);
      const created = await createTenantRows(tx, {
        name: req.name,
        adminUsername: req.adminUsername,
        adminPasswordHash,
        adminLevel: Level.ADMIN,
        adminRole: "admin",
        createdBy: principal.userId,
      });
      // Still scoped to the new tenant: read its admin and open its audit chain.
      const admin = await ormUsersStore.get(tx, created.adminUserId);
      const info = requestInfoOf(ctx);
      await deps.audit.append(tx, {
        tenantId: created.tenantId,
        actorId: principal.userId,
        actorName: principal.username,
        ip: info.ip,
        userAgent: info.userAgent.slice(0, 256),
        requestId: info.requestId,
        method: `${TenantsService.typeName}/CreateTenant`,
        action: "tenants.create",
        resource: `tenant:${created.tenantId}`,
        outcome: "ALLOWED",
        reason: "",
        details: { name: req.name, adminUserId: created.adminUserId, createdFromTenant: principal.tenantId },
      });
      await tx.execute("select set_config('gatehouse.tenant_id', ?, true)", [principal.tenantId]);
      note.resource = `tenant:${created.tenantId}`;
      note.details = { name: req.name, adminUsername: req.adminUsername, adminUserId: created.adminUserId };
      return {
        tenant: create(TenantSchema, { tenantId: created.tenantId, name: req.name, createdAt: timestampFromDate(created.createdAt) }),
        adminUser: userMessage(admin!),
      };
    },

    async listTenants(req) {
      const { limit, after } = pageOf(req);
      // Listing crosses the tenant wall: a system read (no unit of work is open here).
      const rows = await deps.db.asSystem(
        async (em) =>
          (await em.execute(
            `select id, name, created_at from tenants ${after === undefined ? "" : "where name > ?"} order by name limit ?`,
            after === undefined ? [limit + 1] : [after, limit + 1],
          )) as Array<{ id: string; name: string; created_at: Date }>,
        { readOnly: true },
      );
      const page = rows.slice(0, limit);
      return {
        tenants: page.map((r) => create(TenantSchema, { tenantId: r.id, name: r.name, createdAt: timestampFromDate(new Date(r.created_at)) })),
        nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!.name) : "",
      };
    },
  };
}
