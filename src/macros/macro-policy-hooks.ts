import type { Deps } from "../deps.js";
import type { MacroPolicyHooks } from "../policies/macro-hooks.js";
import { staleToken, writeToken } from "../locks/require-lock.js";
import { macroById } from "./macro-rows.js";

/**
 * createMacroPolicyHooks lets UpdateMacroPolicy check that the macro exists
 * in the room and that the caller holds its lock, and answers the fencing
 * token the write stores (a lower token than the macro's is refused).
 */
export function createMacroPolicyHooks(deps: Deps): MacroPolicyHooks {
  return {
    async macroExists(em, _tenantId, roomId, macroId) {
      return (await macroById(em, roomId, macroId)) !== undefined;
    },
    async checkMacroWrite({ em, principal, roomId, macroId, fencingToken }) {
      const target = `macro/${macroId}`;
      const token = await writeToken(deps.locks, principal, roomId, target, fencingToken);
      const macro = await macroById(em, roomId, macroId);
      if (macro && token < BigInt(macro.fencing_token)) throw staleToken(target, token, BigInt(macro.fencing_token));
      return { fencingToken: token };
    },
  };
}
