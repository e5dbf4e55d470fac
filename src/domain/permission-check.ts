import { RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import type { Reason } from "./errors.js";
import { builtInRoles, checkPermissionKey } from "./permissions.js";

/** Holder is a user whose permissions a check evaluates. */
export interface Holder {
  userId: string;
  level: number;
  disabled: boolean;
  permissions: ReadonlySet<string>;
}

/** CheckResult is the answer to one permission check. */
export interface CheckResult {
  allowed: boolean;
  reason: Reason | "";
}

const viewerKeys = new Set(builtInRoles.find((r) => r.name === "viewer")!.permissions);
const editorKeys = new Set(builtInRoles.find((r) => r.name === "editor")!.permissions);

/**
 * roomRoleFor answers the room role a permission needs inside a room: the
 * keys of the built-in `viewer` role need ROOM_ROLE_VIEWER, the rest of
 * `editor`'s ROOM_ROLE_EDITOR, every other key ROOM_ROLE_ADMIN — the same
 * mapping that gives room tokens the built-in roles' permissions.
 */
export function roomRoleFor(permission: string): RoomRole {
  if (viewerKeys.has(permission)) return RoomRole.VIEWER;
  if (editorKeys.has(permission)) return RoomRole.EDITOR;
  return RoomRole.ADMIN;
}

/**
 * evaluatePermission answers one check from a user's effective permissions
 * and, in a room, the user's room role. Deny by default: a malformed or
 * unknown key answers UNKNOWN_PERMISSION, a disabled user USER_DISABLED, a
 * key no role grants PERMISSION_DENIED, a room role below roomRoleFor(key)
 * ROOM_ROLE_REQUIRED.
 */
export function evaluatePermission(permission: string, holder: Holder, roomRole?: RoomRole): CheckResult {
  if (checkPermissionKey(permission) !== undefined) return { allowed: false, reason: "UNKNOWN_PERMISSION" };
  if (holder.disabled) return { allowed: false, reason: "USER_DISABLED" };
  if (!holder.permissions.has(permission)) return { allowed: false, reason: "PERMISSION_DENIED" };
  if (roomRole !== undefined && roomRole < roomRoleFor(permission)) return { allowed: false, reason: "ROOM_ROLE_REQUIRED" };
  return { allowed: true, reason: "" };
}
