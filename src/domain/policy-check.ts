import { parseHostGlob } from "./host-glob.js";
import {
  coversValue,
  formatPolicyValue,
  hostModules,
  listItemsNotCovered,
  policyFields,
  policyFieldValue,
  type EffectivePolicy,
  type PolicyFieldName,
  type PolicyValues,
} from "./policy.js";

/**
 * TightenProblem is one field of a layer that loosens its parent: the
 * service answers it as INVALID_ARGUMENT, reason POLICY_LOOSENS, with
 * `field`, `attempted_value` and `parent_value`.
 */
export interface TightenProblem {
  /** field is the proto field name (`timeout_ms`). */
  readonly field: PolicyFieldName;
  /** attempted is the layer's value as text. */
  readonly attempted: string;
  /** parent is the parent's effective value as text. */
  readonly parent: string;
  /** notCovered, for lists, are the entries the parent does not allow. */
  readonly notCovered?: readonly string[];
}

/**
 * checkTightenOnly lists the fields of `child` that are looser than the
 * effective `parent`: a number above the parent's, `true` where the parent
 * is `false`, a list entry no parent entry covers (host globs by coverage:
 * `a.example.com` ⊆ `*.example.com`, never the reverse). Unset fields
 * inherit and are never a problem; `override_ceiling` is not checked here
 * (see validatePolicy). An empty answer means the write is allowed.
 *
 * Use the effective policy of the layers above as `parent`: for a room, the
 * merge of global alone; for a macro, of global and room; for a user
 * override or role default, userLayerBound of the global merge.
 */
export function checkTightenOnly(parent: EffectivePolicy, child: PolicyValues): TightenProblem[] {
  const problems: TightenProblem[] = [];
  for (const field of policyFields) {
    const value = policyFieldValue(child, field);
    if (value === undefined) continue;
    const parentValue = policyFieldValue(parent, field)!;
    if (coversValue(field, parentValue, value)) continue;
    const problem = { field: field.name, attempted: formatPolicyValue(value), parent: formatPolicyValue(parentValue) };
    problems.push(
      field.kind === "list"
        ? { ...problem, notCovered: listItemsNotCovered(field, parentValue as readonly string[], value as readonly string[]) }
        : problem,
    );
  }
  return problems;
}

/** PolicyProblem is a malformed value in a policy layer. */
export interface PolicyProblem {
  /** field is the proto field path (`timeout_ms`, `override_ceiling.allowed_hosts`). */
  readonly field: string;
  /** attempted is the offending value as text. */
  readonly attempted: string;
  /** message says what is wrong. */
  readonly message: string;
}

/** maxPolicyListLength bounds `allowed_hosts` and `allowed_imports`. */
export const maxPolicyListLength = 256;

/** maxPolicyNumber is the largest value of a numeric policy field (uint32). */
export const maxPolicyNumber = 0xffffffff;

const maxUint32 = maxPolicyNumber;

/**
 * positiveFields are the limits a run can't have at 0 (no time, no memory,
 * no stack, no output): a 0 there is refused, never taken as a tightening.
 * Elsewhere 0 is a meaning of its own: `max_host_calls: 0` is a pure macro
 * (no store or net call), `max_runs_per_minute: 0` freezes the macro's runs.
 */
export const positiveFields: ReadonlySet<PolicyFieldName> = new Set(["timeout_ms", "memory_limit_bytes", "max_stack_bytes", "max_output_bytes"]);

function validateFields(policy: PolicyValues, prefix: string, problems: PolicyProblem[]): void {
  for (const field of policyFields) {
    const value = policyFieldValue(policy, field);
    if (value === undefined) continue;
    const name = prefix + field.name;
    const report = (attempted: string, message: string) => problems.push({ field: name, attempted, message });
    switch (field.kind) {
      case "number":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 0 || value > maxUint32) {
          report(String(value), "must be an integer from 0 to 4294967295");
        } else if (value === 0 && positiveFields.has(field.name)) {
          report("0", "must be at least 1 (a run can't have no time, memory, stack or output; leave it unset to inherit)");
        }
        break;
      case "boolean":
        if (typeof value !== "boolean") report(String(value), "must be true or false");
        break;
      case "list": {
        const list = value as readonly string[];
        if (list.length > maxPolicyListLength) {
          report(String(list.length), `must hold at most ${maxPolicyListLength} entries`);
          break;
        }
        for (const item of list) {
          if (field.items === "host-glob" && parseHostGlob(item) === undefined) {
            report(item, "is not a host glob (`api.example.com`, `*.example.com`, `**.example.com`, `host:port`)");
          }
          if (field.items === "exact" && !hostModules.includes(item)) {
            report(item, `is not a host module (${hostModules.join(", ")})`);
          }
        }
      }
    }
  }
}

/**
 * validatePolicy lists malformed values of a layer: numbers outside uint32,
 * 0 for the positiveFields (also in override_ceiling), host entries that are not host globs, imports that are not host modules,
 * lists longer than maxPolicyListLength, and `override_ceiling` anywhere but
 * on the global layer (or nested in a ceiling). It does not compare with the
 * parent; see checkTightenOnly.
 */
export function validatePolicy(policy: PolicyValues, layer: "global" | "room" | "macro" | "user" | "role"): PolicyProblem[] {
  const problems: PolicyProblem[] = [];
  validateFields(policy, "", problems);
  const ceiling = policy.overrideCeiling;
  if (ceiling !== undefined) {
    if (layer !== "global") {
      problems.push({ field: "override_ceiling", attempted: "set", message: "may be set on the global policy only" });
    } else {
      validateFields(ceiling, "override_ceiling.", problems);
      if (ceiling.overrideCeiling !== undefined) {
        problems.push({ field: "override_ceiling.override_ceiling", attempted: "set", message: "must not be set" });
      }
    }
  }
  return problems;
}
