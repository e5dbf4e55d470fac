import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { EntityManager } from "@mikro-orm/postgresql";
import { MacroSchema, MacroSourceKind, MacroSourceSchema, type Macro } from "../../gen/gatehouse/v1/macros_pb.js";

/** MacroRow is a row of `macros`. */
export interface MacroRow {
  id: string;
  tenant_id: string;
  room_id: string;
  name: string;
  code: string;
  version: number;
  source_kind: "manual" | "repo";
  source_repo_id: string | null;
  source_commit: string | null;
  source_path: string | null;
  fencing_token: string | number;
  created_by: string | null;
  updated_by: string | null;
  created_at: Date;
  updated_at: Date;
}

/** macroById reads one macro of a room (RLS scopes it to the tenant). */
export async function macroById(em: EntityManager, roomId: string, macroId: string, forUpdate = false): Promise<MacroRow | undefined> {
  const rows = (await em.execute(`select * from macros where room_id = ? and id = ?${forUpdate ? " for update" : ""}`, [roomId, macroId])) as MacroRow[];
  return rows[0];
}

/** macroMessage renders a row as the API's Macro. */
export function macroMessage(row: MacroRow): Macro {
  return create(MacroSchema, {
    macroId: row.id,
    tenantId: row.tenant_id,
    roomId: row.room_id,
    name: row.name,
    code: row.code,
    version: row.version,
    source: create(MacroSourceSchema, {
      kind: row.source_kind === "repo" ? MacroSourceKind.REPO : MacroSourceKind.MANUAL,
      repoId: row.source_repo_id ?? "",
      commit: row.source_commit ?? "",
      path: row.source_path ?? "",
    }),
    fencingToken: BigInt(row.fencing_token),
    createdBy: row.created_by ?? "",
    updatedBy: row.updated_by ?? "",
    createdAt: timestampFromDate(new Date(row.created_at)),
    updatedAt: timestampFromDate(new Date(row.updated_at)),
  });
}

/** macroNameProblem answers why a macro name is refused, or undefined (src/domain/names.ts). */
export { macroNameProblem } from "../domain/names.js";
