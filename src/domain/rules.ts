import { hostGlobMatches, parseHost, parseHostGlob, formatHostGlob, type HostName } from "./host-glob.js";
import { checkPathGlob, compilePathGlob } from "./path-glob.js";
import { isUuid } from "./ids.js";
import { macroNameProblem } from "./names.js";

/**
 * Runtime rules (docs/concepts.md): syntax, and an index that evaluates them per
 * sandbox action without scanning the tenant's rules. EvaluateRules (the dry
 * run), the sandbox's host functions and RunMacro all decide through
 * RuleIndex.evaluate, on the resource strings built by the functions below
 * (storeRecordResource, storeCollectionResource, and a URL's host or a macro
 * name as they are).
 *
 * A rule is `subject action resource effect`:
 * - subject: `*`, `user:<id>`, `room:<id>`, `macro:<id>` (ids are lowercase
 *   UUIDs, as the API returns them) or `role:<name>`; compared exactly.
 * - action: one of ruleActions, or `*` for all of them.
 * - resource, by action (resourceForms):
 *   - `store.read`, `store.write`, `store.delete`: `collection` (every record
 *     of it) or `collection/idGlob` (`notes/n*`; `*` is any run of id
 *     characters);
 *   - `store.list`: `collection`;
 *   - `net.fetch`: a host glob (host-glob.ts: `api.example.com`,
 *     `*.example.com`, `**.example.com`, `host:port`);
 *   - `macro.run`: a macro-name glob (path-glob.ts: `reports/*`,
 *     `reports/**`).
 *   A bare `*` is every resource of any action (for hosts, on any port). For
 *   action `*` the resource is read in the form of the action being
 *   evaluated, applies to the actions whose form it fits, and must fit at
 *   least one.
 * - effect: `allow` or `deny`.
 *
 * A stored rule that does not parse (written before these forms, or behind
 * the API's back) is never silently dropped: it is reported (malformed), a
 * malformed DENY matches every resource of its action for its subject (fail
 * closed), and a malformed ALLOW matches nothing.
 */
/** ruleActions are the sandbox actions rules cover. */
export const ruleActions = Object.freeze([
  "store.read",
  "store.write",
  "store.delete",
  "store.list",
  "net.fetch",
  "macro.run",
] as const);

/** RuleAction is a concrete sandbox action. */
export type RuleAction = (typeof ruleActions)[number];

/** RuleEffect is what a matching rule does; a DENY always wins. */
export type RuleEffect = "allow" | "deny";

/** Rule is a stored, valid runtime rule. */
export interface Rule {
  readonly id: string;
  readonly subject: string;
  readonly action: RuleAction | "*";
  readonly resource: string;
  readonly effect: RuleEffect;
}

/** RuleProblem is one malformed part of a rule or query, for INVALID_ARGUMENT with `field`. */
export interface RuleProblem {
  readonly field: "subject" | "subjects" | "action" | "resource" | "effect";
  readonly attempted: string;
  readonly message: string;
}

/** isRuleAction says whether `action` is a concrete sandbox action (not `*`). */
export function isRuleAction(action: string): action is RuleAction {
  return (ruleActions as readonly string[]).includes(action);
}

const roleNameShape = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** checkSubject answers why `subject` is malformed, or undefined when it is valid. */
export function checkSubject(subject: string): string | undefined {
  if (subject === "*") return undefined;
  const colon = subject.indexOf(":");
  const kind = colon < 0 ? subject : subject.slice(0, colon);
  const rest = colon < 0 ? "" : subject.slice(colon + 1);
  switch (kind) {
    case "user":
    case "room":
    case "macro":
      return isUuid(rest) && rest === rest.toLowerCase() ? undefined : `${kind}:<id> needs a lowercase UUID id`;
    case "role":
      return roleNameShape.test(rest) ? undefined : "role:<name> needs a role name";
    default:
      return "must be `*`, `user:<id>`, `role:<name>`, `room:<id>` or `macro:<id>`";
  }
}

/** collectionPattern is the shape of a store collection name. */
export const collectionPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** recordIdPattern is the shape of a store record id. */
export const recordIdPattern = /^[A-Za-z0-9_.:@-]{1,128}$/;

const idGlobPattern = /^[A-Za-z0-9_.:@*-]{1,128}$/;

const hostGlobForm = "a host glob (`api.example.com`, `*.example.com`, `**.example.com`, `host:port`)";

