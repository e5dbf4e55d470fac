import { DomainError, invalidArgument, notFound } from "../../domain/errors.js";
import { requireHeld } from "../../domain/grant-rules.js";
import { roleNameProblem } from "../../domain/names.js";
import { checkPermissionKey, permissionCatalog } from "../../domain/permissions.js";
import { checkTightenOnly, validatePolicy } from "../../domain/policy-check.js";
import { mergePolicies, userLayerBound } from "../../domain/policy-merge.js";
import type { PolicyValues } from "../../domain/policy.js";
import { normalizePolicy, policyFromJson, policyToJson } from "../../policies/policy-codec.js";
import type { RoleRecord } from "../../store/roles.js";
import type { Tx } from "../../store/tx.js";
import { outcome, type Call, type Outcome } from "../call.js";
import { callerNow } from "../users/caller.js";
import type { RoleUseCaseDeps } from "./deps.js";

/**
 * Role management. Beyond the access option:
 * - permission keys are checked against the catalog on every write
 *   (malformed or unknown → INVALID_ARGUMENT naming the field);
 * - nobody puts into a role a key they don't hold themselves (CreateRole,
 *   AddRolePermission → PERMISSION_DENIED naming the key);
 * - built-in roles can't be deleted and their keys can't be edited
 *   (FAILED_PRECONDITION, BUILT_IN_ROLE); their default policy may be set;
 * - a change to a role's keys or default policy, or its deletion, drops every
 *   cached session of the tenant on every replica once committed.
 * A tenant admin with `roles.write` may narrow or delete a custom role even
 * when higher-level users hold it: the roles are the tenant's, and the
 * `superuser` role of platform operators is built in, hence immutable.
 */

/** requireKey refuses a malformed key and, unless `allowUnknown`, one not in the catalog. */
function requireKey(field: string, key: string, allowUnknown = false): string {
  const problem = checkPermissionKey(key);
  if (problem === "malformed") throw invalidArgument(field, "is not a permission key (module.capability)", key.slice(0, 128));
  if (problem === "unknown" && !allowUnknown) throw invalidArgument(field, "is not in the permission catalog", key);
  return key;
}

/** requireDescription refuses a blank or overlong description and answers it trimmed. */
function requireDescription(value: string): string {
  const trimmed = value.trim();
  if (trimmed === "") throw invalidArgument("description", "is required");
  if (trimmed.length > 1024) throw invalidArgument("description", "must be at most 1024 characters");
  return trimmed;
}

/** refuseBuiltIn refuses to change the permissions of, or delete, a built-in role. */
function refuseBuiltIn(role: RoleRecord, what: string): void {
  if (role.builtin) {
    throw new DomainError("failed_precondition", "BUILT_IN_ROLE", `the built-in role ${role.name} can't be ${what}`, { field: "role_id" });
  }
}

async function lockRole(deps: RoleUseCaseDeps, tx: Tx, id: string): Promise<RoleRecord> {
  const role = await deps.roles.get(tx, id, { lock: true });
  if (!role) throw notFound("role");
  return role;
}

/**
 * checkRolePolicy validates a role's default policy: well-formed, no
 * override_ceiling, and no field looser than the global policy's
 * override_ceiling allows (INVALID_ARGUMENT, POLICY_LOOSENS, naming the
 * field and the bound). It answers the layer in canonical form and the
 * fields that loosen the global policy (within the ceiling), for the audit
 * record.
 */
