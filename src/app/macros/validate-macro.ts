import { checkMacro, type Violation } from "../../domain/macro-check.js";
import type { EffectivePolicies } from "../../policies/effective-policy.js";
import type { Call } from "../call.js";
import { allowedImports } from "./macro-policy.js";

/** validateMacro checks code as UpdateMacros would, against the caller's effective policy in the room, without storing it. */
export async function validateMacro(
  deps: { policies: Pick<EffectivePolicies, "effectivePolicy"> },
  call: Call,
  input: { roomId: string; code: string },
): Promise<Violation[]> {
  const imports = await call.inTx((tx) => allowedImports(deps.policies, tx, call.principal, input.roomId));
  return checkMacro(input.code, { allowedImports: imports });
}
