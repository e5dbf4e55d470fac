import { Level, RoomRole } from "../../../gen/gatehouse/v1/common_pb.js";
import type { ViewContext } from "./ui.js";

/**
 * What the caller may do, read from WhoAmI (permissions and level) and from
 * a room's `my_role`. The server decides every call; these checks only keep
 * the console from offering a control whose call would be refused, so a
 * person sees what they can do and nothing else.
 */

/** Need is what a screen or control asks of the caller. */
export interface Need {
  /** permission is a catalog key the caller must hold. */
  permission?: string;
  /** minLevel is the lowest level that may use it. */
  minLevel?: Level;
}

/** allows tells whether the caller meets a Need. */
export function allows(ctx: Pick<ViewContext, "can" | "me">, need: Need): boolean {
  if (need.permission && !ctx.can(need.permission)) return false;
  if (need.minLevel !== undefined && ctx.me.level < need.minLevel) return false;
  return true;
}

/**
 * allowsInRoom tells whether the caller holds `permission` and at least
 * `minRole` in a room (its `my_role`, which already counts a tenant ADMIN as
 * room ADMIN).
 */
export function allowsInRoom(ctx: Pick<ViewContext, "can">, permission: string, myRole: RoomRole | undefined, minRole: RoomRole): boolean {
  return ctx.can(permission) && (myRole ?? RoomRole.UNSPECIFIED) >= minRole;
}

/**
 * outranks tells whether the caller may manage a user of `level`: only users
 * below their own level, except SUPERGOD who manages every level.
 */
export function outranks(ctx: Pick<ViewContext, "me">, level: Level): boolean {
  return ctx.me.level === Level.SUPERGOD || level < ctx.me.level;
}

/** assignableLevels are the levels the caller may give a user (below their own; SUPERGOD: all). */
export function assignableLevels(ctx: Pick<ViewContext, "me">): Level[] {
  const all = [Level.GUEST, Level.USER, Level.ADMIN, Level.GOD, Level.SUPERGOD];
  return all.filter((l) => outranks(ctx, l));
}
