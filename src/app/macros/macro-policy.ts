import type { Principal } from "../../context.js";
import type { EffectivePolicies, PolicyQuery } from "../../policies/effective-policy.js";
import type { Tx } from "../../store/tx.js";

/**
 * policyQueryOf says whose effective policy applies to a caller in a room
 * (and macro): a user's own layer, or for a room-token caller, which is no
 * user, the default policies of the roles the token grants.
 */
export function policyQueryOf(principal: Principal, roomId: string, macroId?: string): PolicyQuery {
  return {
    tenantId: principal.tenantId,
    roomId,
    macroId,
    userId: principal.via === "room-token" ? undefined : principal.userId,
    roles: principal.via === "room-token" ? principal.roles : undefined,
  };
}

/** allowedImports answers the `gatehouse:*` modules the caller's macros may import in the room (and macro). */
export async function allowedImports(
  policies: Pick<EffectivePolicies, "effectivePolicy">,
  tx: Tx,
  principal: Principal,
  roomId: string,
  macroId?: string,
): Promise<readonly string[]> {
  const merged = await policies.effectivePolicy(tx, policyQueryOf(principal, roomId, macroId));
  return merged.policy.allowedImports;
}
