import { notFound } from "../../domain/errors.js";
import type { MergedPolicy } from "../../domain/policy-merge.js";
import type { PolicyValues } from "../../domain/policy.js";
import type { Call } from "../call.js";
import { actorId } from "../rooms/room-role.js";
import type { PoliciesDeps } from "./policies-deps.js";

/** getGlobalPolicy answers the global layer. */
export function getGlobalPolicy(deps: Pick<PoliciesDeps, "layers">, call: Call): Promise<PolicyValues> {
  return call.inTx((tx) => deps.layers.global(tx));
}

/** getRoomPolicy answers a room's own layer (empty when unset). */
export async function getRoomPolicy(deps: Pick<PoliciesDeps, "layers">, call: Call, roomId: string): Promise<PolicyValues> {
  const layer = await call.inTx((tx) => deps.layers.roomLayer(tx, call.principal.tenantId, roomId));
  if (layer === undefined) throw notFound("room");
  return layer;
}

/** getMacroPolicy answers a macro's own layer (empty when unset); NOT_FOUND when the room has no such macro. */
export function getMacroPolicy(deps: Pick<PoliciesDeps, "layers" | "macros">, call: Call, input: { roomId: string; macroId: string }): Promise<PolicyValues> {
  const tenantId = call.principal.tenantId;
  return call.inTx(async (tx) => {
    if (!(await deps.macros.macroExists(tx, tenantId, input.roomId, input.macroId))) throw notFound("macro");
    return deps.layers.macroLayer(tx, tenantId, input.roomId, input.macroId);
  });
}

/** getUserPolicy answers a user's override, undefined when they have none; NOT_FOUND when no such user. */
export async function getUserPolicy(deps: Pick<PoliciesDeps, "layers">, call: Call, userId: string): Promise<PolicyValues | undefined> {
  const found = await call.inTx((tx) => deps.layers.userOverride(tx, call.principal.tenantId, userId));
  if (!found) throw notFound("user");
  return found.override;
}

/**
 * getEffectivePolicy merges the layers for a room, optionally a macro of it
 * and a user (default: the caller). A room-token caller has no user row: its
 * built-in role's default policy is its user layer.
 */
export function getEffectivePolicy(
  deps: Pick<PoliciesDeps, "effective" | "macros">,
  call: Call,
  input: { roomId: string; macroId?: string | undefined; userId?: string | undefined },
): Promise<MergedPolicy> {
  const { principal } = call;
  const { roomId, macroId, userId } = input;
  return call.inTx(async (tx) => {
    if (macroId !== undefined && !(await deps.macros.macroExists(tx, principal.tenantId, roomId, macroId))) throw notFound("macro");
    const caller = actorId(principal) ?? undefined;
    return deps.effective.effectivePolicy(tx, {
      tenantId: principal.tenantId,
      roomId,
      macroId,
      userId: userId ?? caller,
      roles: userId === undefined && caller === undefined ? principal.roles : undefined,
    });
  });
}
