import { DomainError, notFound, permissionDenied } from "../../domain/errors.js";
import { checkTightenOnly } from "../../domain/policy-check.js";
import { mergePolicies } from "../../domain/policy-merge.js";
import type { PolicyValues } from "../../domain/policy.js";
import { policyToJson } from "../../policies/policy-codec.js";
import type { Call, Outcome } from "../call.js";
import { outcome } from "../call.js";
import { actorId } from "../rooms/room-role.js";
import { checkLayer, loosens, looserFields, type PoliciesDeps } from "./policies-deps.js";

/**
 * updateGlobalPolicy replaces the global layer (GOD+, from the platform
 * tenant: row-level security lets only that tenant's scope write it). Any
 * value goes, loosening included; the audit record says what loosened.
 */
export async function updateGlobalPolicy(deps: Pick<PoliciesDeps, "layers" | "effective">, call: Call, requested: PolicyValues): Promise<Outcome<PolicyValues>> {
  const values = checkLayer(requested, "global");
  const before = await call.inTx(async (tx) => {
    const before = await deps.layers.global(tx);
    if (!(await deps.layers.putGlobal(tx, values, actorId(call.principal)))) {
      throw permissionDenied("PLATFORM_TENANT_ONLY", "the global policy is edited from the platform's default tenant only", { layer: "global" });
    }
    return before;
  });
  call.afterCommit(() => deps.effective.invalidate({ kind: "global" }));
  return outcome(values, {
    resource: "policy:global",
    details: { before: policyToJson(before), after: policyToJson(values), loosened: looserFields(mergePolicies([{ name: "global", policy: before }]), values) },
  });
}

/** updateRoomPolicy replaces a room's layer, which may only tighten the global policy (POLICY_LOOSENS). */
export async function updateRoomPolicy(
  deps: Pick<PoliciesDeps, "layers" | "effective">,
  call: Call,
  input: { roomId: string; policy: PolicyValues },
): Promise<Outcome<PolicyValues>> {
  const { roomId } = input;
  const tenantId = call.principal.tenantId;
  const values = checkLayer(input.policy, "room");
  const before = await call.inTx(async (tx) => {
    const before = await deps.layers.roomLayer(tx, tenantId, roomId);
    if (before === undefined) throw notFound("room");
    const parent = mergePolicies([{ name: "global", policy: await deps.layers.global(tx) }]);
    const problems = checkTightenOnly(parent.policy, values);
    if (problems.length > 0) throw loosens(problems, (field) => parent.sources[field], "the global policy's");
    await deps.layers.putRoomLayer(tx, roomId, { tenantId, policy: values, updatedBy: actorId(call.principal) });
    return before;
  });
  call.afterCommit(() => deps.effective.invalidate({ kind: "room", tenantId, roomId }));
  return outcome(values, { resource: `room:${roomId}`, roomId, details: { before: policyToJson(before), after: policyToJson(values) } });
}

/**
 * updateMacroPolicy replaces a macro's layer, which may only tighten the
 * room's merged policy. The caller must hold the macro's lock; its fencing
 * token is stored with the layer and a lower one than stored is refused
 * (STALE_FENCING_TOKEN).
 */
export async function updateMacroPolicy(
  deps: Pick<PoliciesDeps, "layers" | "effective" | "macros">,
  call: Call,
  input: { roomId: string; macroId: string; policy: PolicyValues; fencingToken: bigint | undefined },
): Promise<Outcome<PolicyValues>> {
  const { roomId, macroId } = input;
  const { principal } = call;
  const tenantId = principal.tenantId;
  const values = checkLayer(input.policy, "macro");
  const { before, fencingToken } = await call.inTx(async (tx) => {
    if (!(await deps.macros.macroExists(tx, tenantId, roomId, macroId))) throw notFound("macro");
    const lock = await deps.macros.checkMacroWrite({ em: tx, principal, tenantId, roomId, macroId, fencingToken: input.fencingToken });
    const room = await deps.layers.roomLayer(tx, tenantId, roomId);
    if (room === undefined) throw notFound("room");
    const parent = mergePolicies([
      { name: "global", policy: await deps.layers.global(tx) },
      { name: "room", policy: room },
    ]);
    const problems = checkTightenOnly(parent.policy, values);
    if (problems.length > 0) throw loosens(problems, (field) => parent.sources[field], "the room's merged policy's");
    const existing = await deps.layers.lockMacroLayer(tx, roomId, macroId);
    const stored = existing.fencingToken;
    if (lock.fencingToken !== undefined && lock.fencingToken < stored) {
      throw new DomainError("failed_precondition", "STALE_FENCING_TOKEN", "a newer lock holder has written this macro's policy", {
        field: "fencing_token",
        attemptedValue: lock.fencingToken.toString(),
        parentValue: stored.toString(),
      });
    }
    const token = lock.fencingToken !== undefined && lock.fencingToken > stored ? lock.fencingToken : stored;
    await deps.layers.putMacroLayer(tx, roomId, macroId, { tenantId, policy: values, fencingToken: token, updatedBy: actorId(principal) });
    return { before: existing.policy ?? {}, fencingToken: lock.fencingToken };
  });
  call.afterCommit(() => deps.effective.invalidate({ kind: "macro", tenantId, roomId, macroId }));
  return outcome(values, {
    resource: `macro:${macroId}`,
    roomId,
    details: { before: policyToJson(before), after: policyToJson(values), fencingToken: fencingToken?.toString() ?? null },
  });
}
