import type { Principal } from "../context.js";
import { DomainError } from "../domain/errors.js";
import type { RuleDecision, RuleQuery } from "../domain/rules.js";
import type { RuleCache } from "./rule-cache.js";

/**
 * The one decision path of runtime rules: EvaluateRules (the dry run), the
 * sandbox's host functions (gatehouse:store, gatehouse:net) and RunMacro
 * (`macro.run`) all call decideRule with a resource built by the functions
 * of src/domain/rules.ts, so the dry run answers what enforcement does.
 */

/**
 * ruleSubjectsOf lists the subjects a caller matches while running a macro:
 * `user:<id>` (not for a room-token caller, which is no user), `role:<name>`
 * for each of its roles, `room:<id>` and `macro:<id>`. `*` rules apply to
 * everyone without being listed.
 */
export function ruleSubjectsOf(principal: Principal, roomId: string, macroId: string): string[] {
  return [
    ...(principal.via === "room-token" ? [] : [`user:${principal.userId}`]),
    ...principal.roles.map((r) => `role:${r}`),
    `room:${roomId}`,
    `macro:${macroId}`,
  ];
}

/** decideRule decides a query against the tenant's current rules (the cached index). */
export async function decideRule(rules: RuleCache, tenantId: string, query: RuleQuery): Promise<RuleDecision> {
  const index = await rules.ruleIndexFor(tenantId);
  return index.evaluate(query);
}

/**
 * requireMacroRunAllowed refuses a run that a `macro.run` rule denies:
 * PERMISSION_DENIED, reason RULE_DENIED, with the deciding rule ids. The
 * baseline is allowed (the caller passed RunMacro's access rule), so only a
 * DENY rule can refuse.
 */
export async function requireMacroRunAllowed(
  rules: RuleCache,
  principal: Principal,
  run: { roomId: string; macroId: string; macroName: string },
): Promise<void> {
  const decision = await decideRule(rules, principal.tenantId, {
    subjects: ruleSubjectsOf(principal, run.roomId, run.macroId),
    action: "macro.run",
    resource: run.macroName,
    baselineAllowed: true,
  });
  if (!decision.allowed) {
    throw new DomainError("permission_denied", "RULE_DENIED", `macro.run on ${run.macroName} denied by rule ${decision.decidingRuleIds.join(", ")}`, {
      ruleIds: [...decision.decidingRuleIds],
    });
  }
}
