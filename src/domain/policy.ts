import { formatHostGlob, hostGlobCovers, intersectHostGlobs, parseHostGlob, type HostGlob } from "./host-glob.js";

/**
 * PolicyValues is one policy layer (global, room, macro, user override or a
 * role's default policy), mirroring the proto `Policy`. Every field is
 * optional: unset means "inherit", which differs from zero, `false` or an
 * empty list (`[]` allows nothing).
 */
export interface PolicyValues {
  /** timeoutMs is a run's deadline in milliseconds. */
  timeoutMs?: number;
  /** memoryLimitBytes is a run's memory limit. */
  memoryLimitBytes?: number;
  /** maxStackBytes is a run's stack limit. */
  maxStackBytes?: number;
  /** maxOutputBytes caps a run's output and logs. */
  maxOutputBytes?: number;
  /** maxHostCalls caps a run's host-function calls. */
  maxHostCalls?: number;
  /** networkEnabled lets `gatehouse:net` fetch. */
  networkEnabled?: boolean;
  /** allowedHosts are host globs (see host-glob.ts) that `gatehouse:net` may reach. */
  allowedHosts?: readonly string[];
  /** allowedImports are the `gatehouse:*` modules a macro may import. */
  allowedImports?: readonly string[];
  /** maxRunsPerMinute caps runs per user and macro. */
  maxRunsPerMinute?: number;
  /** allowRoomTokens accepts legacy `x-room-token` credentials for a room. */
  allowRoomTokens?: boolean;
  /** overrideCeiling, on the global layer only, bounds how far the user layer may loosen. */
  overrideCeiling?: PolicyValues;
}

/** PolicyFieldKey is the camelCase key of a mergeable policy field (all but overrideCeiling). */
export type PolicyFieldKey = Exclude<keyof PolicyValues, "overrideCeiling">;

/** EffectivePolicy is a merged policy: every field set, no override ceiling. */
export type EffectivePolicy = { readonly [K in PolicyFieldKey]-?: NonNullable<PolicyValues[K]> };

/** PolicyValue is the value of one policy field. */
export type PolicyValue = number | boolean | readonly string[];

/** PolicyFieldName is the proto (snake_case) name of a mergeable policy field. */
export type PolicyFieldName =
  | "timeout_ms"
  | "memory_limit_bytes"
  | "max_stack_bytes"
  | "max_output_bytes"
  | "max_host_calls"
  | "network_enabled"
  | "allowed_hosts"
  | "allowed_imports"
  | "max_runs_per_minute"
  | "allow_room_tokens";

/**
 * PolicyField describes one field so code can treat fields generically.
 * Tighter means: a lower number, `false` rather than `true`, a list allowing
 * a subset. `items` says how list entries compare: `host-glob` entries by
 * glob coverage (see host-glob.ts), `exact` entries by equality.
 */
export interface PolicyField {
  readonly name: PolicyFieldName;
  readonly key: PolicyFieldKey;
  readonly kind: "number" | "boolean" | "list";
  readonly items?: "host-glob" | "exact";
}

/** policyFields lists every mergeable policy field in proto order. */
export const policyFields: readonly PolicyField[] = Object.freeze([
  { name: "timeout_ms", key: "timeoutMs", kind: "number" },
  { name: "memory_limit_bytes", key: "memoryLimitBytes", kind: "number" },
  { name: "max_stack_bytes", key: "maxStackBytes", kind: "number" },
  { name: "max_output_bytes", key: "maxOutputBytes", kind: "number" },
  { name: "max_host_calls", key: "maxHostCalls", kind: "number" },
  { name: "network_enabled", key: "networkEnabled", kind: "boolean" },
  { name: "allowed_hosts", key: "allowedHosts", kind: "list", items: "host-glob" },
  { name: "allowed_imports", key: "allowedImports", kind: "list", items: "exact" },
  { name: "max_runs_per_minute", key: "maxRunsPerMinute", kind: "number" },
  { name: "allow_room_tokens", key: "allowRoomTokens", kind: "boolean" },
] satisfies PolicyField[]);

/** hostModules are the host modules a macro may import, when `allowed_imports` lists them. */
export const hostModules: readonly string[] = Object.freeze(["gatehouse:store", "gatehouse:net", "gatehouse:log"]);

/**
 * defaultPolicy holds the built-in defaults (docs/concepts.md) that apply where no
 * layer sets a field. `allowed_imports` allows all three host modules by
 * default: importing grants nothing by itself, since `gatehouse:net` still
 * needs `network_enabled` and a host in `allowed_hosts` (both off/empty by
 * default), and store calls still pass the room-role baseline and the rules.
 */
