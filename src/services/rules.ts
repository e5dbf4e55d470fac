import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Effect } from "../../gen/gatehouse/v1/common_pb.js";
import { RuleSchema, RulesService, type Rule } from "../../gen/gatehouse/v1/rules_pb.js";
import type { Deps } from "../deps.js";
import { invalidArgument, notFound, reasonCode } from "../domain/errors.js";
import { checkSubject, validateRule, validateRuleQuery, type RuleAction, type RuleProblem } from "../domain/rules.js";
import { decideRule } from "../rules/rule-decision.js";
import { afterCommit, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, transactionOf } from "./support.js";

interface RuleRow {
  id: string;
  tenant_id: string;
  subject: string;
  action: string;
  resource: string;
  effect: "allow" | "deny";
  description: string;
  created_at: Date;
  updated_at: Date;
}

const ruleColumns = "id, tenant_id, subject, action, resource, effect, description, created_at, updated_at";

/** maxDescription bounds a rule's description. */
const maxDescription = 1024;
/** maxSubjects bounds the subjects of one EvaluateRules query. */
const maxSubjects = 64;
/** maxResource bounds the resource of one EvaluateRules query. */
const maxResource = 1024;

/** malformedReason says why a stored rule does not parse, or "" when it does. */
function malformedReason(row: RuleRow): string {
  return validateRule(row)
    .map((p) => `${p.field} ${JSON.stringify(p.attempted.slice(0, 256))} ${p.message}`)
    .join("; ");
}

function ruleMessage(row: RuleRow): Rule {
  const reason = malformedReason(row);
  return create(RuleSchema, {
    malformed: reason !== "",
    malformedReason: reason,
    ruleId: row.id,
    tenantId: row.tenant_id,
    subject: row.subject,
    action: row.action,
    resource: row.resource,
    effect: row.effect === "deny" ? Effect.DENY : Effect.ALLOW,
    description: row.description,
    createdAt: timestampFromDate(new Date(row.created_at)),
    updatedAt: timestampFromDate(new Date(row.updated_at)),
  });
}

function effectWord(effect: Effect): "allow" | "deny" {
  if (effect === Effect.ALLOW) return "allow";
  if (effect === Effect.DENY) return "deny";
  throw invalidArgument("effect", "must be EFFECT_ALLOW or EFFECT_DENY", Effect[effect] ?? String(effect));
}

function refuse(problems: readonly RuleProblem[]): void {
  const first = problems[0];
  if (first) throw invalidArgument(first.field, first.message, first.attempted.slice(0, 256));
}

function requireDescription(description: string): string {
  if (description.length > maxDescription) throw invalidArgument("description", `must be at most ${maxDescription} characters`);
  return description;
}

async function readRule(em: EntityManager, id: string, forUpdate = false): Promise<RuleRow> {
  const rows = (await em.execute(`select ${ruleColumns} from rules where id = ?${forUpdate ? " for update" : ""}`, [id])) as RuleRow[];
  if (!rows[0]) throw notFound("rule");
  return rows[0];
}

/** ruleFacts is what the audit log keeps of a rule. */
function ruleFacts(row: Pick<RuleRow, "subject" | "action" | "resource" | "effect" | "description">): Record<string, string> {
  return { subject: row.subject, action: row.action, resource: row.resource, effect: row.effect, description: row.description.slice(0, 256) };
}

/** cursorOf encodes a rule's position in creation order. */
function cursorOf(row: RuleRow): string {
  return `${new Date(row.created_at).toISOString()}|${row.id}`;
}

function parseCursor(after: string): { createdAt: string; id: string } {
  const [createdAt, id] = after.split("|");
  if (!createdAt || !id || Number.isNaN(Date.parse(createdAt)) || !/^[0-9a-f-]{36}$/.test(id)) {
    throw invalidArgument("page_token", "is not a token this server issued");
  }
  return { createdAt, id };
}

/**
 * createRulesService implements RulesService: CRUD of the tenant's runtime
 * rules with validation of each field (INVALID_ARGUMENT naming it; a
 * resource must fit its action's form), ListRules and GetRule flagging a
 * stored rule that does not parse (`malformed`), and EvaluateRules, a dry
 * run through the same decideRule and cached rule index the sandbox and
 * RunMacro use (src/rules/). Every change invalidates that index on every
 * replica once committed (and bumps the tenant's rule version in the same
 * transaction, see migrations/0002).
 */
