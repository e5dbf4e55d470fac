import type { Tx } from "../store/tx.js";
import type { Principal } from "../context.js";

/**
 * MacroPolicyHooks connect PoliciesService to the macros and locks issues,
 * which own the two checks a macro's policy layer needs but this service
 * cannot make on its own:
 *
 * - `macroExists`: the macro is a macro of the room (NOT_FOUND otherwise),
 *   for GetMacroPolicy, UpdateMacroPolicy and GetEffectivePolicy(macro_id);
 * - `checkMacroWrite`: the caller holds the macro's lock (`macro/<id>`):
 *   throw FAILED_PRECONDITION `LOCK_REQUIRED`, or `LOCKED` with the holder,
 *   and answer the lock's fencing token (the request's `fencing_token`, if
 *   given, must be that lock's). PoliciesService stores the token with the
 *   layer and refuses a token lower than the stored one
 *   (`STALE_FENCING_TOKEN`).
 *
 * routes.ts wires the macros module's: `createPoliciesService({ ..., macros })`.
 */
export interface MacroPolicyHooks {
  macroExists(em: Tx, tenantId: string, roomId: string, macroId: string): Promise<boolean>;
  checkMacroWrite(input: {
    em: Tx;
    principal: Principal;
    tenantId: string;
    roomId: string;
    macroId: string;
    /** fencingToken is the request's `fencing_token`, when set. */
    fencingToken: bigint | undefined;
  }): Promise<{ fencingToken: bigint | undefined }>;
}
