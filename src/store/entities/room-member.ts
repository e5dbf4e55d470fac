import { EntitySchema, OptionalProps, PrimaryKeyProp } from "@mikro-orm/core";

/**
 * RoomMemberEntity is a row of `room_members`: one user's role in one room
 * (1 viewer, 2 editor, 3 admin, the values of RoomRole). The composite
 * foreign keys to rooms and users keep room and user in one tenant; deleting
 * either removes the row.
 */
export interface RoomMemberEntity {
  [PrimaryKeyProp]?: ["roomId", "userId"];
  [OptionalProps]?: "createdAt" | "updatedAt";
  /** tenantId is the tenant of both the room and the user. */
  tenantId: string;
  roomId: string;
  userId: string;
  /** role is the RoomRole value (1..3). */
  role: number;
  createdAt: Date;
  updatedAt: Date;
}

/** RoomMemberSchema maps RoomMemberEntity to the `room_members` table. */
export const RoomMemberSchema = new EntitySchema<RoomMemberEntity>({
  name: "RoomMember",
  tableName: "room_members",
  properties: {
    tenantId: { type: "uuid" },
    roomId: { type: "uuid", primary: true },
    userId: { type: "uuid", primary: true },
    role: { type: "smallint" },
    createdAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()", onUpdate: () => new Date() },
  },
});