export function createRulesService(deps: Deps): ServiceImpl<typeof RulesService> {
  return {
    async listRules(req, ctx) {
      const { limit, after } = pageOf(req);
      if (req.subject !== undefined) {
        const problem = checkSubject(req.subject);
        if (problem !== undefined) throw invalidArgument("subject", problem, req.subject.slice(0, 256));
      }
      const where: string[] = [];
      const params: unknown[] = [];
      if (req.subject !== undefined) {
        where.push("subject = ?");
        params.push(req.subject);
      }
      if (after !== undefined) {
        const cursor = parseCursor(after);
        where.push("(created_at, id) > (?::timestamptz, ?::uuid)");
        params.push(cursor.createdAt, cursor.id);
      }
      const rows = await inCallerTenant(ctx, deps, async (em) =>
        (await em.execute(
          `select ${ruleColumns} from rules ${where.length > 0 ? `where ${where.join(" and ")}` : ""} order by created_at, id limit ?`,
          [...params, limit + 1],
        )) as RuleRow[],
      );
      const page = rows.slice(0, limit);
      return { rules: page.map(ruleMessage), nextPageToken: rows.length > limit ? pageToken(cursorOf(page[page.length - 1]!)) : "" };
    },

    async getRule(req, ctx) {
      const id = req.ruleId.toLowerCase();
      return { rule: ruleMessage(await inCallerTenant(ctx, deps, (em) => readRule(em, id))) };
    },

    async createRule(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rules.create";
      const effect = effectWord(req.effect);
      refuse(validateRule({ subject: req.subject, action: req.action, resource: req.resource, effect }));
      const description = requireDescription(req.description);
      const tx = transactionOf(ctx);
      const [row] = (await tx.execute(
        `insert into rules (tenant_id, subject, action, resource, effect, description) values (?, ?, ?, ?, ?, ?) returning ${ruleColumns}`,
        [principal.tenantId, req.subject, req.action, req.resource, effect, description],
      )) as RuleRow[];
      note.resource = `rule:${row!.id}`;
      note.details = ruleFacts(row!);
      afterCommit(ctx, () => deps.rules.invalidate(principal.tenantId));
      return { rule: ruleMessage(row!) };
    },

    async updateRule(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rules.update";
      const id = req.ruleId.toLowerCase();
      note.resource = `rule:${id}`;
      const effect = req.effect === undefined ? undefined : effectWord(req.effect);
      const description = req.description === undefined ? undefined : requireDescription(req.description);
      const tx = transactionOf(ctx);
      const before = await readRule(tx, id, true);
      const next = {
        subject: req.subject ?? before.subject,
        action: req.action ?? before.action,
        resource: req.resource ?? before.resource,
        effect: effect ?? before.effect,
        description: description ?? before.description,
      };
      refuse(validateRule(next));
      const [row] = (await tx.execute(
        `update rules set subject = ?, action = ?, resource = ?, effect = ?, description = ?, updated_at = now() where id = ? returning ${ruleColumns}`,
        [next.subject, next.action, next.resource, next.effect, next.description, id],
      )) as RuleRow[];
      note.details = { before: ruleFacts(before), after: ruleFacts(row!) };
      afterCommit(ctx, () => deps.rules.invalidate(principal.tenantId));
      return { rule: ruleMessage(row!) };
    },

    async deleteRule(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "rules.delete";
      const id = req.ruleId.toLowerCase();
      note.resource = `rule:${id}`;
      const tx = transactionOf(ctx);
      const rows = (await tx.execute(`delete from rules where id = ? returning ${ruleColumns}`, [id])) as RuleRow[];
      if (!rows[0]) throw notFound("rule");
      note.details = ruleFacts(rows[0]);
      afterCommit(ctx, () => deps.rules.invalidate(principal.tenantId));
      return {};
    },

    async evaluateRules(req, ctx) {
      const principal = principalOf(ctx);
      if (req.subjects.length > maxSubjects) throw invalidArgument("subjects", `must hold at most ${maxSubjects} subjects`, String(req.subjects.length));
      if (req.resource.length > maxResource) throw invalidArgument("resource", `must be at most ${maxResource} characters`);
      refuse(validateRuleQuery(req));
      const decision = await decideRule(deps.rules, principal.tenantId, {
        subjects: req.subjects,
        action: req.action as RuleAction,
        resource: req.resource,
        baselineAllowed: req.baselineAllowed,
      });
      return {
        allowed: decision.allowed,
        matchedRuleIds: [...decision.matchedRuleIds],
        decidingRuleIds: [...decision.decidingRuleIds],
        reason: decision.reason.toUpperCase().replaceAll("-", "_"),
        reasonCode: reasonCode(decision.reason.toUpperCase().replaceAll("-", "_")),
      };
    },
  };
}
