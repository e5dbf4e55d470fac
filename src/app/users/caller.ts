import type { Principal } from "../../context.js";
import { DomainError, permissionDenied } from "../../domain/errors.js";
import type { CallerNow } from "../../domain/grant-rules.js";
import type { UsersStore } from "../../store/users.js";
import type { Tx } from "../../store/tx.js";

/** requireUserPrincipal refuses a room-token caller (no user row, no password, no grants) where a user is needed. */
export function requireUserPrincipal(principal: Principal): void {
  if (principal.via === "room-token") {
    throw permissionDenied("PERMISSION_DENIED", "a room token acts for no user here", { layer: "room" });
  }
}

/**
 * callerNow reads the caller's level and effective permissions in `tx` — not
 * the session state cached for up to a second — so a caller demoted or
 * stripped of a role a moment ago can't use what they lost. A vanished or
 * disabled caller is UNAUTHENTICATED, a room-token caller PERMISSION_DENIED.
 */
export async function callerNow(users: Pick<UsersStore, "accessOf">, tx: Tx, principal: Principal): Promise<CallerNow> {
  requireUserPrincipal(principal);
  const access = (await users.accessOf(tx, [principal.userId])).get(principal.userId);
  if (!access || access.disabled) throw new DomainError("unauthenticated", "UNAUTHENTICATED", "session ended");
  return { userId: principal.userId, level: access.level, permissions: access.permissions };
}
