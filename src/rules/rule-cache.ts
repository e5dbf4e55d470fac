import { createRuleIndex, type Rule, type RuleIndex } from "../domain/rules.js";
import type { Bus } from "../shared-state/bus.js";
import type { Database } from "../store/database.js";
import { ormRulesStore, type RulesStore } from "../store/rules.js";
import type { Tx } from "../store/tx.js";

/**
 * RuleCache keeps one compiled rule index (src/domain/rules.ts) per tenant,
 * for the sandbox's host functions, which evaluate rules on every action,
 * and for RulesService.EvaluateRules.
 *
 * Freshness: every rule write bumps the tenant's row in `rule_versions` (a
 * trigger, in the writing transaction) and, after commit, publishes the
 * tenant on the bus channel `rules`, which marks the cached index stale on
 * every replica. A stale index, or one not checked for `revalidateMs` (1 s),
 * is revalidated with one primary-key read of the version; only a changed
 * version reloads and recompiles the tenant's rules. So a lost bus message
 * delays a change by at most `revalidateMs`, and a tenant's 10,000 rules are
 * compiled once per change, not per call. Concurrent callers share one load.
 */
export interface RuleCache {
  /**
   * ruleIndexFor answers the tenant's current rule index. Pass the caller's
   * tenant-scoped entity manager when inside a transaction (never nest
   * transactions); without one, a read transaction of its own is used.
   */
  ruleIndexFor(tenantId: string, tx?: Tx): Promise<RuleIndex>;
  /** invalidate marks the tenant's index stale on every replica (this one at once). Call it after commit. */
  invalidate(tenantId: string): Promise<void>;
  /** close stops listening to the bus. */
  close(): void;
}

/** RuleCacheOptions tune createRuleCache. */
export interface RuleCacheOptions {
  /** revalidateMs is how long an index is used before its version is checked again (default 1000). */
  revalidateMs?: number;
  /** now is the clock (tests). */
  now?: () => number;
  /** store reads the rules and their version (default: the MikroORM store). */
  store?: RulesStore;
}

/** rulesChannel is the bus channel of rule invalidations; messages are tenant ids. */
export const rulesChannel = "rules";

interface Entry {
  index: RuleIndex;
  version: string;
  checkedAt: number;
}

/** createRuleCache builds the per-tenant rule index cache over the database and bus. */
export function createRuleCache(db: Database, bus: Bus, options: RuleCacheOptions = {}): RuleCache {
  const revalidateMs = options.revalidateMs ?? 1000;
  const now = options.now ?? Date.now;
  const store = options.store ?? ormRulesStore;
  const entries = new Map<string, Entry>();
  const loading = new Map<string, Promise<RuleIndex>>();
  // Invalidations seen per tenant: a load that overlapped one is not trusted.
  const invalidations = new Map<string, number>();

  const unsubscribe = bus.subscribe(rulesChannel, (tenantId) => {
    invalidations.set(tenantId, (invalidations.get(tenantId) ?? 0) + 1);
    const entry = entries.get(tenantId);
    if (entry) entry.checkedAt = Number.NEGATIVE_INFINITY;
  });

  async function load(tx: Tx, tenantId: string): Promise<RuleIndex> {
    const seen = invalidations.get(tenantId) ?? 0;
    const checkedAt = now();
    // The version first, then the rules: a change committed in between
    // leaves a newer rule set under an older version, which only costs one
    // extra reload; the reverse order could hide a change.
    const version = await store.version(tx, tenantId);
    const cached = entries.get(tenantId);
    let entry: Entry;
    if (cached && cached.version === version) {
      entry = { index: cached.index, version, checkedAt };
    } else {
      // Stored rules of older forms load as they are: the index enforces them fail-closed.
      const rows = (await store.allOfTenant(tx, tenantId)) as Rule[];
      entry = { index: createRuleIndex(rows), version, checkedAt };
    }
    if ((invalidations.get(tenantId) ?? 0) !== seen) entry.checkedAt = Number.NEGATIVE_INFINITY;
    if (entries.size >= 10_000 && !entries.has(tenantId)) entries.clear();
    entries.set(tenantId, entry);
    return entry.index;
  }

  return {
    ruleIndexFor(tenantId, tx) {
      const entry = entries.get(tenantId);
      if (entry && now() - entry.checkedAt < revalidateMs) return Promise.resolve(entry.index);
      let pending = loading.get(tenantId);
      if (!pending) {
        pending = (tx ? load(tx, tenantId) : db.inTenant(tenantId, (tx) => load(tx, tenantId), { readOnly: true })).finally(() =>
          loading.delete(tenantId),
        );
        loading.set(tenantId, pending);
      }
      return pending;
    },
    async invalidate(tenantId) {
      await bus.publish(rulesChannel, tenantId);
    },
    close() {
      unsubscribe();
      entries.clear();
    },
  };
}
