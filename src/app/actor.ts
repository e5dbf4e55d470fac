import type { Principal } from "../context.js";
import { isUuid } from "../domain/ids.js";

/** actorUuid is the caller's user id for `created_by`/`updated_by` columns, or null for a room-token principal. */
export function actorUuid(principal: Principal): string | null {
  return isUuid(principal.userId) ? principal.userId : null;
}