/** resourceForms names, per action, the rule resource forms it takes (for INVALID_ARGUMENT messages and docs). */
export const resourceForms: Readonly<Record<RuleAction, string>> = Object.freeze({
  "store.read": "`*`, `collection` (every record of it) or `collection/idGlob`",
  "store.write": "`*`, `collection` (every record of it) or `collection/idGlob`",
  "store.delete": "`*`, `collection` (every record of it) or `collection/idGlob`",
  "store.list": "`*` or `collection`",
  "net.fetch": `\`*\` or ${hostGlobForm}`,
  "macro.run": "`*` or a macro-name glob (`reports/*`, `reports/**`)",
});

/** requestForms names, per action, the concrete resource a query (EvaluateRules) and the enforcement point use. */
export const requestForms: Readonly<Record<RuleAction, string>> = Object.freeze({
  "store.read": "`collection/id`",
  "store.write": "`collection/id`",
  "store.delete": "`collection/id`",
  "store.list": "`collection`",
  "net.fetch": "a host (`api.example.com`, `api.example.com:8443`)",
  "macro.run": "a macro name (`reports/daily`)",
});

/** storeRecordResource is the resource of a store.read, store.write or store.delete on one record. */
export function storeRecordResource(collection: string, id: string): string {
  return `${collection}/${id}`;
}

/** storeCollectionResource is the resource of a store.list on a collection. */
export function storeCollectionResource(collection: string): string {
  return collection;
}

function isRecordAction(action: RuleAction): boolean {
  return action === "store.read" || action === "store.write" || action === "store.delete";
}

/**
 * checkResource answers why `resource` is not a rule resource for `action`
 * (naming the expected form), or undefined when it is one. For action `*`
 * it must fit the form of at least one action.
 */
export function checkResource(action: RuleAction | "*", resource: string): string | undefined {
  if (action === "*") {
    if (ruleActions.some((a) => formFor(a, resource) !== undefined)) return undefined;
    return "fits the resource form of no action: expected `*`, `collection`, `collection/idGlob`, a host glob or a macro-name glob";
  }
  return formFor(action, resource) === undefined ? `is not a ${action} resource: expected ${resourceForms[action]}` : undefined;
}

/**
 * checkRequestResource answers why `resource` is not a concrete resource of
 * `action` (what a host function or RunMacro asks about), or undefined.
 */
export function checkRequestResource(action: RuleAction, resource: string): string | undefined {
  let ok: boolean;
  if (isRecordAction(action)) {
    const slash = resource.indexOf("/");
    ok = slash > 0 && collectionPattern.test(resource.slice(0, slash)) && recordIdPattern.test(resource.slice(slash + 1));
  } else if (action === "store.list") ok = collectionPattern.test(resource);
  else if (action === "net.fetch") ok = parseHost(resource) !== undefined;
  else ok = macroNameProblem(resource) === undefined;
  return ok ? undefined : `is not a concrete ${action} resource: expected ${requestForms[action]}`;
}

/**
 * validateRule lists what is malformed in a rule (empty when it is valid),
 * one problem per field: subject, action, resource (in the action's
 * grammar) and effect (`allow` or `deny`).
 */
export function validateRule(rule: { subject: string; action: string; resource: string; effect: string }): RuleProblem[] {
  const problems: RuleProblem[] = [];
  const subjectProblem = checkSubject(rule.subject);
  if (subjectProblem !== undefined) problems.push({ field: "subject", attempted: rule.subject, message: subjectProblem });
  const actionValid = rule.action === "*" || isRuleAction(rule.action);
  if (!actionValid) {
    problems.push({ field: "action", attempted: rule.action, message: `must be \`*\` or one of ${ruleActions.join(", ")}` });
  }
  const resourceProblem = checkResource(actionValid ? (rule.action as RuleAction | "*") : "*", rule.resource);
  if (resourceProblem !== undefined) problems.push({ field: "resource", attempted: rule.resource, message: resourceProblem });
  if (rule.effect !== "allow" && rule.effect !== "deny") {
    problems.push({ field: "effect", attempted: rule.effect, message: "must be allow or deny" });
  }
  return problems;
}

