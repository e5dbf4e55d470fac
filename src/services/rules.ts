import type { ServiceImpl } from "@connectrpc/connect";
import type { RulesService } from "../../gen/gatehouse/v1/rules_pb.js";
import { evaluateRules, getRule, listRules } from "../app/rules/read-rules.js";
import { createRule, deleteRule, updateRule, type RuleChangeDeps } from "../app/rules/rule-changes.js";
import { ruleResource } from "../app/rules/rule-input.js";
import type { RuleCache } from "../rules/rule-cache.js";
import { answer, callOf } from "./call.js";
import { requestFacts } from "./request-facts.js";
import { decisionMessage, effectWord, ruleMessage } from "./rule-messages.js";
import { pageOf, pageToken } from "./support.js";

/** RulesServiceDeps is what RulesService uses: the rules store and the rule cache. */
export type RulesServiceDeps = RuleChangeDeps & { rules: RuleCache };

/**
 * createRulesService implements RulesService over the rule use cases
 * (src/app/rules): CRUD of the tenant's runtime rules with validation of each
 * field, ListRules and GetRule flagging a stored rule that does not parse
 * (`malformed`), and EvaluateRules, a dry run through the cached rule index
 * the sandbox and RunMacro use. Every change invalidates that index on every
 * replica once committed.
 */
export function createRulesService(deps: RulesServiceDeps): ServiceImpl<typeof RulesService> {
  return {
    async listRules(req, ctx) {
      const { limit, after } = pageOf(req);
      const input = { limit, ...(after !== undefined ? { after } : {}), ...(req.subject !== undefined ? { subject: req.subject } : {}) };
      const page = await listRules(deps, callOf(ctx), input);
      return { rules: page.rules.map(ruleMessage), nextPageToken: pageToken(page.next) };
    },

    async getRule(req, ctx) {
      return { rule: ruleMessage(await getRule(deps, callOf(ctx), { id: req.ruleId })) };
    },

    async createRule(req, ctx) {
      const input = { subject: req.subject, action: req.action, resource: req.resource, effect: effectWord(req.effect), description: req.description };
      return { rule: ruleMessage(answer(ctx, await createRule(deps, callOf(ctx), input))) };
    },

    async updateRule(req, ctx) {
      // Named in the call's record before anything can fail.
      requestFacts(ctx, { resource: ruleResource(req.ruleId.toLowerCase()) });
      const input = {
        id: req.ruleId,
        ...(req.subject !== undefined ? { subject: req.subject } : {}),
        ...(req.action !== undefined ? { action: req.action } : {}),
        ...(req.resource !== undefined ? { resource: req.resource } : {}),
        ...(req.effect !== undefined ? { effect: effectWord(req.effect) } : {}),
        ...(req.description !== undefined ? { description: req.description } : {}),
      };
      return { rule: ruleMessage(answer(ctx, await updateRule(deps, callOf(ctx), input))) };
    },

    async deleteRule(req, ctx) {
      requestFacts(ctx, { resource: ruleResource(req.ruleId.toLowerCase()) });
      answer(ctx, await deleteRule(deps, callOf(ctx), { id: req.ruleId }));
      return {};
    },

    async evaluateRules(req, ctx) {
      const input = { subjects: req.subjects, action: req.action, resource: req.resource, baselineAllowed: req.baselineAllowed };
      return decisionMessage(await evaluateRules(deps, callOf(ctx), input));
    },
  };
}
