import { randomUUID } from "node:crypto";
import type { MacroRecord, MacroStore } from "../../../src/store/macros.js";

/** MemoryMacroStore is a MacroStore in a Map, for use-case tests; `rows` is its content. */
export interface MemoryMacroStore extends MacroStore {
  rows: Map<string, MacroRecord>;
  /** removedPolicyLayers lists the macro ids whose policy layer went with them. */
  removedPolicyLayers: string[];
}

/** memoryMacroStore builds an empty MemoryMacroStore (names unique per room, as the table's constraint says). */
export function memoryMacroStore(): MemoryMacroStore {
  const rows = new Map<string, MacroRecord>();
  const removedPolicyLayers: string[] = [];
  const inRoom = (roomId: string) => [...rows.values()].filter((m) => m.roomId === roomId);
  const copy = (m: MacroRecord): MacroRecord => ({ ...m });
  const mustGet = (roomId: string, id: string) => {
    const row = rows.get(id);
    if (!row || row.roomId !== roomId) throw new Error(`no macro ${id} in room ${roomId}`);
    return row;
  };
  const uniqueName = (roomId: string, name: string, id?: string) => {
    if (inRoom(roomId).some((m) => m.name === name && m.id !== id)) throw new Error(`duplicate macro name ${name}`);
  };
  return {
    rows,
    removedPolicyLayers,
    async byId(_tx, roomId, macroId) {
      const row = rows.get(macroId);
      return row && row.roomId === roomId ? copy(row) : undefined;
    },
    async list(_tx, roomId, page) {
      return inRoom(roomId)
        .filter((m) => page.after === undefined || m.name > page.after)
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .slice(0, page.limit)
        .map(copy);
    },
    async lockRoom(_tx, roomId) {
      return inRoom(roomId).map(copy);
    },
    async insert(_tx, macro) {
      uniqueName(macro.roomId, macro.name);
      const now = new Date();
      const row: MacroRecord = {
        id: randomUUID(),
        tenantId: macro.tenantId,
        roomId: macro.roomId,
        name: macro.name,
        code: macro.code,
        version: 1,
        sourceKind: macro.source ? "repo" : "manual",
        sourceRepoId: macro.source?.repoId ?? null,
        sourceCommit: macro.source?.commit ?? null,
        sourcePath: macro.source?.path ?? null,
        fencingToken: 0n,
        createdBy: macro.by,
        updatedBy: macro.by,
        createdAt: now,
        updatedAt: now,
      };
      rows.set(row.id, row);
      return copy(row);
    },
    async saveManualEdit(_tx, roomId, macroId, edit) {
      const row = mustGet(roomId, macroId);
      uniqueName(roomId, edit.name, macroId);
      Object.assign(row, { name: edit.name, code: edit.code, version: edit.version, fencingToken: edit.fencingToken, updatedBy: edit.by, updatedAt: new Date() });
      Object.assign(row, { sourceKind: "manual", sourceRepoId: null, sourceCommit: null, sourcePath: null });
      return copy(row);
    },
    async saveRepoEdit(_tx, roomId, macroId, edit) {
      const row = mustGet(roomId, macroId);
      uniqueName(roomId, edit.name, macroId);
      Object.assign(row, { name: edit.name, code: edit.code, version: edit.version, sourcePath: edit.path, updatedBy: edit.by, updatedAt: new Date() });
    },
    async rename(_tx, roomId, macroId, name) {
      uniqueName(roomId, name, macroId);
      mustGet(roomId, macroId).name = name;
    },
    async markRepoSource(_tx, roomId, repoId, commit) {
      for (const m of inRoom(roomId)) if (m.sourceKind === "repo" && m.sourceRepoId === repoId) m.sourceCommit = commit;
    },
    async detachFromRepo(_tx, roomId, repoId) {
      const kept = inRoom(roomId).filter((m) => m.sourceRepoId === repoId);
      for (const m of kept) Object.assign(m, { sourceKind: "manual", sourceRepoId: null, sourceCommit: null, sourcePath: null, updatedAt: new Date() });
      return kept.map((m) => m.name);
    },
    async remove(_tx, roomId, macroId) {
      const row = rows.get(macroId);
      if (row && row.roomId === roomId) {
        rows.delete(macroId);
        removedPolicyLayers.push(macroId);
      }
    },
  };
}
