import { EntitySchema, OptionalProps } from "@mikro-orm/core";

/**
 * Stored policy layers (global → room → macro → user). Each holds a layer as
 * JSON (the stored form of src/policies/policy-codec.ts) with who changed it
 * last. The macro layer's entity is macro-policy.ts (it goes with its macro);
 * a role's default policy lives on its `roles` row.
 */

/** GlobalPolicyEntity is the one row of `global_policy` (its id is always true). */
export interface GlobalPolicyEntity {
  [OptionalProps]?: "updatedAt" | "updatedBy";
  id: boolean;
  policy: Record<string, unknown>;
  updatedAt: Date;
  updatedBy: string | null;
}

/** GlobalPolicySchema maps GlobalPolicyEntity to `global_policy`. */
export const GlobalPolicySchema = new EntitySchema<GlobalPolicyEntity>({
  name: "GlobalPolicy",
  tableName: "global_policy",
  properties: {
    id: { type: "boolean", primary: true, default: true },
    policy: { type: "json", columnType: "jsonb" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedBy: { type: "uuid", nullable: true },
  },
});

/** RoomPolicyEntity is a row of `room_policies`: a room's own layer. */
export interface RoomPolicyEntity {
  [OptionalProps]?: "updatedAt" | "updatedBy";
  tenantId: string;
  roomId: string;
  policy: Record<string, unknown>;
  updatedAt: Date;
  updatedBy: string | null;
}

/** RoomPolicySchema maps RoomPolicyEntity to `room_policies`. */
export const RoomPolicySchema = new EntitySchema<RoomPolicyEntity>({
  name: "RoomPolicy",
  tableName: "room_policies",
  properties: {
    tenantId: { type: "uuid" },
    roomId: { type: "uuid", primary: true },
    policy: { type: "json", columnType: "jsonb" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedBy: { type: "uuid", nullable: true },
  },
});

/** UserPolicyEntity is a row of `user_policies`: a user's override. */
export interface UserPolicyEntity {
  [OptionalProps]?: "updatedAt" | "updatedBy";
  tenantId: string;
  userId: string;
  policy: Record<string, unknown>;
  updatedAt: Date;
  updatedBy: string | null;
}

/** UserPolicySchema maps UserPolicyEntity to `user_policies`. */
export const UserPolicySchema = new EntitySchema<UserPolicyEntity>({
  name: "UserPolicy",
  tableName: "user_policies",
  properties: {
    tenantId: { type: "uuid" },
    userId: { type: "uuid", primary: true },
    policy: { type: "json", columnType: "jsonb" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedBy: { type: "uuid", nullable: true },
  },
});
