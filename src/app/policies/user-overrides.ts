import { checkTightenOnly } from "../../domain/policy-check.js";
import { mergePolicies, userLayerBound } from "../../domain/policy-merge.js";
import { policyFieldValue, policyFields, type PolicyFieldName, type PolicyValues } from "../../domain/policy.js";
import { policyToJson } from "../../policies/policy-codec.js";
import type { Call, Outcome } from "../call.js";
import { outcome } from "../call.js";
import { actorId } from "../rooms/room-role.js";
import { checkLayer, loosens, looserFields, type PoliciesDeps } from "./policies-deps.js";

/**
 * updateUserPolicy sets a user's override (tenant ADMIN+, strictly above the
 * user): it may loosen the global merge only up to the global
 * override_ceiling; the audit record says what it loosened.
 */
export async function updateUserPolicy(
  deps: Pick<PoliciesDeps, "layers" | "effective" | "users">,
  call: Call,
  input: { userId: string; policy: PolicyValues },
): Promise<Outcome<PolicyValues>> {
  const { userId } = input;
  const tenantId = call.principal.tenantId;
  const values = checkLayer(input.policy, "user");
  const { before, loosened } = await call.inTx(async (tx) => {
    await deps.users.requireManaged(tx, call.principal, userId);
    const global = await deps.layers.global(tx);
    const upper = mergePolicies([{ name: "global", policy: global }]);
    const ceiling = global.overrideCeiling;
    const problems = checkTightenOnly(userLayerBound(upper.policy, ceiling), values);
    if (problems.length > 0) {
      const layerOf = (name: PolicyFieldName) => {
        const field = policyFields.find((f) => f.name === name)!;
        return ceiling !== undefined && policyFieldValue(ceiling, field) !== undefined ? "global.override_ceiling" : upper.sources[name];
      };
      throw loosens(problems, layerOf, "the global override_ceiling allows:");
    }
    const before = await deps.layers.lockUserOverride(tx, userId);
    await deps.layers.putUserOverride(tx, userId, { tenantId, policy: values, updatedBy: actorId(call.principal) });
    return { before, loosened: looserFields(upper, values) };
  });
  call.afterCommit(() => deps.effective.invalidate({ kind: "user", tenantId, userId }));
  return outcome(values, {
    resource: `user:${userId}`,
    details: { before: before === undefined ? null : policyToJson(before), after: policyToJson(values), loosened },
  });
}

/** deleteUserPolicy removes a user's override (the same rank rule as updateUserPolicy); their roles' defaults apply again. */
export async function deleteUserPolicy(deps: Pick<PoliciesDeps, "layers" | "effective" | "users">, call: Call, userId: string): Promise<Outcome<void>> {
  const tenantId = call.principal.tenantId;
  const before = await call.inTx(async (tx) => {
    await deps.users.requireManaged(tx, call.principal, userId);
    return deps.layers.deleteUserOverride(tx, userId);
  });
  call.afterCommit(() => deps.effective.invalidate({ kind: "user", tenantId, userId }));
  return outcome(undefined, { resource: `user:${userId}`, details: { before: before === undefined ? null : policyToJson(before) } });
}
