import { Level, RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import type { Principal } from "../../context.js";
import { invalidArgument } from "../../domain/errors.js";
import { isUuid } from "../../domain/ids.js";

/** isUserActor tells whether the principal is a user (a room-token principal has no user row). */
export function isUserActor(principal: Principal): boolean {
  return isUuid(principal.userId);
}

/** actorId is the caller's user id for `created_by`/`updated_by` columns, or null for a room-token principal. */
export function actorId(principal: Principal): string | null {
  return isUserActor(principal) ? principal.userId : null;
}

/**
 * myRoleOf is the caller's role in a room of their tenant, answered as the
 * authz interceptor's RoomAccess does (src/rooms/room-access.ts): a room
 * token's role in its one room, ADMIN for a tenant ADMIN or above, else the
 * membership's role (`memberRole`, undefined when no member); UNSPECIFIED
 * when none. For rooms the access rule did not check (ListRooms, CreateRoom).
 */
export function myRoleOf(principal: Principal, roomId: string, memberRole: number | undefined): RoomRole {
  if (principal.roomToken) return principal.roomToken.roomId === roomId ? (principal.roomToken.role as RoomRole) : RoomRole.UNSPECIFIED;
  if (!isUserActor(principal)) return RoomRole.UNSPECIFIED;
  if (principal.level >= Level.ADMIN) return RoomRole.ADMIN;
  return (memberRole ?? RoomRole.UNSPECIFIED) as RoomRole;
}

/** requireMemberRole refuses a role a membership cannot have. */
export function requireMemberRole(role: RoomRole): RoomRole {
  if (role !== RoomRole.VIEWER && role !== RoomRole.EDITOR && role !== RoomRole.ADMIN) {
    throw invalidArgument("role", "must be ROOM_ROLE_VIEWER, ROOM_ROLE_EDITOR or ROOM_ROLE_ADMIN", RoomRole[role] ?? String(role));
  }
  return role;
}
