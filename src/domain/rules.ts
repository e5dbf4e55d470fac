import { hostGlobMatches, parseHost, parseHostGlob, formatHostGlob, type HostName } from "./host-glob.js";
import { checkPathGlob, compilePathGlob } from "./path-glob.js";
import { isUuid } from "./ids.js";

/**
 * Runtime rules (DESIGN.md §5): syntax, and an index that evaluates them per
 * sandbox action without scanning the tenant's rules.
 *
 * A rule is `subject action resource effect`:
 * - subject: `*`, `user:<id>`, `room:<id>`, `macro:<id>` (ids are lowercase
 *   UUIDs, as the API returns them) or `role:<name>`; compared exactly.
 * - action: one of ruleActions, or `*` for all of them.
 * - resource: for `net.fetch` a host glob (host-glob.ts: `api.example.com`,
 *   `*.example.com`, `**.example.com`, `host:port`); for store actions and
 *   `macro.run` a path glob (path-glob.ts: `invoices`, `invoices/*`,
 *   `invoices/**`). For action `*` it is read in the grammar of the action
 *   being evaluated, and must be valid in at least one. A bare `*` matches
 *   every resource of any kind (for hosts, on any port).
 * - effect: `allow` or `deny`.
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

/** resourceKind says in which grammar an action's resource is written. */
export function resourceKind(action: RuleAction): "host" | "path" {
  return action === "net.fetch" ? "host" : "path";
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

/** checkResource answers why `resource` is malformed for `action`, or undefined when valid. */
export function checkResource(action: RuleAction | "*", resource: string): string | undefined {
  if (resource === "*") return undefined;
  const hostProblem = parseHostGlob(resource) === undefined ? "is not a host glob (`api.example.com`, `*.example.com`, `**.example.com`, `host:port`)" : undefined;
  const pathProblem = checkPathGlob(resource);
  const pathMessage = pathProblem === undefined ? undefined : `is not a path glob: ${pathProblem}`;
  if (action === "*") return hostProblem !== undefined && pathMessage !== undefined ? "is neither a host glob nor a path glob" : undefined;
  return resourceKind(action) === "host" ? hostProblem : pathMessage;
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
  /** resource is the concrete resource: a path (`invoices/42`) or, for `net.fetch`, `URL.host`. */
  readonly resource: string;
  /** baselineAllowed is whether the baseline (room role, network policy) allows the action. */
  readonly baselineAllowed: boolean;
}

/**
 * validateRuleQuery lists what is malformed in a query (the EvaluateRules
 * dry run): each subject, the action (concrete, not `*`) and a non-empty
 * resource.
 */
export function validateRuleQuery(query: { subjects: readonly string[]; action: string; resource: string }): RuleProblem[] {
  const problems: RuleProblem[] = [];
  for (const subject of query.subjects) {
    const problem = checkSubject(subject);
    if (problem !== undefined) problems.push({ field: "subjects", attempted: subject, message: problem });
  }
  if (!isRuleAction(query.action)) {
    problems.push({ field: "action", attempted: query.action, message: `must be one of ${ruleActions.join(", ")}` });
  }
  if (query.resource.length === 0) problems.push({ field: "resource", attempted: "", message: "must not be empty" });
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

/** RuleIndex evaluates a fixed set of rules; build a new one when the rules change. */
export interface RuleIndex {
  /** size is the number of rules indexed. */
  readonly size: number;
  /** evaluate decides a query; it throws a RangeError for an action that is not a RuleAction. */
  evaluate(query: RuleQuery): RuleDecision;
}

interface CompiledRule {
  readonly id: string;
  readonly deny: boolean;
  readonly seq: number;
}

interface PatternRule extends CompiledRule {
  /** matches gets the raw resource and, for host actions, the parsed host. */
  matches(resource: string, host: HostName | undefined): boolean;
}

/**
 * One subject's rules for one action key. Literal resources are found by
 * equality (`exact`); wildcard patterns by an anchor (`anchored`): a path
 * glob's literal first segment (`invoices` for `invoices/*`), or a host
 * glob's literal name part (`example.com` for `*.example.com`), looked up
 * with each suffix of the host. Only patterns without an anchor (a bare
 * `*`, or a wildcard in the first segment) are tested on every query of
 * the bucket (`floating`).
 */
interface Bucket {
  readonly exact: Map<string, CompiledRule[]>;
  readonly anchored: Map<string, PatternRule[]>;
  readonly floating: PatternRule[];
}

/** Bucket keys: concrete actions, and `*` rules split by the grammar they are read in. */
type BucketKey = RuleAction | "*host" | "*path";

/** ResourceForm is a rule's resource compiled in one grammar. */
interface ResourceForm {
  /** literal is the exact-match key, when the glob has no wildcard. */
  readonly literal?: string;
  /** anchor is the lookup key of a wildcard pattern, when it has one. */
  readonly anchor?: string;
  readonly matches: PatternRule["matches"];
}

function push<T>(map: Map<string, T[]>, key: string, item: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [item]);
  else list.push(item);
}

function addToBucket(buckets: Map<BucketKey, Bucket>, key: BucketKey, rule: CompiledRule, form: ResourceForm): void {
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

/** Compiles a rule's resource in the host grammar; undefined if it is not a host glob. */
function hostForm(resource: string): ResourceForm | undefined {
  if (resource === "*") return { matches: matchAll };
  const glob = parseHostGlob(resource);
  if (glob === undefined) return undefined;
  if (glob.wildcard === "none" && glob.port !== "any") return { literal: formatHostGlob(glob), matches: matchAll };
  const anchor = glob.labels.length > 0 ? glob.labels.join(".") : undefined;
  return { anchor, matches: (_resource, host) => host !== undefined && hostGlobMatches(glob, host) };
}

/** Compiles a rule's resource in the path grammar; undefined if it is not a path glob. */
function pathForm(resource: string): ResourceForm | undefined {
  if (checkPathGlob(resource) !== undefined) return undefined;
  const matcher = compilePathGlob(resource);
  if (matcher.literal !== undefined) return { literal: matcher.literal, matches: matchAll };
  const first = resource.split("/", 1)[0]!;
  const anchor = resource.includes("/") && !first.includes("*") ? first : undefined;
  return { anchor, matches: (r) => matcher.test(r) };
}

/** What evaluate looks up for one query. */
interface Probe {
  readonly resource: string;
  /** host is the parsed host, for net.fetch. */
  readonly host: HostName | undefined;
  /** key is the exact-match key: the canonical host, or the path. */
  readonly key: string | undefined;
  /** anchors are the anchor keys to look up: a path's first segment, or a host's name and each proper suffix of it. */
  readonly anchors: readonly string[];
}

function hostAnchors(host: HostName): string[] {
  const names = host.port === undefined ? host.key : host.key.slice(0, host.key.lastIndexOf(":"));
  const anchors = [names];
  for (let dot = names.indexOf("."); dot >= 0; dot = names.indexOf(".", dot + 1)) anchors.push(names.slice(dot + 1));
  return anchors;
}

function probeFor(isHost: boolean, resource: string): Probe {
  if (isHost) {
    const host = parseHost(resource);
    return { resource, host, key: host?.key, anchors: host === undefined ? [] : hostAnchors(host) };
  }
  const slash = resource.indexOf("/");
  return { resource, host: undefined, key: resource, anchors: [slash < 0 ? resource : resource.slice(0, slash)] };
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
      if (patterns !== undefined) for (const rule of patterns) if (rule.matches(probe.resource, probe.host)) out.push(rule);
    }
  }
  for (const rule of bucket.floating) if (rule.matches(probe.resource, probe.host)) out.push(rule);
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
 * resources by equality, wildcard patterns by their literal first path
 * segment or host suffix), so evaluate looks only at the rules of the
 * query's subjects (and `*`) for its action (and `*`) whose literal part
 * fits the resource. It throws a RangeError naming the rule if one is
 * malformed: a rule that cannot be read must not silently drop out (a lost
 * DENY would allow).
 */
