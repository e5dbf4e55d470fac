import { invalidArgument } from "../../domain/errors.js";
import type { RuleProblem } from "../../domain/rules.js";
import type { RuleRow } from "../../store/rules.js";

/** maxDescription bounds a rule's description. */
const maxDescription = 1024;

/** refuse throws INVALID_ARGUMENT naming the first problem's field, if there is one. */
export function refuse(problems: readonly RuleProblem[]): void {
  const first = problems[0];
  if (first) throw invalidArgument(first.field, first.message, first.attempted.slice(0, 256));
}

/** requireDescription refuses a description over maxDescription characters. */
export function requireDescription(description: string): string {
  if (description.length > maxDescription) throw invalidArgument("description", `must be at most ${maxDescription} characters`);
  return description;
}

/** ruleFacts is what the audit log keeps of a rule. */
export function ruleFacts(row: Pick<RuleRow, "subject" | "action" | "resource" | "effect" | "description">): Record<string, string> {
  return { subject: row.subject, action: row.action, resource: row.resource, effect: row.effect, description: row.description.slice(0, 256) };
}

/** ruleResource names a rule in the audit log. */
export function ruleResource(id: string): string {
  return `rule:${id}`;
}
