import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { PermissionSchema, RoleSchema, RolesService, type Role } from "../../gen/gatehouse/v1/roles_pb.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound } from "../domain/errors.js";
import { roleNameProblem } from "../domain/names.js";
import { checkPermissionKey, permissionCatalog } from "../domain/permissions.js";
import { checkTightenOnly, validatePolicy } from "../domain/policy-check.js";
import { mergePolicies, userLayerBound } from "../domain/policy-merge.js";
import type { PolicyValues } from "../domain/policy.js";
import { normalizePolicy, policyFromJson, policyMessageOf, policyToJson, policyValuesOfMessage } from "../policies/policy-codec.js";
import { callerNow, pgArrayLiteral, requireHeld } from "./grants.js";
import { afterCommit, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, requireText, transactionOf } from "./support.js";

interface RoleRow {
  id: string;
  tenant_id: string;
  name: string;
  description: string;
  permissions: string[];
  default_policy: unknown;
  builtin: boolean;
  created_at: Date;
  updated_at: Date;
}

const roleColumns = "id, tenant_id, name, description, permissions, default_policy, builtin, created_at, updated_at";

function roleMessage(row: RoleRow): Role {
  return create(RoleSchema, {
    roleId: row.id,
    tenantId: row.tenant_id,
    name: row.name,
    description: row.description,
    permissions: [...row.permissions].sort(),
    defaultPolicy: policyMessageOf(policyFromJson(row.default_policy)),
    builtIn: row.builtin,
    createdAt: timestampFromDate(new Date(row.created_at)),
    updatedAt: timestampFromDate(new Date(row.updated_at)),
  });
}

async function readRole(em: EntityManager, id: string, forUpdate = false): Promise<RoleRow> {
  const rows = (await em.execute(`select ${roleColumns} from roles where id = ?${forUpdate ? " for update" : ""}`, [id])) as RoleRow[];
  if (!rows[0]) throw notFound("role");
  return rows[0];
}

/** requireKey refuses a malformed key and, unless `allowUnknown`, one not in the catalog. */
function requireKey(field: string, key: string, allowUnknown = false): string {
  const problem = checkPermissionKey(key);
  if (problem === "malformed") throw invalidArgument(field, "is not a permission key (module.capability)", key.slice(0, 128));
  if (problem === "unknown" && !allowUnknown) throw invalidArgument(field, "is not in the permission catalog", key);
  return key;
}

/** refuseBuiltIn refuses to change the permissions of, or delete, a built-in role. */
function refuseBuiltIn(role: RoleRow, what: string): void {
  if (role.builtin) {
    throw new DomainError("failed_precondition", "BUILT_IN_ROLE", `the built-in role ${role.name} can't be ${what}`, { field: "role_id" });
  }
}

/**
 * checkRolePolicy validates a role's default policy: well-formed, no
 * override_ceiling, and no field looser than the global policy's
 * override_ceiling allows (INVALID_ARGUMENT, POLICY_LOOSENS, naming the
 * field and the bound). It answers the layer in canonical form and the
 * fields that loosen the global policy (within the ceiling), for the audit
 * record.
 */
async function checkRolePolicy(em: EntityManager, requested: PolicyValues): Promise<{ policy: PolicyValues; loosened: string[] }> {
  const problem = validatePolicy(requested, "role")[0];
  if (problem) throw invalidArgument(problem.field, problem.message, problem.attempted);
  const values = normalizePolicy(requested);
  const rows = (await em.execute("select policy from global_policy where id")) as Array<{ policy: unknown }>;
  const global = policyFromJson(rows[0]?.policy);
  const upper = mergePolicies([{ name: "global", policy: global }]).policy;
  const loosens = checkTightenOnly(userLayerBound(upper, global.overrideCeiling), values)[0];
  if (loosens) {
    throw new DomainError("invalid_argument", "POLICY_LOOSENS", `${loosens.field}: looser than the global override_ceiling allows`, {
      field: loosens.field,
      attemptedValue: loosens.attempted,
      parentValue: loosens.parent,
      layer: "global",
    });
  }
  return { policy: values, loosened: checkTightenOnly(upper, values).map((p) => p.field) };
}

/**
 * createRolesService implements RolesService.
 *
 * Rules beyond the access option:
 * - permission keys are checked against the catalog on every write
 *   (malformed or unknown → INVALID_ARGUMENT naming the field);
 * - nobody puts into a role a key they don't hold themselves (CreateRole,
 *   AddRolePermission → PERMISSION_DENIED naming the key): holders of the
 *   role would get it, the caller perhaps among them;
 * - built-in roles can't be deleted and their keys can't be edited
 *   (FAILED_PRECONDITION, BUILT_IN_ROLE); their default policy may be set;
 * - a change to a role's keys, or its deletion, drops every cached session
 *   of the tenant on every replica, so permissions change at once.
 * A tenant admin with `roles.write` may narrow or delete a custom role even
 * when higher-level users hold it: the roles are the tenant's, and the
 * `superuser` role of platform operators is built in, hence immutable.
 */
