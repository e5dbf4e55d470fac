import { notFound } from "../../domain/errors.js";
import type { LockManager } from "../../locks/lock-manager.js";
import { lockScope } from "../../locks/lock-targets.js";
import { staleToken, writeToken } from "../../locks/require-lock.js";
import type { MacroCache } from "../../macros/macro-cache.js";
import type { MacroStore } from "../../store/macros.js";
import type { Tx } from "../../store/tx.js";
import { failingWith } from "../audited-failure.js";
import { outcome, type Call, type Outcome } from "../call.js";

/** DeletedLockTargets marks the lock of a deleted macro or repo as no longer held, so it stops counting against the lock quotas. */
export interface DeletedLockTargets {
  releaseDeleted(tx: Tx, roomId: string, target: string): Promise<void>;
}

export interface DeleteMacroDeps {
  macros: MacroStore;
  locks: LockManager;
  lockTargets: DeletedLockTargets;
  macroCache: Pick<MacroCache, "roomChanged">;
}

/** deleteMacro deletes a macro (and its policy layer) under its lock; its lock goes with it. */
export async function deleteMacro(deps: DeleteMacroDeps, call: Call, input: { roomId: string; macroId: string }): Promise<Outcome<void>> {
  const { principal } = call;
  const { roomId, macroId } = input;
  const target = `macro/${macroId}`;
  const resource = `macro:${macroId}`;
  return failingWith({ resource }, async () => {
    const existing = await call.inTx(async (tx) => {
      const existing = await deps.macros.byId(tx, roomId, macroId, { forUpdate: true });
      if (!existing) throw notFound("macro");
      const token = await writeToken(deps.locks, principal, roomId, target);
      if (token < existing.fencingToken) throw staleToken(target, token, existing.fencingToken);
      await deps.macros.remove(tx, roomId, macroId);
      // The deleted macro's lock goes with it (it no longer counts against the lock quotas).
      await deps.lockTargets.releaseDeleted(tx, roomId, target);
      return existing;
    });
    call.afterCommit(() => deps.locks.release(lockScope(principal.tenantId, roomId), target, principal.userId).catch(() => undefined));
    call.afterCommit(() => deps.macroCache.roomChanged(principal.tenantId, roomId));
    return outcome(undefined, { resource, details: { name: existing.name, version: existing.version } });
  });
}
