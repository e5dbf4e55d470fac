import { defaultPolicy, type EffectivePolicy } from "../../../src/domain/policy.js";
import type { MergedPolicy } from "../../../src/domain/policy-merge.js";
import { createRuleIndex, type Rule } from "../../../src/domain/rules.js";
import { createMemoryFencingCounter } from "../../../src/locks/fencing.js";
import type { LockManager } from "../../../src/locks/lock-manager.js";
import { createMemoryLockManager } from "../../../src/locks/memory-manager.js";
import type { EffectivePolicies } from "../../../src/policies/effective-policy.js";
import type { RuleCache } from "../../../src/rules/rule-cache.js";
import type { Tx } from "../../../src/store/tx.js";

/**
 * Fakes of what the macro and repo use cases reach besides their stores:
 * fixed effective policies, a fixed rule set, in-process locks.
 */

/** FakePolicies answers one effective policy for every query and counts invalidations. */
export interface FakePolicies extends Pick<EffectivePolicies, "effectivePolicy" | "cachedEffectivePolicy" | "globalLayer" | "invalidate"> {
  policy: EffectivePolicy;
  invalidated: unknown[];
}

export function fakePolicies(overrides: Partial<EffectivePolicy> = {}): FakePolicies {
  const fake: FakePolicies = {
    policy: { ...defaultPolicy, ...overrides },
    invalidated: [],
    async effectivePolicy() {
      return { policy: fake.policy, sources: {}, loosened: [], clamped: [] } as unknown as MergedPolicy;
    },
    cachedEffectivePolicy: () => undefined,
    async globalLayer() {
      return {};
    },
    async invalidate(change) {
      fake.invalidated.push(change);
    },
  };
  return fake;
}

/** fakeRules answers an index of `rules` for every tenant. */
export function fakeRules(rules: Rule[] = []): RuleCache {
  return {
    ruleIndexFor: async () => createRuleIndex(rules),
    invalidate: async () => undefined,
    close: () => undefined,
  };
}

/** memoryLocks is the in-process lock manager with an in-memory fencing counter. */
export function memoryLocks(): LockManager {
  return createMemoryLockManager({ fencing: createMemoryFencingCounter() });
}

/** ReleasedTargets records the lock targets a use case released as deleted. */
export function releasedTargets(): { released: string[]; releaseDeleted(tx: Tx, roomId: string, target: string): Promise<void> } {
  const released: string[] = [];
  return { released, releaseDeleted: async (_tx, roomId, target) => void released.push(`${roomId}:${target}`) };
}