/** RuleQuery asks whether an action on a resource is allowed for an actor. */
export interface RuleQuery {
  /** subjects are the actor's subjects (`user:<id>`, `role:<name>`, `room:<id>`, `macro:<id>`); `*` rules always apply. */
  readonly subjects: readonly string[];
  /** action is the concrete action. */
  readonly action: RuleAction;
  /** resource is the concrete resource (requestForms): `collection/id`, `collection` for store.list, `URL.host`, or a macro name. */
  readonly resource: string;
  /** baselineAllowed is whether the baseline (room role, network policy) allows the action. */
  readonly baselineAllowed: boolean;
}

/**
 * validateRuleQuery lists what is malformed in a query (the EvaluateRules
 * dry run): each subject, the action (concrete, not `*`) and the resource,
 * which must be the concrete resource enforcement asks about for that
 * action (requestForms: `notes/n1` for store.write, not `notes`).
 */
export function validateRuleQuery(query: { subjects: readonly string[]; action: string; resource: string }): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const subject of query.subjects) {
    const problem = checkSubject(subject);
    if (problem !== undefined) problems.push({ field: "subjects", attempted: subject, message: problem });
  }
  if (!isRuleAction(query.action)) {
    problems.push({ field: "action", attempted: query.action, message: `must be one of ${ruleActions.join(", ")}` });
    if (query.resource.length === 0) problems.push({ field: "resource", attempted: "", message: "must not be empty" });
  } else {
    const problem = checkRequestResource(query.action, query.resource);
    if (problem !== undefined) problems.push({ field: "resource", attempted: query.resource, message: problem });
  }
  return problems;
}

/**
 * RuleDecision is the answer to a query: allowed = (baselineAllowed or an
 * ALLOW matched) and no DENY matched.
 */
export interface RuleDecision {
  readonly allowed: boolean;
  /** matchedRuleIds are every matching rule, ALLOW and DENY, in the order given to createRuleIndex. */
  readonly matchedRuleIds: readonly string[];
  /**
   * decidingRuleIds are the rules the answer rests on: the matching DENYs
   * when denied by rule, the matching ALLOWs when only rules allowed it;
   * empty when the baseline decided.
   */
  readonly decidingRuleIds: readonly string[];
  /**
   * reason says what decided: `denied-by-rule` (a DENY matched),
   * `allowed-by-baseline`, `allowed-by-rule` (baseline refused, an ALLOW
   * matched), or `not-allowed` (baseline refused and no ALLOW matched).
   */
  readonly reason: "denied-by-rule" | "allowed-by-baseline" | "allowed-by-rule" | "not-allowed";
}

/** MalformedRule is a stored rule that does not parse, and why. */
export interface MalformedRule {
  readonly id: string;
  readonly problems: readonly RuleProblem[];
}

/** RuleIndex evaluates a fixed set of rules; build a new one when the rules change. */
export interface RuleIndex {
  /** size is the number of rules indexed, malformed ones included. */
  readonly size: number;
  /** malformed are the rules that do not parse (see the module comment for how they are enforced). */
  readonly malformed: readonly MalformedRule[];
  /** evaluate decides a query; it throws a RangeError for an action that is not a RuleAction. */
  evaluate(query: RuleQuery): RuleDecision;
}

interface CompiledRule {
  readonly id: string;
  readonly deny: boolean;
  readonly seq: number;
}

interface PatternRule extends CompiledRule {
  matches(probe: Probe): boolean;
}

/**
 * One subject's rules for one action. Literal resources are found by
 * equality (`exact`); patterns by an anchor (`anchored`): a record rule's
 * collection (`notes` for `notes` and `notes/n*`), a macro-name glob's
 * literal first segment (`reports` for `reports/*`), or a host glob's literal
 * name part (`example.com` for `*.example.com`), looked up with each suffix
 * of the host. Only patterns without an anchor (a bare `*`, a wildcard in
 * the first segment, a malformed DENY) are tested on every query of the
 * bucket (`floating`).
 */
interface Bucket {
  readonly exact: Map<string, CompiledRule[]>;
  readonly anchored: Map<string, PatternRule[]>;
  readonly floating: PatternRule[];
}

/** ResourceForm is a rule's resource compiled in one action's form. */
interface ResourceForm {
  /** literal is the exact-match key, when the resource has no wildcard. */
  readonly literal?: string;
  /** anchor is the lookup key of a pattern, when it has one. */
  readonly anchor?: string;
  readonly matches: PatternRule["matches"];
}

