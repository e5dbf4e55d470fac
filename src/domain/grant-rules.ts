import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { permissionDenied } from "./errors.js";

/**
 * The level hierarchy and the grant rule (docs/concepts.md), applied to the
 * caller as the database says inside the call's own transaction (CallerNow),
 * not to the session state cached for up to a second.
 */

/** CallerNow is the caller's level and effective permissions read in the call's transaction. */
export interface CallerNow {
  userId: string;
  level: number;
  permissions: ReadonlySet<string>;
}

/** isSupergod says whether a level is exempt from the level hierarchy's rules. */
export function isSupergod(level: number): boolean {
  return level >= Level.SUPERGOD;
}

const levelName = (level: number) => Level[level] ?? String(level);

/**
 * requireOutranks refuses (LEVEL_TOO_LOW) to act on a user whose level is not
 * strictly below the caller's. Equal-level peers are refused too: an admin
 * can't disable, delete, re-level or re-role another admin (nor themselves,
 * whose level is their own). SUPERGOD is exempt (docs/concepts.md).
 */
export function requireOutranks(caller: CallerNow, targetLevel: number, field = "user_id"): void {
  if (isSupergod(caller.level) || targetLevel < caller.level) return;
  throw permissionDenied("LEVEL_TOO_LOW", "you may only manage users below your own level", {
    layer: "level",
    field,
    attemptedValue: levelName(targetLevel),
    parentValue: levelName(caller.level),
  });
}

/**
 * requireAssignableLevel refuses (LEVEL_TOO_LOW) to give anyone a level at or
 * above the caller's own; only SUPERGOD may.
 */
export function requireAssignableLevel(caller: CallerNow, level: number, field = "level"): void {
  if (isSupergod(caller.level) || level < caller.level) return;
  throw permissionDenied("LEVEL_TOO_LOW", "you may only give levels below your own", {
    layer: "level",
    field,
    attemptedValue: levelName(level),
    parentValue: levelName(caller.level),
  });
}

/**
 * requireHeld refuses (PERMISSION_DENIED, naming the key) to grant any key
 * the caller doesn't hold: nobody can hand out more than they have, whether
 * by giving a user a role, creating a role or adding a key to a role.
 */
export function requireHeld(caller: CallerNow, keys: Iterable<string>, field: string): void {
  for (const key of keys) {
    if (!caller.permissions.has(key)) {
      throw permissionDenied("PERMISSION_DENIED", `you can't grant ${key}: you don't hold it`, { permission: key, layer: "role", field });
    }
  }
}

/** refuseSelf refuses, for everyone including SUPERGOD, to change one's own level, disabled flag or existence. */
export function refuseSelf(callerId: string, targetId: string, what: string): void {
  if (targetId === callerId) {
    throw permissionDenied("LEVEL_TOO_LOW", `you can't ${what} yourself`, { layer: "level", field: "user_id" });
  }
}
