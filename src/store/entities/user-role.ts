import { EntitySchema, PrimaryKeyProp } from "@mikro-orm/core";

/**
 * UserRoleEntity is a row of `user_roles`: one role granted to one user. The
 * composite foreign keys `(tenant_id, user_id)` and `(tenant_id, role_id)` make a
 * cross-tenant grant impossible, and deleting the user or role removes the row.
 */
export interface UserRoleEntity {
  [PrimaryKeyProp]?: ["userId", "roleId"];
  /** tenantId is the tenant of both the user and the role. */
  tenantId: string;
  /** userId is the user holding the role. */
  userId: string;
  /** roleId is the role granted. */
  roleId: string;
}

/** UserRoleSchema maps UserRoleEntity to the `user_roles` table. */
export const UserRoleSchema = new EntitySchema<UserRoleEntity>({
  name: "UserRole",
  tableName: "user_roles",
  properties: {
    tenantId: { type: "uuid" },
    userId: { type: "uuid", primary: true },
    roleId: { type: "uuid", primary: true },
  },
});
