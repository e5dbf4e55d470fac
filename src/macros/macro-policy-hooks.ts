import type { Deps } from "../deps.js";
import type { MacroPolicyHooks } from "../policies/macro-hooks.js";
import { staleToken, writeToken } from "../locks/require-lock.js";
import { ormMacroStore, type MacroStore } from "../store/macros.js";

/**
 * createMacroPolicyHooks lets UpdateMacroPolicy check that the macro exists
 * in the room and that the caller holds its lock, and answers the fencing
 * token the write stores (a lower token than the macro's is refused).
 */
export function createMacroPolicyHooks(deps: Pick<Deps, "locks">, macros: MacroStore = ormMacroStore): MacroPolicyHooks {
  return {
    async macroExists(em, _tenantId, roomId, macroId) {
      return (await macros.byId(em, roomId, macroId)) !== undefined;
    },
    async checkMacroWrite({ em, principal, roomId, macroId, fencingToken }) {
      const target = `macro/${macroId}`;
      const token = await writeToken(deps.locks, principal, roomId, target, fencingToken);
      const macro = await macros.byId(em, roomId, macroId);
      if (macro && token < macro.fencingToken) throw staleToken(target, token, macro.fencingToken);
      return { fencingToken: token };
    },
  };
}
