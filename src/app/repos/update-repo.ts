import { DomainError } from "../../domain/errors.js";
import type { LockManager } from "../../locks/lock-manager.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import { checkRef, normalizePath, normalizeRepoUrl } from "../../repos/repo-settings.js";
import type { RepoRecord, RepoStore } from "../../store/repos.js";
import { actorUuid } from "../actor.js";
import { failingWith } from "../audited-failure.js";
import { outcome, type Call, type Outcome } from "../call.js";
import { repoUnderLock, roomNetwork } from "./repo-access.js";

/** maxReposPerRoom bounds how many repos one room may have. */
export const maxReposPerRoom = 100;

export interface UpdateRepoDeps {
  repos: RepoStore;
  locks: LockManager;
  policies: Pick<EffectivePolicies, "effectivePolicy" | "globalLayer">;
}

/** RepoChange creates a repo (no repoId) or changes one under its lock. */
export interface RepoChange {
  roomId: string;
  repoId?: string;
  url: string;
  ref: string;
  path: string;
  fencingToken?: bigint;
}

/**
 * updateRepo creates a repo setting, or changes one under its lock: the URL
 * must pass the room's URL policy, the ref and path their rules, and a room
 * has at most maxReposPerRoom repos.
 */
export async function updateRepo(deps: UpdateRepoDeps, call: Call, input: RepoChange): Promise<Outcome<RepoRecord>> {
  const { principal } = call;
  const { roomId } = input;
  if (input.repoId === undefined) {
    return failingWith({ action: "repos.create", roomId }, () =>
      call.inTx(async (tx) => {
        const network = await roomNetwork(deps.policies, tx, principal.tenantId, roomId);
        const settings = { url: normalizeRepoUrl(input.url, network.url), ref: checkRef(input.ref), path: normalizePath(input.path) };
        if ((await deps.repos.countInRoom(tx, roomId)) >= maxReposPerRoom) {
          throw new DomainError("resource_exhausted", "RESOURCE_EXHAUSTED", `a room has at most ${maxReposPerRoom} repos`);
        }
        const row = await deps.repos.insert(tx, { tenantId: principal.tenantId, roomId, createdBy: actorUuid(principal), ...settings });
        return outcome(row, { action: "repos.create", roomId, resource: `repo:${row.id}`, details: { ...settings } });
      }),
    );
  }
  const repoId = input.repoId;
  const facts = { roomId, resource: `repo:${repoId}` };
  return failingWith(facts, () =>
    call.inTx(async (tx) => {
      const { repo, token } = await repoUnderLock(deps, tx, principal, { roomId, repoId, sent: input.fencingToken, forUpdate: true });
      const network = await roomNetwork(deps.policies, tx, principal.tenantId, roomId);
      const settings = { url: normalizeRepoUrl(input.url, network.url), ref: checkRef(input.ref), path: normalizePath(input.path) };
      const row = await deps.repos.update(tx, roomId, repoId, settings, token);
      return outcome(row, {
        ...facts,
        details: { ...settings, fencingToken: token.toString(), previous: { url: repo.url, ref: repo.ref, path: repo.path } },
      });
    }),
  );
}
