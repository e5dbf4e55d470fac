import { AuditEventSchema } from "./audit-event.js";
import { AuditHeadSchema } from "./audit-head.js";
import { RoleSchema } from "./role.js";
import { SessionSchema } from "./session.js";
import { SigningKeySchema } from "./signing-key.js";
import { TenantSchema } from "./tenant.js";
import { UserRoleSchema } from "./user-role.js";
import { UserSchema } from "./user.js";

export * from "./audit-event.js";
export * from "./audit-head.js";
export * from "./role.js";
export * from "./session.js";
export * from "./signing-key.js";
export * from "./tenant.js";
export * from "./user-role.js";
export * from "./user.js";

/**
 * entities lists every entity schema given to MikroORM. A new table needs its
 * schema here and its DDL in a new migration (see migrations/index.ts).
 */
export const entities = [
  TenantSchema,
  UserSchema,
  RoleSchema,
  UserRoleSchema,
  SessionSchema,
  AuditEventSchema,
  AuditHeadSchema,
  SigningKeySchema,
];
