import { outcome, type Call, type Outcome } from "../call.js";
import { notFound } from "../../domain/errors.js";
import { validateRule } from "../../domain/rules.js";
import type { RuleCache } from "../../rules/rule-cache.js";
import type { RuleFields, RuleRow, RulesStore } from "../../store/rules.js";
import { refuse, requireDescription, ruleFacts, ruleResource } from "./rule-input.js";

/** RuleChangeDeps is what the rule writes use: the store, and the cache each committed change invalidates. */
export interface RuleChangeDeps {
  rulesStore: RulesStore;
  rules: Pick<RuleCache, "invalidate">;
}

/**
 * Every change bumps the tenant's rule version in its transaction (a trigger)
 * and, once committed, invalidates the tenant's rule index on every replica.
 */
function invalidateAfterCommit(deps: RuleChangeDeps, call: Call): void {
  call.afterCommit(() => deps.rules.invalidate(call.principal.tenantId));
}

/** createRule stores a new rule of the caller's tenant; each field is checked (a resource must fit its action's form). */
export async function createRule(deps: RuleChangeDeps, call: Call, input: RuleFields): Promise<Outcome<RuleRow>> {
  refuse(validateRule(input));
  const fields = { ...input, description: requireDescription(input.description) };
  const row = await call.inTx((tx) => deps.rulesStore.create(tx, call.principal.tenantId, fields));
  invalidateAfterCommit(deps, call);
  return outcome(row, { resource: ruleResource(row.id), details: ruleFacts(row) });
}

/** RuleUpdate is a rule id and the fields to change (unset fields keep their value). */
export type RuleUpdate = { id: string } & Partial<RuleFields>;

/** updateRule changes some fields of a rule; the rule as it would become must be valid. */
export async function updateRule(deps: RuleChangeDeps, call: Call, input: RuleUpdate): Promise<Outcome<RuleRow>> {
  const id = input.id.toLowerCase();
  const description = input.description === undefined ? undefined : requireDescription(input.description);
  const { before, after } = await call.inTx(async (tx) => {
    const before = await deps.rulesStore.get(tx, id, { forUpdate: true });
    if (!before) throw notFound("rule");
    const next: RuleFields = {
      subject: input.subject ?? before.subject,
      action: input.action ?? before.action,
      resource: input.resource ?? before.resource,
      effect: input.effect ?? before.effect,
      description: description ?? before.description,
    };
    refuse(validateRule(next));
    const after = await deps.rulesStore.update(tx, id, next);
    if (!after) throw notFound("rule");
    return { before, after };
  });
  invalidateAfterCommit(deps, call);
  return outcome(after, { resource: ruleResource(id), details: { before: ruleFacts(before), after: ruleFacts(after) } });
}

/** deleteRule removes a rule (NOT_FOUND if the tenant has none of that id). */
export async function deleteRule(deps: RuleChangeDeps, call: Call, input: { id: string }): Promise<Outcome<void>> {
  const id = input.id.toLowerCase();
  const deleted = await call.inTx((tx) => deps.rulesStore.delete(tx, id));
  if (!deleted) throw notFound("rule");
  invalidateAfterCommit(deps, call);
  return outcome(undefined, { resource: ruleResource(id), details: ruleFacts(deleted) });
}
