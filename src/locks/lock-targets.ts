import { invalidArgument } from "../domain/errors.js";

const targetPattern = /^(macro|repo)\/([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

/** LockTarget is a parsed `macro/<id>` or `repo/<id>`. */
export interface LockTarget {
  kind: "macro" | "repo";
  id: string;
  text: string;
}

/** parseLockTarget refuses anything but `macro/<uuid>` or `repo/<uuid>` (INVALID_ARGUMENT). */
export function parseLockTarget(raw: string): LockTarget {
  const m = targetPattern.exec(raw.toLowerCase());
  if (!m) throw invalidArgument("target", "must be macro/<uuid> or repo/<uuid>", raw.slice(0, 80));
  return { kind: m[1] as "macro" | "repo", id: m[2]!, text: `${m[1]}/${m[2]}` };
}

/** lockScope is the manager's scope of a room: `<tenantId>/<roomId>`. */
export function lockScope(tenantId: string, roomId: string): string {
  return `${tenantId}/${roomId.toLowerCase()}`;
}