export function createRuleIndex(rules: Iterable<Rule>): RuleIndex {
  const bySubject = new Map<string, Map<BucketKey, Bucket>>();
  let seq = 0;
  for (const rule of rules) {
    const problems = validateRule(rule);
    if (problems.length > 0) {
      throw new RangeError(`rule ${rule.id}: ${problems.map((p) => `${p.field} ${p.message}`).join("; ")}`);
    }
    let buckets = bySubject.get(rule.subject);
    if (buckets === undefined) {
      buckets = new Map();
      bySubject.set(rule.subject, buckets);
    }
    const compiled: CompiledRule = { id: rule.id, deny: rule.effect === "deny", seq: seq++ };
    if (rule.action === "*") {
      const host = hostForm(rule.resource);
      if (host !== undefined) addToBucket(buckets, "*host", compiled, host);
      const path = pathForm(rule.resource);
      if (path !== undefined) addToBucket(buckets, "*path", compiled, path);
    } else {
      const form = resourceKind(rule.action) === "host" ? hostForm(rule.resource) : pathForm(rule.resource);
      addToBucket(buckets, rule.action, compiled, form!);
    }
  }
  const size = seq;

  function visit(subject: string, action: RuleAction, wildKey: BucketKey, probe: Probe, out: CompiledRule[]): void {
    const buckets = bySubject.get(subject);
    if (buckets === undefined) return;
    collect(buckets.get(action), probe, out);
    collect(buckets.get(wildKey), probe, out);
  }

  function evaluate(query: RuleQuery): RuleDecision {
    const { action, subjects } = query;
    if (!isRuleAction(action)) throw new RangeError(`not a rule action: ${JSON.stringify(action)}`);
    const isHost = action === "net.fetch";
    const probe = probeFor(isHost, query.resource);
    const wildKey: BucketKey = isHost ? "*host" : "*path";
    const matched: CompiledRule[] = [];
    visit("*", action, wildKey, probe, matched);
    for (let i = 0; i < subjects.length; i++) {
      const subject = subjects[i]!;
      if (subject !== "*" && subjects.indexOf(subject) === i) visit(subject, action, wildKey, probe, matched);
    }
    return decide(matched, query.baselineAllowed);
  }

  return { size, evaluate };
}