/** What evaluate looks up for one query. */
interface Probe {
  readonly resource: string;
  /** host is the parsed host, for net.fetch. */
  readonly host: HostName | undefined;
  /** rest is the part after the anchor: a record's id. */
  readonly rest: string;
  /** key is the exact-match key: the canonical host, or the resource. */
  readonly key: string | undefined;
  /** anchors are the anchor keys to look up: a record's collection, a name's first segment, or a host's name and each proper suffix of it. */
  readonly anchors: readonly string[];
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}

function addToBucket(buckets: Map<RuleAction, Bucket>, key: RuleAction, rule: CompiledRule, form: ResourceForm): void {
  let bucket = buckets.get(key);
  if (bucket === undefined) {
    bucket = { exact: new Map(), anchored: new Map(), floating: [] };
    buckets.set(key, bucket);
  }
  if (form.literal !== undefined) push(bucket.exact, form.literal, rule);
  else if (form.anchor !== undefined) push(bucket.anchored, form.anchor, { ...rule, matches: form.matches });
  else bucket.floating.push({ ...rule, matches: form.matches });
}

const matchAll = (): boolean => true;
const everything: ResourceForm = { matches: matchAll };

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** Compiles a store.read|write|delete resource: `collection` or `collection/idGlob`. */
function recordForm(resource: string): ResourceForm | undefined {
  const slash = resource.indexOf("/");
  const collection = slash < 0 ? resource : resource.slice(0, slash);
  if (!collectionPattern.test(collection)) return undefined;
  if (slash < 0) return { anchor: collection, matches: matchAll };
  const idGlob = resource.slice(slash + 1);
  if (!idGlobPattern.test(idGlob)) return undefined;
  if (!idGlob.includes("*")) return { literal: resource, matches: matchAll };
  const pattern = new RegExp(`^${idGlob.split("*").map(escapeRegExp).join(".*")}$`);
  return { anchor: collection, matches: (probe) => pattern.test(probe.rest) };
}

/** Compiles a net.fetch resource: a host glob. */
function hostForm(resource: string): ResourceForm | undefined {
  const glob = parseHostGlob(resource);
  if (glob === undefined) return undefined;
  if (glob.wildcard === "none" && glob.port !== "any") return { literal: formatHostGlob(glob), matches: matchAll };
  const anchor = glob.labels.length > 0 ? glob.labels.join(".") : undefined;
  return { anchor, matches: (probe) => probe.host !== undefined && hostGlobMatches(glob, probe.host) };
}

/** Compiles a macro.run resource: a macro-name glob. */
function nameForm(resource: string): ResourceForm | undefined {
  if (checkPathGlob(resource) !== undefined) return undefined;
  const matcher = compilePathGlob(resource);
  if (matcher.literal !== undefined) return { literal: matcher.literal, matches: matchAll };
  const first = resource.split("/", 1)[0]!;
  const anchor = resource.includes("/") && !first.includes("*") ? first : undefined;
  return { anchor, matches: (probe) => matcher.test(probe.resource) };
}

/** formFor compiles a rule resource in `action`'s form; undefined when it does not fit. */
function formFor(action: RuleAction, resource: string): ResourceForm | undefined {
  if (resource === "*") return everything;
  if (isRecordAction(action)) return recordForm(resource);
  if (action === "store.list") return collectionPattern.test(resource) ? { literal: resource, matches: matchAll } : undefined;
  if (action === "net.fetch") return hostForm(resource);
  return nameForm(resource);
}

function hostAnchors(host: HostName): string[] {
  const names = host.port === undefined ? host.key : host.key.slice(0, host.key.lastIndexOf(":"));
  const anchors = [names];
  for (let dot = names.indexOf("."); dot >= 0; dot = names.indexOf(".", dot + 1)) anchors.push(names.slice(dot + 1));
  return anchors;
}

function probeFor(action: RuleAction, resource: string): Probe {
  if (action === "net.fetch") {
    const host = parseHost(resource);
    return { resource, host, rest: "", key: host?.key, anchors: host === undefined ? [] : hostAnchors(host) };
  }
  const slash = resource.indexOf("/");
  const first = slash < 0 ? resource : resource.slice(0, slash);
  if (isRecordAction(action)) {
    // A record resource is `collection/id`; anything else matches only `*` and malformed DENYs.
    return slash < 0 ? { resource, host: undefined, rest: "", key: undefined, anchors: [] } : { resource, host: undefined, rest: resource.slice(slash + 1), key: resource, anchors: [first] };
  }
  if (action === "store.list") return { resource, host: undefined, rest: "", key: resource, anchors: [] };
  return { resource, host: undefined, rest: "", key: resource, anchors: [first] };
}

