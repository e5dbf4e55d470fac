import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Effect } from "../../gen/gatehouse/v1/common_pb.js";
import { RuleSchema, type EvaluateRulesResponse, type Rule } from "../../gen/gatehouse/v1/rules_pb.js";
import { invalidArgument, reasonCode } from "../domain/errors.js";
import { validateRule, type RuleDecision } from "../domain/rules.js";
import type { RuleRow } from "../store/rules.js";

/** malformedReason says why a stored rule does not parse, or "" when it does. */
function malformedReason(row: RuleRow): string {
  return validateRule(row)
    .map((p) => `${p.field} ${JSON.stringify(p.attempted.slice(0, 256))} ${p.message}`)
    .join("; ");
}

/** ruleMessage renders a stored rule, flagging one that does not parse (`malformed`). */
export function ruleMessage(row: RuleRow): Rule {
  const reason = malformedReason(row);
  return create(RuleSchema, {
    malformed: reason !== "",
    malformedReason: reason,
    ruleId: row.id,
    tenantId: row.tenantId,
    subject: row.subject,
    action: row.action,
    resource: row.resource,
    effect: row.effect === "deny" ? Effect.DENY : Effect.ALLOW,
    description: row.description,
    createdAt: timestampFromDate(row.createdAt),
    updatedAt: timestampFromDate(row.updatedAt),
  });
}

/** effectWord reads a request's Effect, refusing EFFECT_UNSPECIFIED. */
export function effectWord(effect: Effect): "allow" | "deny" {
  if (effect === Effect.ALLOW) return "allow";
  if (effect === Effect.DENY) return "deny";
  throw invalidArgument("effect", "must be EFFECT_ALLOW or EFFECT_DENY", Effect[effect] ?? String(effect));
}

/** decisionMessage renders a rule decision; its reason is the ErrorReason spelling of the decision's. */
export function decisionMessage(decision: RuleDecision): Omit<EvaluateRulesResponse, "$typeName" | "$unknown"> {
  const reason = decision.reason.toUpperCase().replaceAll("-", "_");
  return {
    allowed: decision.allowed,
    matchedRuleIds: [...decision.matchedRuleIds],
    decidingRuleIds: [...decision.decidingRuleIds],
    reason,
    reasonCode: reasonCode(reason),
  };
}