async function checkRolePolicy(deps: RoleUseCaseDeps, tx: Tx, requested: PolicyValues): Promise<{ policy: PolicyValues; loosened: string[] }> {
  const problem = validatePolicy(requested, "role")[0];
  if (problem) throw invalidArgument(problem.field, problem.message, problem.attempted);
  const values = normalizePolicy(requested);
  const global = await deps.globalPolicy(tx);
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

/** CreateRoleInput is a new role: name, description, keys and default policy. */
export interface CreateRoleInput {
  name: string;
  /** description is free text (trimmed, at most 1024 characters), or empty. */
  description: string;
  permissions: readonly string[];
  defaultPolicy: PolicyValues;
}

/** createRole creates a custom role with keys the caller holds. */
export async function createRole(deps: RoleUseCaseDeps, call: Call, input: CreateRoleInput): Promise<Outcome<RoleRecord>> {
  const nameProblem = roleNameProblem(input.name);
  if (nameProblem) throw invalidArgument("name", nameProblem, input.name.slice(0, 64));
  const description = input.description === "" ? "" : requireDescription(input.description);
  if (input.permissions.length > Object.keys(permissionCatalog).length * 2) throw invalidArgument("permissions", "too many keys");
  const keys = [...new Set(input.permissions.map((k) => requireKey("permissions", k)))].sort();
  const { role, policy, loosened } = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, call.principal);
    requireHeld(caller, keys, "permissions");
    const { policy, loosened } = await checkRolePolicy(deps, tx, input.defaultPolicy);
    const role = await deps.roles.create(tx, {
      tenantId: call.principal.tenantId,
      name: input.name,
      description,
      permissions: keys,
      defaultPolicy: policyToJson(policy),
    });
    return { role, policy, loosened };
  });
  return outcome(role, {
    resource: `role:${role.id}`,
    details: { name: input.name, permissions: keys, defaultPolicy: policy, ...(loosened.length > 0 ? { loosened } : {}) },
  });
}

/** deleteRole deletes a custom role; its grants go with it. */
export async function deleteRole(deps: RoleUseCaseDeps, call: Call, input: { roleId: string }): Promise<Outcome<void>> {
  const id = input.roleId.toLowerCase();
  const details = await call.inTx(async (tx) => {
    const role = await lockRole(deps, tx, id);
    refuseBuiltIn(role, "deleted");
    // Grants go with the role (user_roles cascades).
    await deps.roles.delete(tx, id);
    return { name: role.name, permissions: role.permissions };
  });
  call.afterCommit(() => deps.sessionCaches.invalidateTenant(call.principal.tenantId));
  return outcome(undefined, { resource: `role:${id}`, details });
}

/** addRolePermission adds a key the caller holds to a custom role (idempotent). */
export async function addRolePermission(deps: RoleUseCaseDeps, call: Call, input: { roleId: string; permission: string }): Promise<Outcome<RoleRecord>> {
  const id = input.roleId.toLowerCase();
  const key = requireKey("permission", input.permission);
  const role = await call.inTx(async (tx) => {
    const role = await lockRole(deps, tx, id);
    refuseBuiltIn(role, "changed");
    const caller = await callerNow(deps.users, tx, call.principal);
    requireHeld(caller, [key], "permission");
    if (role.permissions.includes(key)) return role;
    call.afterCommit(() => deps.sessionCaches.invalidateTenant(call.principal.tenantId));
    return deps.roles.setPermissions(tx, id, [...role.permissions, key]);
  });
  return outcome(role, { resource: `role:${id}` });
}

/** removeRolePermission removes a key from a custom role (idempotent); a key no longer in the catalog may still be removed. */
export async function removeRolePermission(deps: RoleUseCaseDeps, call: Call, input: { roleId: string; permission: string }): Promise<Outcome<RoleRecord>> {
  const id = input.roleId.toLowerCase();
  const key = requireKey("permission", input.permission, true);
  const role = await call.inTx(async (tx) => {
    const role = await lockRole(deps, tx, id);
    refuseBuiltIn(role, "changed");
    if (!role.permissions.includes(key)) return role;
    call.afterCommit(() => deps.sessionCaches.invalidateTenant(call.principal.tenantId));
    return deps.roles.setPermissions(tx, id, role.permissions.filter((k) => k !== key));
  });
  return outcome(role, { resource: `role:${id}` });
}

/** updateRoleDefaultPolicy sets a role's default policy (built-in roles too), within the global ceiling. */
export async function updateRoleDefaultPolicy(
  deps: RoleUseCaseDeps,
  call: Call,
  input: { roleId: string; policy: PolicyValues },
): Promise<Outcome<PolicyValues>> {
  const id = input.roleId.toLowerCase();
  const { role, details } = await call.inTx(async (tx) => {
    const current = await lockRole(deps, tx, id);
    const { policy, loosened } = await checkRolePolicy(deps, tx, input.policy);
    const role = await deps.roles.setDefaultPolicy(tx, id, policyToJson(policy));
    // Effective-policy caches (and session caches) of the tenant drop the old default once committed.
    call.afterCommit(() => deps.sessionCaches.invalidateTenant(call.principal.tenantId));
    return { role, details: { name: current.name, policy, ...(loosened.length > 0 ? { loosened } : {}) } };
  });
  return outcome(policyFromJson(role.defaultPolicy), { resource: `role:${id}`, details });
}
