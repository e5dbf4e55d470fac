import type { EntityManager } from "@mikro-orm/postgresql";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import type { Principal } from "../context.js";
import { DomainError, permissionDenied } from "../domain/errors.js";

/**
 * CallerNow is the caller as the database says inside the call's own
 * transaction — not the session state cached for up to a second — so a
 * caller demoted or stripped of a role a moment ago can't use what they lost.
 */
export interface CallerNow {
  userId: string;
  level: number;
  permissions: ReadonlySet<string>;
}

/**
 * callerNow reads the caller's level and effective permissions in `em`; a
 * vanished or disabled caller is UNAUTHENTICATED, a room-token caller
 * PERMISSION_DENIED.
 */
export async function callerNow(em: EntityManager, principal: Principal): Promise<CallerNow> {
  requireUserPrincipal(principal);
  const rows = (await em.execute(
    `select u.level, u.disabled,
            array(select distinct p from user_roles ur join roles r on r.id = ur.role_id, unnest(r.permissions) p
                   where ur.user_id = u.id) as permissions
       from users u where u.id = ?`,
    [principal.userId],
  )) as Array<{ level: number; disabled: boolean; permissions: string[] }>;
  const row = rows[0];
  if (!row || row.disabled) throw new DomainError("unauthenticated", "UNAUTHENTICATED", "session ended");
  return { userId: principal.userId, level: row.level, permissions: new Set(row.permissions) };
}

/** requireUserPrincipal refuses a room-token caller (no user row, no password, no grants) where a user is needed. */
export function requireUserPrincipal(principal: Principal): void {
  if (principal.via === "room-token") {
    throw permissionDenied("PERMISSION_DENIED", "a room token acts for no user here", { layer: "room" });
  }
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

const arrayItem = /^[A-Za-z0-9_.:-]+$/;

/**
 * pgArrayLiteral writes a Postgres array literal (`{a,b}`) of values already
 * validated to plain tokens (uuids, permission keys); anything else throws.
 */
export function pgArrayLiteral(values: readonly string[]): string {
  for (const v of values) if (!arrayItem.test(v)) throw new Error("pgArrayLiteral: unsafe item");
  return `{${values.join(",")}}`;
}
