import type { Principal } from "../../context.js";
import { DomainError, invalidArgument } from "../../domain/errors.js";
import { checkTightenOnly, validatePolicy, type TightenProblem } from "../../domain/policy-check.js";
import type { MergedPolicy } from "../../domain/policy-merge.js";
import type { PolicyFieldName, PolicyValues } from "../../domain/policy.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import type { MacroPolicyHooks } from "../../policies/macro-hooks.js";
import { normalizePolicy } from "../../policies/policy-codec.js";
import type { PolicyStore } from "../../store/policies.js";
import type { Tx } from "../../store/tx.js";

/**
 * ManagedUsers is what the policies use cases ask of the users aggregate: a
 * change of a user's override needs a caller strictly above the user
 * (SUPERGOD exempt; PERMISSION_DENIED `LEVEL_TOO_LOW`), as the database says
 * now, and the user's row locked until the call ends (NOT_FOUND when none).
 */
export interface ManagedUsers {
  requireManaged(tx: Tx, principal: Principal, userId: string): Promise<void>;
}

/** PoliciesDeps are what the policies use cases need. */
export interface PoliciesDeps {
  layers: PolicyStore;
  /** effective merges layers (cached) and tells every replica, after commit, what a write changed. */
  effective: Pick<EffectivePolicies, "effectivePolicy" | "invalidate">;
  /** macros check a macro's existence and its lock (the macros module's hooks). */
  macros: MacroPolicyHooks;
  users: ManagedUsers;
}

/** checkLayer validates and normalizes a layer the caller sent (INVALID_ARGUMENT naming the field). */
export function checkLayer(values: PolicyValues, layer: "global" | "room" | "macro" | "user"): PolicyValues {
  const problem = validatePolicy(values, layer)[0];
  if (problem) throw invalidArgument(problem.field, problem.message, problem.attempted);
  return normalizePolicy(values);
}

/**
 * loosens answers INVALID_ARGUMENT `POLICY_LOOSENS` for the first field that
 * loosens its parent, with attempted_value, parent_value and, as `layer`,
 * the layer that holds the parent's value.
 */
export function loosens(problems: readonly TightenProblem[], layerOf: (field: PolicyFieldName) => string, what: string): DomainError {
  const first = problems[0]!;
  const others = problems.slice(1).map((p) => p.field);
  const extra = first.notCovered && first.notCovered.length > 0 ? ` (${JSON.stringify(first.notCovered)} not allowed above)` : "";
  return new DomainError(
    "invalid_argument",
    "POLICY_LOOSENS",
    `${first.field}: ${first.attempted} is looser than ${what} ${first.parent}${extra}${others.length > 0 ? `; also ${others.join(", ")}` : ""}`,
    { field: first.field, attemptedValue: first.attempted, parentValue: first.parent, layer: layerOf(first.field) },
  );
}

/** looserFields lists, for the audit log, each field of `layer` looser than `parent`, with both values. */
export function looserFields(parent: MergedPolicy, layer: PolicyValues): Array<{ field: string; from: string; to: string; layer: string }> {
  return checkTightenOnly(parent.policy, layer).map((p) => ({ field: p.field, from: p.parent, to: p.attempted, layer: parent.sources[p.field] }));
}
