import { AuditEventSchema } from "./audit-event.js";
import { AuditHeadSchema } from "./audit-head.js";
import { MacroPolicySchema } from "./macro-policy.js";
import { GlobalPolicySchema, RoomPolicySchema, UserPolicySchema } from "./policy-layers.js";
import { MacroSchema } from "./macro.js";
import { RepoSchema } from "./repo.js";
import { StoreRecordSchema } from "./store-record.js";
import { RoleSchema } from "./role.js";
import { RoomMemberSchema } from "./room-member.js";
import { RoomSchema } from "./room.js";
import { LockTargetSchema } from "./lock-target.js";
import { RuleVersionSchema } from "./rule-version.js";
import { RuleSchema } from "./rule.js";
import { SessionSchema } from "./session.js";
import { SigningKeySchema } from "./signing-key.js";
import { TenantSchema } from "./tenant.js";
import { UserRoleSchema } from "./user-role.js";
import { UserSchema } from "./user.js";

export * from "./audit-event.js";
export * from "./audit-head.js";
export * from "./macro-policy.js";
export * from "./policy-layers.js";
export * from "./macro.js";
export * from "./repo.js";
export * from "./store-record.js";
export * from "./role.js";
export * from "./room-member.js";
export * from "./room.js";
export * from "./lock-target.js";
export * from "./rule-version.js";
export * from "./rule.js";
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
  RoomSchema,
  RoomMemberSchema,
  GlobalPolicySchema,
  RoomPolicySchema,
  UserPolicySchema,
  AuditEventSchema,
  AuditHeadSchema,
  MacroPolicySchema,
  RepoSchema,
  MacroSchema,
  StoreRecordSchema,
  LockTargetSchema,
  RuleSchema,
  RuleVersionSchema,
  SigningKeySchema,
];
