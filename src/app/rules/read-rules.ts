import type { Call } from "../call.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import { checkSubject, validateRuleQuery, type RuleAction, type RuleDecision } from "../../domain/rules.js";
import type { RuleCache } from "../../rules/rule-cache.js";
import { decideRule } from "../../rules/rule-decision.js";
import type { RulePosition, RuleRow, RulesStore } from "../../store/rules.js";
import { refuse } from "./rule-input.js";

/** maxSubjects bounds the subjects of one EvaluateRules query. */
const maxSubjects = 64;
/** maxResource bounds the resource of one EvaluateRules query. */
const maxResource = 1024;

/** RulesPage is one page of rules in creation order and the cursor of the next (undefined at the end). */
export interface RulesPage {
  rules: RuleRow[];
  next: string | undefined;
}

/** cursorOf encodes a rule's position in creation order. */
function cursorOf(row: RuleRow): string {
  return `${row.createdAt.toISOString()}|${row.id}`;
}

function parseCursor(after: string): RulePosition {
  const [createdAt, id] = after.split("|");
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw invalidArgument("page_token", "is not a token this server issued");
  }
  return { createdAt: new Date(createdAt), id };
}

/** listRules pages through the caller's tenant's rules in creation order, of one subject if given. */
export async function listRules(
  deps: { rulesStore: RulesStore },
  call: Call,
  input: { limit: number; after?: string; subject?: string },
): Promise<RulesPage> {
  if (input.subject !== undefined) {
    const problem = checkSubject(input.subject);
    if (problem !== undefined) throw invalidArgument("subject", problem, input.subject.slice(0, 256));
  }
  const after = input.after === undefined ? undefined : parseCursor(input.after);
  const rows = await call.inTx((tx) =>
    deps.rulesStore.list(tx, {
      limit: input.limit + 1,
      ...(input.subject !== undefined ? { subject: input.subject } : {}),
      ...(after !== undefined ? { after } : {}),
    }),
  );
  const rules = rows.slice(0, input.limit);
  return { rules, next: rows.length > input.limit ? cursorOf(rules[rules.length - 1]!) : undefined };
}

/** getRule answers one rule of the caller's tenant (NOT_FOUND otherwise). */
export async function getRule(deps: { rulesStore: RulesStore }, call: Call, input: { id: string }): Promise<RuleRow> {
  const row = await call.inTx((tx) => deps.rulesStore.get(tx, input.id.toLowerCase()));
  if (!row) throw notFound("rule");
  return row;
}

/** RuleQueryInput is a dry-run question: would these subjects be allowed this action on this resource? */
export interface RuleQueryInput {
  subjects: string[];
  action: string;
  resource: string;
  baselineAllowed: boolean;
}

/**
 * evaluateRules answers a dry run through the same decideRule and cached
 * rule index the sandbox and RunMacro use.
 */
export async function evaluateRules(deps: { rules: RuleCache }, call: Call, input: RuleQueryInput): Promise<RuleDecision> {
  if (input.subjects.length > maxSubjects) throw invalidArgument("subjects", `must hold at most ${maxSubjects} subjects`, String(input.subjects.length));
  if (input.resource.length > maxResource) throw invalidArgument("resource", `must be at most ${maxResource} characters`);
  refuse(validateRuleQuery(input));
  return decideRule(deps.rules, call.principal.tenantId, {
    subjects: input.subjects,
    action: input.action as RuleAction,
    resource: input.resource,
    baselineAllowed: input.baselineAllowed,
  });
}
