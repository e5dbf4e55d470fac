import type { Call } from "../call.js";
import type { LockInfo } from "../../locks/lock-manager.js";
import { lockScope } from "../../locks/lock-targets.js";
import type { LockDeps, LockInput } from "./lock-deps.js";

/** getLock answers the target's current lease, or undefined when it is free. */
export function getLock(deps: Pick<LockDeps, "locks">, call: Call, input: LockInput): Promise<LockInfo | undefined> {
  return deps.locks.get(lockScope(call.principal.tenantId, input.roomId), input.target.text);
}

/** LocksPage is one page of a room's held locks, by target, and the cursor of the next (undefined at the end). */
export interface LocksPage {
  locks: LockInfo[];
  next: string | undefined;
}

/**
 * listLocks pages through the room's held locks by target. lock_targets marks
 * the targets whose lease was taken and not released or broken; the lock
 * manager says which of them are still held (a lease that lapsed stays
 * marked until its next acquisition), so a page is filled from as many
 * marked rows as it takes.
 */
export async function listLocks(
  deps: Pick<LockDeps, "locks" | "lockTargets">,
  call: Call,
  input: { roomId: string; limit: number; after?: string },
): Promise<LocksPage> {
  const roomId = input.roomId.toLowerCase();
  const scope = lockScope(call.principal.tenantId, roomId);
  const locks: LockInfo[] = [];
  let after = input.after;
  let exhausted = false;
  while (locks.length < input.limit && !exhausted) {
    const page = { limit: input.limit + 1, ...(after !== undefined ? { after } : {}) };
    const targets = await call.inTx((tx) => deps.lockTargets.heldTargets(tx, roomId, page));
    exhausted = targets.length <= input.limit;
    const infos = await Promise.all(targets.map((target) => deps.locks.get(scope, target)));
    for (const [i, info] of infos.entries()) {
      if (locks.length === input.limit) {
        exhausted = false;
        break;
      }
      after = targets[i]!;
      if (info) locks.push(info);
    }
  }
  return { locks, next: exhausted ? undefined : after };
}
