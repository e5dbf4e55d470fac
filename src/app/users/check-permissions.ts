import type { RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import type { Principal } from "../../context.js";
import { notFound, permissionDenied } from "../../domain/errors.js";
import { evaluatePermission, type CheckResult, type Holder } from "../../domain/permission-check.js";
import type { UsersStore } from "../../store/users.js";
import type { Call } from "../call.js";

/** RoomRoles answers a principal's role in a room (membership, tenant admins, room tokens), undefined when there is no such room. */
export interface RoomRoles {
  roleOf(principal: Principal, roomId: string): Promise<RoomRole | undefined>;
}

/** CheckInput is one permission check (CheckPermission or an item of CheckPermissions). */
export interface CheckInput {
  permission: string;
  userId?: string;
  roomId?: string;
}

/** CheckDeps are what permission checks read: other users' access and room roles. */
export interface CheckDeps {
  users: Pick<UsersStore, "accessOf">;
  rooms: RoomRoles;
}

/**
 * checkPermissions runs permission checks. The caller's own checks are
 * answered from the session's permissions without a database round trip;
 * checking anyone else needs `users.read`. With `roomId`, the user's role in
 * the room must also reach roomRoleFor(permission); a room that doesn't
 * exist in the tenant is NOT_FOUND, and so is an unknown user.
 */
export async function checkPermissions(deps: CheckDeps, call: Call, checks: readonly CheckInput[]): Promise<CheckResult[]> {
  const { principal } = call;
  const others = new Set<string>();
  const inputs = checks.map((c) => {
    const roomId = c.roomId !== undefined && c.roomId !== "" ? c.roomId.toLowerCase() : undefined;
    if (c.userId === undefined || c.userId === "") return { roomId, userId: undefined };
    const id = c.userId.toLowerCase();
    if (id === principal.userId) return { roomId, userId: undefined };
    if (!principal.permissions.has("users.read")) {
      throw permissionDenied("PERMISSION_DENIED", "checking another user needs users.read", { permission: "users.read", layer: "role" });
    }
    others.add(id);
    return { roomId, userId: id };
  });
  const holders = others.size > 0 ? await call.inTx((tx) => deps.users.accessOf(tx, [...others])) : new Map<string, Holder>();
  if (holders.size !== others.size) throw notFound("user");
  const self: Holder = { userId: principal.userId, level: principal.level, disabled: false, permissions: principal.permissions };
  const roomRoles = new Map<string, Promise<RoomRole | undefined>>();
  const roomRoleOf = (holder: Holder, roomId: string) => {
    // The access rule's room check, when it ran for this room, already answered the caller's role.
    if (holder === self && call.room?.roomId === roomId) return Promise.resolve(call.room.role);
    const key = `${holder.userId}:${roomId}`;
    let role = roomRoles.get(key);
    if (!role) {
      const subject: Principal =
        holder === self
          ? principal
          : { ...principal, userId: holder.userId, username: "", level: holder.level, sessionId: "", permissions: holder.permissions, roles: [], via: "bearer", roomToken: undefined };
      role = deps.rooms.roleOf(subject, roomId);
      roomRoles.set(key, role);
    }
    return role;
  };
  return Promise.all(
    checks.map(async (c, i) => {
      const { roomId, userId } = inputs[i]!;
      const holder = userId === undefined ? self : holders.get(userId)!;
      const role = roomId === undefined ? undefined : await roomRoleOf(holder, roomId);
      if (roomId !== undefined && role === undefined) throw notFound("room");
      return evaluatePermission(c.permission, holder, role);
    }),
  );
}
