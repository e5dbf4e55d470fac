import { LockMode, sql } from "@mikro-orm/core";
import { MacroPolicySchema } from "./entities/macro-policy.js";
import { MacroSchema, type MacroEntity } from "./entities/macro.js";
import type { Tx } from "./tx.js";

/** MacroRecord is a stored macro as the rest of Gatehouse sees it. */
export interface MacroRecord {
  id: string;
  tenantId: string;
  roomId: string;
  name: string;
  code: string;
  version: number;
  sourceKind: "manual" | "repo";
  sourceRepoId: string | null;
  sourceCommit: string | null;
  sourcePath: string | null;
  /** fencingToken is the highest lock token a manual write of this macro stored. */
  fencingToken: bigint;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** RepoSource says which repo, commit and file a macro was imported from, under which lock token. */
export interface RepoSource {
  repoId: string;
  commit: string;
  path: string;
  fencingToken: bigint;
}

/** NewMacro is a macro to insert: written by hand, or imported from a repo when `source` is set. */
export interface NewMacro {
  tenantId: string;
  roomId: string;
  name: string;
  code: string;
  /** by is the user who writes it (null for a room-token caller). */
  by: string | null;
  source?: RepoSource;
}

/** ManualEdit is a hand-written new version of a macro: it stops coming from any repo. */
export interface ManualEdit {
  name: string;
  code: string;
  version: number;
  fencingToken: bigint;
  by: string | null;
}

/** RepoEdit is a synced macro's new name, code and file. */
export interface RepoEdit {
  name: string;
  code: string;
  version: number;
  path: string;
  by: string | null;
}

/**
 * MacroStore owns `macros` (and a macro's policy layer, which goes with it).
 * Every method runs in the caller's tenant-scoped transaction: row-level
 * security keeps it to the tenant.
 */
export interface MacroStore {
  /** byId reads one macro of a room; forUpdate locks its row until the transaction ends. */
  byId(tx: Tx, roomId: string, macroId: string, options?: { forUpdate?: boolean }): Promise<MacroRecord | undefined>;
  /** list answers up to `limit` macros of a room in name order, after the name `after`. */
  list(tx: Tx, roomId: string, page: { after?: string; limit: number }): Promise<MacroRecord[]>;
  /** lockRoom reads (and locks) every macro of a room, for a sync that rewrites them. */
  lockRoom(tx: Tx, roomId: string): Promise<MacroRecord[]>;
  insert(tx: Tx, macro: NewMacro): Promise<MacroRecord>;
  /** saveManualEdit stores a new version written by hand and answers the row. */
  saveManualEdit(tx: Tx, roomId: string, macroId: string, edit: ManualEdit): Promise<MacroRecord>;
  /** saveRepoEdit stores a synced macro's new version. */
  saveRepoEdit(tx: Tx, roomId: string, macroId: string, edit: RepoEdit): Promise<void>;
  /** rename changes only the name (SyncRepo parks macros under names no macro can have, so two may swap). */
  rename(tx: Tx, roomId: string, macroId: string, name: string): Promise<void>;
  /** markRepoSource stamps every macro of the repo with the commit and lock token of the sync that wrote it. */
  markRepoSource(tx: Tx, roomId: string, repoId: string, commit: string, fencingToken: bigint): Promise<void>;
  /** detachFromRepo turns the repo's macros into manual ones and answers their names. */
  detachFromRepo(tx: Tx, roomId: string, repoId: string): Promise<string[]>;
  /** remove deletes a macro and its policy layer. */
  remove(tx: Tx, roomId: string, macroId: string): Promise<void>;
}

function recordOf(e: MacroEntity): MacroRecord {
  return {
    id: e.id,
    tenantId: e.tenantId,
    roomId: e.roomId,
    name: e.name,
    code: e.code,
    version: e.version,
    sourceKind: e.sourceKind,
    sourceRepoId: e.sourceRepoId,
    sourceCommit: e.sourceCommit,
    sourcePath: e.sourcePath,
    fencingToken: BigInt(e.fencingToken),
    createdBy: e.createdBy,
    updatedBy: e.updatedBy,
    createdAt: e.createdAt,
    updatedAt: e.updatedAt,
  };
}

// Rows are read without the identity map: a record is a copy the caller may
// keep (the macro cache does), never an entity the unit of work tracks.
const readOnly = { disableIdentityMap: true } as const;

async function mustRead(tx: Tx, roomId: string, macroId: string): Promise<MacroRecord> {
  const row = await tx.findOne(MacroSchema, { roomId, id: macroId }, readOnly);
  if (!row) throw new Error(`macro ${macroId} vanished inside its own transaction`);
  return recordOf(row);
}

/** ormMacroStore is the MacroStore on MikroORM. */
export const ormMacroStore: MacroStore = {
  async byId(tx, roomId, macroId, options = {}) {
    const row = await tx.findOne(MacroSchema, { roomId, id: macroId }, options.forUpdate ? { ...readOnly, lockMode: LockMode.PESSIMISTIC_WRITE } : readOnly);
    return row ? recordOf(row) : undefined;
  },

  async list(tx, roomId, page) {
    const rows = await tx.find(
      MacroSchema,
      page.after !== undefined ? { roomId, name: { $gt: page.after } } : { roomId },
      { ...readOnly, orderBy: { name: "asc" }, limit: page.limit },
    );
    return rows.map(recordOf);
  },

  async lockRoom(tx, roomId) {
    const rows = await tx.find(MacroSchema, { roomId }, { ...readOnly, lockMode: LockMode.PESSIMISTIC_WRITE });
    return rows.map(recordOf);
  },

  async insert(tx, macro) {
    const [row] = await tx
      .createQueryBuilder(MacroSchema)
      .insert({
        tenantId: macro.tenantId,
        roomId: macro.roomId,
        name: macro.name,
        code: macro.code,
        createdBy: macro.by,
        updatedBy: macro.by,
        ...(macro.source
          ? {
              sourceKind: "repo" as const,
              sourceRepoId: macro.source.repoId,
              sourceCommit: macro.source.commit,
              sourcePath: macro.source.path,
              sourceFencingToken: macro.source.fencingToken,
            }
          : {}),
      })
      .returning("id")
      .execute("all", false);
    return mustRead(tx, macro.roomId, (row as unknown as { id: string }).id);
  },

  async saveManualEdit(tx, roomId, macroId, edit) {
    await tx.nativeUpdate(
      MacroSchema,
      { roomId, id: macroId },
      {
        name: edit.name,
        code: edit.code,
        version: edit.version,
        fencingToken: edit.fencingToken,
        updatedBy: edit.by,
        updatedAt: sql.now(),
        sourceKind: "manual",
        sourceRepoId: null,
        sourceCommit: null,
        sourcePath: null,
      },
    );
    return mustRead(tx, roomId, macroId);
  },

  async saveRepoEdit(tx, roomId, macroId, edit) {
    await tx.nativeUpdate(
      MacroSchema,
      { roomId, id: macroId },
      { name: edit.name, code: edit.code, version: edit.version, sourcePath: edit.path, updatedBy: edit.by, updatedAt: sql.now() },
    );
  },

  async rename(tx, roomId, macroId, name) {
    await tx.nativeUpdate(MacroSchema, { roomId, id: macroId }, { name });
  },

  async markRepoSource(tx, roomId, repoId, commit, fencingToken) {
    await tx.nativeUpdate(MacroSchema, { roomId, sourceKind: "repo", sourceRepoId: repoId }, { sourceCommit: commit, sourceFencingToken: fencingToken });
  },

  async detachFromRepo(tx, roomId, repoId) {
    const kept = await tx
      .createQueryBuilder(MacroSchema)
      .update({ sourceKind: "manual", sourceRepoId: null, sourceCommit: null, sourcePath: null, sourceFencingToken: 0n, updatedAt: sql.now() })
      .where({ roomId, sourceRepoId: repoId })
      .returning("name")
      .execute("all", false);
    return (kept as unknown as Array<{ name: string }>).map((m) => m.name);
  },

  async remove(tx, roomId, macroId) {
    await tx.nativeDelete(MacroPolicySchema, { roomId, macroId });
    await tx.nativeDelete(MacroSchema, { roomId, id: macroId });
  },
};