export const defaultPolicy: EffectivePolicy = Object.freeze({
  timeoutMs: 1000,
  memoryLimitBytes: 32 * 1024 * 1024,
  maxStackBytes: 512 * 1024,
  maxOutputBytes: 64 * 1024,
  maxHostCalls: 1000,
  networkEnabled: false,
  allowedHosts: Object.freeze([]) as readonly string[],
  allowedImports: hostModules,
  maxRunsPerMinute: 600,
  allowRoomTokens: false,
});

/** policyFieldValue reads one field of a layer; undefined when the layer leaves it unset. */
export function policyFieldValue(policy: PolicyValues | EffectivePolicy, field: PolicyField): PolicyValue | undefined {
  return (policy as PolicyValues)[field.key];
}

/** formatPolicyValue writes a value as text for error details: `1000`, `true`, `["a","b"]`. */
export function formatPolicyValue(value: PolicyValue): string {
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function parsedGlobs(list: readonly string[]): HostGlob[] {
  const globs: HostGlob[] = [];
  for (const text of list) {
    const glob = parseHostGlob(text);
    if (glob !== undefined) globs.push(glob);
  }
  return globs;
}

/** Keeps the first of equal entries and drops entries another one covers. */
function reduceGlobs(globs: HostGlob[]): string[] {
  const kept: HostGlob[] = [];
  for (const [i, glob] of globs.entries()) {
    const redundant = globs.some((other, j) => {
      if (j === i || !hostGlobCovers(other, glob)) return false;
      // Mutually covering (equal) entries: keep the first one.
      return !hostGlobCovers(glob, other) || j < i;
    });
    if (!redundant) kept.push(glob);
  }
  return kept.map(formatHostGlob);
}

/**
 * listItemsNotCovered answers the entries of `child` that no entry of
 * `parent` covers (empty when child ⊆ parent).
 */
export function listItemsNotCovered(field: PolicyField, parent: readonly string[], child: readonly string[]): string[] {
  if (field.items === "host-glob") {
    const parents = parsedGlobs(parent);
    return child.filter((text) => {
      const glob = parseHostGlob(text);
      return glob === undefined || !parents.some((p) => hostGlobCovers(p, glob));
    });
  }
  return child.filter((item) => !parent.includes(item));
}

/** coversValue says whether `child` is as tight as `parent` or tighter (child ≤ parent). */
export function coversValue(field: PolicyField, parent: PolicyValue, child: PolicyValue): boolean {
  switch (field.kind) {
    case "number":
      return (child as number) <= (parent as number);
    case "boolean":
      return !(child as boolean) || (parent as boolean);
    case "list":
      return listItemsNotCovered(field, parent as readonly string[], child as readonly string[]).length === 0;
  }
}

/** sameValue says whether two values allow exactly the same (each covers the other). */
export function sameValue(field: PolicyField, a: PolicyValue, b: PolicyValue): boolean {
  return coversValue(field, a, b) && coversValue(field, b, a);
}

/**
 * tightestValue answers the loosest value that is at least as tight as both:
 * the minimum, the AND, or the intersection (for host globs, the pairwise
 * glob intersections, without redundant entries).
 */
export function tightestValue(field: PolicyField, a: PolicyValue, b: PolicyValue): PolicyValue {
  switch (field.kind) {
    case "number":
      return Math.min(a as number, b as number);
    case "boolean":
      return (a as boolean) && (b as boolean);
    case "list": {
      const left = a as readonly string[];
      const right = b as readonly string[];
      if (field.items === "host-glob") {
        const rights = parsedGlobs(right);
        const meets: HostGlob[] = [];
        for (const l of parsedGlobs(left)) {
          for (const r of rights) {
            const meet = intersectHostGlobs(l, r);
            if (meet !== undefined) meets.push(meet);
          }
        }
        return reduceGlobs(meets);
      }
      return [...new Set(left.filter((item) => right.includes(item)))];
    }
  }
}

/**
 * loosestValue answers the tightest value that is at least as loose as both:
 * the maximum, the OR, or the union (without redundant host globs).
 */
export function loosestValue(field: PolicyField, a: PolicyValue, b: PolicyValue): PolicyValue {
  switch (field.kind) {
    case "number":
      return Math.max(a as number, b as number);
    case "boolean":
      return (a as boolean) || (b as boolean);
    case "list": {
      const both = [...(a as readonly string[]), ...(b as readonly string[])];
      if (field.items === "host-glob") return reduceGlobs(parsedGlobs(both));
      return [...new Set(both)];
    }
  }
}
