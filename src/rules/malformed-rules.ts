import type { Logger } from "../logger.js";
import { validateRule, type RuleProblem } from "../domain/rules.js";
import type { Database } from "../store/database.js";
import { ormRulesStore } from "../store/rules.js";

/** MalformedRuleReport is what reportMalformedRules found. */
export interface MalformedRuleReport {
  /** count is the number of stored rules that do not parse, over every tenant. */
  count: number;
}

const pageSize = 1000;
/** At most this many malformed rules get a log line each; the summary line counts them all. */
const maxLines = 100;

function describe(problems: readonly RuleProblem[]): string {
  return problems.map((p) => `${p.field} ${JSON.stringify(p.attempted.slice(0, 256))} ${p.message}`).join("; ");
}

/**
 * reportMalformedRules reads every tenant's rules at start-up and logs, as a
 * warning, each one that does not parse (tenant, rule id, what is wrong),
 * then one line with the count. Such a rule is enforced fail-closed (see
 * src/domain/rules.ts) and flagged `malformed` by ListRules; this makes it
 * visible to the operator too.
 */
export async function reportMalformedRules(db: Database, logger: Logger): Promise<MalformedRuleReport> {
  let count = 0;
  let after: { tenantId: string; id: string } | undefined;
  for (;;) {
    const rows = await db.asSystem((tx) => ormRulesStore.pageOfAll(tx, pageSize, after), { readOnly: true });
    for (const row of rows) {
      const problems = validateRule(row);
      if (problems.length === 0) continue;
      count++;
      if (count <= maxLines) {
        logger.warn({ tenantId: row.tenantId, ruleId: row.id, action: row.action, resource: row.resource, problem: describe(problems) }, "stored rule does not parse");
      }
    }
    if (rows.length < pageSize) break;
    const last = rows[rows.length - 1]!;
    after = { tenantId: last.tenantId, id: last.id };
  }
  if (count > 0) {
    logger.warn({ count }, "stored rules do not parse: enforced fail-closed (a malformed DENY matches every resource of its action), flagged malformed by ListRules; fix or delete them");
  }
  return { count };
}
