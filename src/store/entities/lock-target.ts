import { BigIntType, EntitySchema, OptionalProps, PrimaryKeyProp } from "@mikro-orm/core";

/**
 * LockTargetEntity is a row of `lock_targets`: the lock service's durable
 * bookkeeping of one lockable target of a room, beside the leases themselves
 * (Redis or memory). Its last_token issues fencing tokens that keep
 * increasing across restarts and Redis failures.
 */
export interface LockTargetEntity {
  [PrimaryKeyProp]?: ["tenantId", "roomId", "target"];
  [OptionalProps]?: "lastToken" | "lastOwnerId" | "lastOwnerName" | "lastAcquiredAt" | "held" | "expiresAt";
  tenantId: string;
  roomId: string;
  /** target is `macro/<id>` or `repo/<id>`. */
  target: string;
  /** lastToken is the fencing token issued last (0 before the first). */
  lastToken: string;
  /** lastOwnerId is the last acquirer's user id (null for a room token). */
  lastOwnerId: string | null;
  lastOwnerName: string | null;
  lastAcquiredAt: Date | null;
  /** held is true from an acquisition until its release or break (a lapsed lease stays held until the next one). */
  held: boolean;
  /** expiresAt is the end of the lease as last granted or refreshed (null on rows from before migration 0007). */
  expiresAt: Date | null;
}

/** LockTargetSchema maps LockTargetEntity to the `lock_targets` table. */
export const LockTargetSchema = new EntitySchema<LockTargetEntity>({
  name: "LockTarget",
  tableName: "lock_targets",
  properties: {
    tenantId: { type: "uuid", primary: true },
    roomId: { type: "uuid", primary: true },
    target: { type: "text", primary: true },
    lastToken: { type: new BigIntType("string"), defaultRaw: "0" },
    lastOwnerId: { type: "uuid", nullable: true },
    lastOwnerName: { type: "text", nullable: true },
    lastAcquiredAt: { type: "datetime", columnType: "timestamptz(3)", nullable: true },
    held: { type: "boolean", defaultRaw: "false" },
    expiresAt: { type: "datetime", columnType: "timestamptz(3)", nullable: true },
  },
});
