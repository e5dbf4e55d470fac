import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { PermissionSchema, RoleSchema, RolesService, type Role } from "../../gen/gatehouse/v1/roles_pb.js";
import type { RoleUseCaseDeps } from "../app/roles/deps.js";
import { addRolePermission, createRole, deleteRole, removeRolePermission, updateRoleDefaultPolicy } from "../app/roles/manage-roles.js";
import { getRole, listRoles } from "../app/roles/read-roles.js";
import { permissionCatalog } from "../domain/permissions.js";
import { policyFromJson, policyMessageOf, policyToJson, policyValuesOfMessage } from "../policies/policy-codec.js";
import type { RoleRecord } from "../store/roles.js";
import { answer, callOf } from "./call.js";
import { requestFacts } from "./request-facts.js";
import { pageOf, pageToken } from "./support.js";

/** RolesServiceDeps are what RolesService uses. */
export type RolesServiceDeps = RoleUseCaseDeps;

/** roleMessage renders a role record as the API's Role. */
function roleMessage(row: RoleRecord): Role {
  return create(RoleSchema, {
    roleId: row.id,
    tenantId: row.tenantId,
    name: row.name,
    description: row.description,
    permissions: [...row.permissions].sort(),
    defaultPolicy: policyMessageOf(policyFromJson(row.defaultPolicy)),
    builtIn: row.builtin,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}

/**
 * createRolesService implements RolesService over the role use cases
 * (src/app/roles/), where the catalog check, the grant rule and the
 * built-in roles' protection live.
 */
export function createRolesService(deps: RolesServiceDeps): ServiceImpl<typeof RolesService> {
  const target = (roleId: string) => `role:${roleId.toLowerCase()}`;
  return {
    async listPermissions() {
      const keys = Object.keys(permissionCatalog).sort();
      return { permissions: keys.map((key) => create(PermissionSchema, { key, description: permissionCatalog[key]! })) };
    },

    async listRoles(req, ctx) {
      const page = await listRoles(deps, callOf(ctx), pageOf(req));
      return { roles: page.roles.map(roleMessage), nextPageToken: pageToken(page.nextAfter) };
    },

    async getRole(req, ctx) {
      return { role: roleMessage(await getRole(deps, callOf(ctx), req)) };
    },

    async createRole(req, ctx) {
      requestFacts(ctx, { details: { name: req.name.slice(0, 64), permissions: req.permissions.slice(0, 100) } });
      const input = {
        name: req.name,
        description: req.description,
        permissions: req.permissions,
        defaultPolicy: policyValuesOfMessage(req.defaultPolicy),
      };
      return { role: roleMessage(answer(ctx, await createRole(deps, callOf(ctx), input))) };
    },

    async deleteRole(req, ctx) {
      requestFacts(ctx, { resource: target(req.roleId) });
      answer(ctx, await deleteRole(deps, callOf(ctx), req));
      return {};
    },

    async listRolePermissions(req, ctx) {
      const role = await getRole(deps, callOf(ctx), req);
      return { permissions: [...role.permissions].sort() };
    },

    async addRolePermission(req, ctx) {
      requestFacts(ctx, { resource: target(req.roleId), details: { permission: req.permission.slice(0, 128) } });
      return { role: roleMessage(answer(ctx, await addRolePermission(deps, callOf(ctx), req))) };
    },

    async removeRolePermission(req, ctx) {
      requestFacts(ctx, { resource: target(req.roleId), details: { permission: req.permission.slice(0, 128) } });
      return { role: roleMessage(answer(ctx, await removeRolePermission(deps, callOf(ctx), req))) };
    },

    async getRoleDefaultPolicy(req, ctx) {
      const role = await getRole(deps, callOf(ctx), req);
      return { policy: policyMessageOf(policyFromJson(role.defaultPolicy)) };
    },

    async updateRoleDefaultPolicy(req, ctx) {
      const policy = policyValuesOfMessage(req.policy);
      requestFacts(ctx, { resource: target(req.roleId), details: { policy: policyToJson(policy) } });
      return { policy: policyMessageOf(answer(ctx, await updateRoleDefaultPolicy(deps, callOf(ctx), { roleId: req.roleId, policy }))) };
    },
  };
}
