import { notFound } from "../../domain/errors.js";
import type { RoleRecord, RolesStore } from "../../store/roles.js";
import type { Call } from "../call.js";

/** getRole answers a role of the caller's tenant (NOT_FOUND when missing). */
export async function getRole(deps: { roles: Pick<RolesStore, "get"> }, call: Call, input: { roleId: string }): Promise<RoleRecord> {
  const id = input.roleId.toLowerCase();
  const role = await call.inTx((tx) => deps.roles.get(tx, id));
  if (!role) throw notFound("role");
  return role;
}

/** RolePage is a page of roles and the cursor of the next one. */
export interface RolePage {
  roles: RoleRecord[];
  nextAfter: string | undefined;
}

/** listRoles answers up to `limit` roles by name after `after`. */
export async function listRoles(deps: { roles: Pick<RolesStore, "list"> }, call: Call, input: { limit: number; after: string | undefined }): Promise<RolePage> {
  const rows = await call.inTx((tx) => deps.roles.list(tx, { limit: input.limit + 1, after: input.after }));
  const page = rows.slice(0, input.limit);
  return { roles: page, nextAfter: rows.length > input.limit ? page[page.length - 1]!.name : undefined };
}
