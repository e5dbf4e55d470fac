import type { Principal } from "../../context.js";
import { notFound } from "../../domain/errors.js";
import type { LockManager } from "../../locks/lock-manager.js";
import { staleToken, writeToken } from "../../locks/require-lock.js";
import { explicitEntries, type UrlPolicy } from "../../net/url-guard.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import type { RepoRecord, RepoStore } from "../../store/repos.js";
import type { Tx } from "../../store/tx.js";

/** RoomNetwork is what the URL guard and the import check need of a room's effective policy. */
export interface RoomNetwork {
  url: UrlPolicy;
  allowedImports: readonly string[];
}

/** roomNetwork reads the room's effective policy (global and room layers) as the guard needs it. */
export async function roomNetwork(policies: Pick<EffectivePolicies, "effectivePolicy" | "globalLayer">, tx: Tx, tenantId: string, roomId: string): Promise<RoomNetwork> {
  const merged = await policies.effectivePolicy(tx, { tenantId, roomId });
  const global = await policies.globalLayer(tx);
  return {
    url: { allowedHosts: merged.policy.allowedHosts, explicitHostPorts: explicitEntries(global.allowedHosts ?? []) },
    allowedImports: merged.policy.allowedImports,
  };
}

/**
 * repoUnderLock answers the repo (NOT_FOUND), checks that the caller holds
 * its lock and answers the token to store with the write (STALE_FENCING_TOKEN
 * when the repo was written under a newer one). With forUpdate the repo's
 * row stays locked until the transaction ends: writes of one repo (two syncs
 * of the same holder too) wait for each other.
 */
export async function repoUnderLock(
  deps: { repos: RepoStore; locks: LockManager },
  tx: Tx,
  principal: Principal,
  where: { roomId: string; repoId: string; sent: bigint | undefined; forUpdate: boolean },
): Promise<{ repo: RepoRecord; token: bigint }> {
  const { roomId, repoId } = where;
  if (!(await deps.repos.byId(tx, roomId, repoId))) throw notFound("repo");
  const target = `repo/${repoId}`;
  const token = await writeToken(deps.locks, principal, roomId, target, where.sent);
  const repo = await deps.repos.byId(tx, roomId, repoId, { forUpdate: where.forUpdate });
  if (!repo) throw notFound("repo");
  if (token < repo.fencingToken) throw staleToken(target, token, repo.fencingToken);
  return { repo, token };
}

/** listed keeps audit details small: the first items and how many there were. */
export function listed(items: readonly string[], max = 50): { items: string[]; count: number } {
  return { items: items.slice(0, max), count: items.length };
}