export function createRolesService(deps: Deps): ServiceImpl<typeof RolesService> {
  return {
    async listPermissions() {
      const keys = Object.keys(permissionCatalog).sort();
      return { permissions: keys.map((key) => create(PermissionSchema, { key, description: permissionCatalog[key]! })) };
    },

    async listRoles(req, ctx) {
      const { limit, after } = pageOf(req);
      const rows = await inCallerTenant(ctx, deps, async (em) =>
        (await em.execute(
          `select ${roleColumns} from roles ${after === undefined ? "" : "where name > ?"} order by name limit ?`,
          after === undefined ? [limit + 1] : [after, limit + 1],
        )) as RoleRow[],
      );
      const page = rows.slice(0, limit);
      return { roles: page.map(roleMessage), nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!.name) : "" };
    },

    async getRole(req, ctx) {
      const id = req.roleId.toLowerCase();
      return { role: roleMessage(await inCallerTenant(ctx, deps, (em) => readRole(em, id))) };
    },

    async createRole(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "roles.create";
      note.details = { name: req.name.slice(0, 64), permissions: req.permissions.slice(0, 100) };
      const nameProblem = roleNameProblem(req.name);
      if (nameProblem) throw invalidArgument("name", nameProblem, req.name.slice(0, 64));
      const description = req.description === "" ? "" : requireText("description", req.description, 1024);
      if (req.permissions.length > Object.keys(permissionCatalog).length * 2) throw invalidArgument("permissions", "too many keys");
      const keys = [...new Set(req.permissions.map((k) => requireKey("permissions", k)))].sort();
      const requested = policyValuesOfMessage(req.defaultPolicy);
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      requireHeld(caller, keys, "permissions");
      const { policy, loosened } = await checkRolePolicy(tx, requested);
      const [row] = (await tx.execute(
        `insert into roles (tenant_id, name, description, permissions, default_policy) values (?, ?, ?, ?::text[], ?::jsonb) returning ${roleColumns}`,
        [principal.tenantId, req.name, description, pgArrayLiteral(keys), JSON.stringify(policyToJson(policy))],
      )) as RoleRow[];
      note.resource = `role:${row!.id}`;
      note.details = { name: req.name, permissions: keys, defaultPolicy: policy, ...(loosened.length > 0 ? { loosened } : {}) };
      return { role: roleMessage(row!) };
    },

    async deleteRole(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "roles.delete";
      const id = req.roleId.toLowerCase();
      note.resource = `role:${id}`;
      const tx = transactionOf(ctx);
      const role = await readRole(tx, id, true);
      note.details = { name: role.name, permissions: role.permissions };
      refuseBuiltIn(role, "deleted");
      // Grants go with the role (user_roles cascades).
      await tx.execute("delete from roles where id = ?", [id]);
      afterCommit(ctx, () => deps.sessions.invalidateTenant(principal.tenantId));
      return {};
    },

    async listRolePermissions(req, ctx) {
      const id = req.roleId.toLowerCase();
      const role = await inCallerTenant(ctx, deps, (em) => readRole(em, id));
      return { permissions: [...role.permissions].sort() };
    },

    async addRolePermission(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "roles.add_permission";
      const id = req.roleId.toLowerCase();
      note.resource = `role:${id}`;
      note.details = { permission: req.permission.slice(0, 128) };
      const key = requireKey("permission", req.permission);
      const tx = transactionOf(ctx);
      const role = await readRole(tx, id, true);
      refuseBuiltIn(role, "changed");
      const caller = await callerNow(tx, principal);
      requireHeld(caller, [key], "permission");
      if (role.permissions.includes(key)) return { role: roleMessage(role) };
      const [row] = (await tx.execute(
        `update roles set permissions = array_append(permissions, ?), updated_at = now() where id = ? returning ${roleColumns}`,
        [key, id],
      )) as RoleRow[];
      afterCommit(ctx, () => deps.sessions.invalidateTenant(principal.tenantId));
      return { role: roleMessage(row!) };
    },

    async removeRolePermission(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "roles.remove_permission";
      const id = req.roleId.toLowerCase();
      note.resource = `role:${id}`;
      note.details = { permission: req.permission.slice(0, 128) };
      // A key no longer in the catalog may still be removed.
      const key = requireKey("permission", req.permission, true);
      const tx = transactionOf(ctx);
      const role = await readRole(tx, id, true);
      refuseBuiltIn(role, "changed");
      if (!role.permissions.includes(key)) return { role: roleMessage(role) };
      const [row] = (await tx.execute(
        `update roles set permissions = array_remove(permissions, ?), updated_at = now() where id = ? returning ${roleColumns}`,
        [key, id],
      )) as RoleRow[];
      afterCommit(ctx, () => deps.sessions.invalidateTenant(principal.tenantId));
      return { role: roleMessage(row!) };
    },

    async getRoleDefaultPolicy(req, ctx) {
      const id = req.roleId.toLowerCase();
      const role = await inCallerTenant(ctx, deps, (em) => readRole(em, id));
      return { policy: policyMessageOf(policyFromJson(role.default_policy)) };
    },

    async updateRoleDefaultPolicy(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "roles.update_default_policy";
      const id = req.roleId.toLowerCase();
      note.resource = `role:${id}`;
      const requested = policyValuesOfMessage(req.policy);
      note.details = { policy: policyToJson(requested) };
      const tx = transactionOf(ctx);
      const role = await readRole(tx, id, true);
      const { policy, loosened } = await checkRolePolicy(tx, requested);
      note.details = { name: role.name, policy, ...(loosened.length > 0 ? { loosened } : {}) };
      const [row] = (await tx.execute(
        `update roles set default_policy = ?::jsonb, updated_at = now() where id = ? returning ${roleColumns}`,
        [JSON.stringify(policyToJson(policy)), id],
      )) as RoleRow[];
      // Effective-policy caches (and session caches) of the tenant drop the old default once committed.
      afterCommit(ctx, () => deps.sessions.invalidateTenant(principal.tenantId));
      return { policy: policyMessageOf(policyFromJson(row!.default_policy)) };
    },
  };
}
