import type { LockManager } from "../../locks/lock-manager.js";
import { lockScope } from "../../locks/lock-targets.js";
import type { MacroCache } from "../../macros/macro-cache.js";
import type { MacroStore } from "../../store/macros.js";
import type { RepoStore } from "../../store/repos.js";
import { failingWith } from "../audited-failure.js";
import { outcome, type Call, type Outcome } from "../call.js";
import type { DeletedLockTargets } from "../macros/delete-macro.js";
import { listed, repoUnderLock } from "./repo-access.js";

export interface DeleteRepoDeps {
  repos: RepoStore;
  macros: MacroStore;
  locks: LockManager;
  lockTargets: DeletedLockTargets;
  macroCache: Pick<MacroCache, "roomChanged">;
}

/**
 * deleteRepo deletes a repo setting under its lock. The macros it imported
 * stay, as manual macros: nobody's code disappears with a repo setting.
 */
export async function deleteRepo(
  deps: DeleteRepoDeps,
  call: Call,
  input: { roomId: string; repoId: string; fencingToken?: bigint },
): Promise<Outcome<void>> {
  const { principal } = call;
  const { roomId, repoId } = input;
  const facts = { roomId, resource: `repo:${repoId}` };
  const target = `repo/${repoId}`;
  return failingWith(facts, async () => {
    const details = await call.inTx(async (tx) => {
      const { repo, token } = await repoUnderLock(deps, tx, principal, { roomId, repoId, sent: input.fencingToken, forUpdate: true });
      const kept = await deps.macros.detachFromRepo(tx, roomId, repoId);
      await deps.repos.remove(tx, roomId, repoId);
      // The deleted repo's lock goes with it (it no longer counts against the lock quotas).
      await deps.lockTargets.releaseDeleted(tx, roomId, target);
      return { url: repo.url, fencingToken: token.toString(), macrosKeptAsManual: listed(kept) };
    });
    call.afterCommit(() => deps.locks.release(lockScope(principal.tenantId, roomId), target, principal.userId).catch(() => undefined));
    call.afterCommit(() => deps.macroCache.roomChanged(principal.tenantId, roomId));
    return outcome(undefined, { ...facts, details });
  });
}