// Module-level helpers, not per-call closures: evaluate runs per host call.
function collect(bucket: Bucket | undefined, probe: Probe, out: CompiledRule[]): void {
  if (bucket === undefined) return;
  if (probe.key !== undefined && bucket.exact.size > 0) {
    const exact = bucket.exact.get(probe.key);
    if (exact !== undefined) for (const rule of exact) out.push(rule);
  }
  if (bucket.anchored.size > 0) {
    for (const anchor of probe.anchors) {
      const patterns = bucket.anchored.get(anchor);
      if (patterns !== undefined) for (const rule of patterns) if (rule.matches(probe)) out.push(rule);
    }
  }
  for (const rule of bucket.floating) if (rule.matches(probe)) out.push(rule);
}

function bySeq(a: CompiledRule, b: CompiledRule): number {
  return a.seq - b.seq;
}

function decide(matched: CompiledRule[], baselineAllowed: boolean): RuleDecision {
  if (matched.length > 1) matched.sort(bySeq);
  const matchedRuleIds: string[] = [];
  const denies: string[] = [];
  const allows: string[] = [];
  for (const rule of matched) {
    matchedRuleIds.push(rule.id);
    (rule.deny ? denies : allows).push(rule.id);
  }
  if (denies.length > 0) return { allowed: false, matchedRuleIds, decidingRuleIds: denies, reason: "denied-by-rule" };
  if (baselineAllowed) return { allowed: true, matchedRuleIds, decidingRuleIds: [], reason: "allowed-by-baseline" };
  if (allows.length > 0) return { allowed: true, matchedRuleIds, decidingRuleIds: allows, reason: "allowed-by-rule" };
  return { allowed: false, matchedRuleIds, decidingRuleIds: [], reason: "not-allowed" };
}

/**
 * createRuleIndex compiles `rules` once (every glob parsed or turned into a
 * RegExp) into an index by subject, then action, then resource (exact
 * resources by equality, patterns by their collection, literal first name
 * segment or host suffix), so evaluate looks only at the rules of the
 * query's subjects (and `*`) for its action whose literal part fits the
 * resource. An action `*` rule is indexed under every action whose form its
 * resource fits. A rule that does not parse is listed in `malformed` and
 * never dropped silently: a malformed DENY with a valid subject matches
 * every resource of its action (of every action, for `*` or a malformed
 * action) for that subject, so a rule that cannot be read never turns into
 * an allow; a malformed ALLOW matches nothing.
 */
export function createRuleIndex(rules: Iterable<Rule>): RuleIndex {
  const bySubject = new Map<string, Map<RuleAction, Bucket>>();
  const malformed: MalformedRule[] = [];
  let seq = 0;
  for (const rule of rules) {
    const compiled: CompiledRule = { id: rule.id, deny: rule.effect !== "allow", seq: seq++ };
    const problems = validateRule(rule);
    if (problems.length > 0) malformed.push({ id: rule.id, problems });
    if (checkSubject(rule.subject) !== undefined) continue;
    let buckets = bySubject.get(rule.subject);
    if (buckets === undefined) {
      buckets = new Map();
      bySubject.set(rule.subject, buckets);
    }
    const actions: readonly RuleAction[] = isRuleAction(rule.action) ? [rule.action] : ruleActions;
    if (problems.length > 0) {
      if (compiled.deny) for (const action of actions) addToBucket(buckets, action, compiled, everything);
      continue;
    }
    for (const action of actions) {
      const form = formFor(action, rule.resource);
      if (form !== undefined) addToBucket(buckets, action, compiled, form);
    }
  }
  const size = seq;

  function visit(subject: string, action: RuleAction, probe: Probe, out: CompiledRule[]): void {
    const buckets = bySubject.get(subject);
    if (buckets === undefined) return;
    collect(buckets.get(action), probe, out);
  }

  function evaluate(query: RuleQuery): RuleDecision {
    const { action, subjects } = query;
    if (!isRuleAction(action)) throw new RangeError(`not a rule action: ${JSON.stringify(action)}`);
    const probe = probeFor(action, query.resource);
    const matched: CompiledRule[] = [];
    visit("*", action, probe, matched);
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[i]!;
      if (subject !== "*" && subjects.indexOf(subject) === i) visit(subject, action, probe, matched);
    }
    return decide(matched, query.baselineAllowed);
  }

  return { size, malformed, evaluate };
}
