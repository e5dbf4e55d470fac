import { BigIntType, EntitySchema, OptionalProps } from "@mikro-orm/core";

/**
 * MacroEntity is a row of `macros`: a room's macro, its version (bumped on
 * every code change) and where it came from (written by hand, or imported
 * from a repo at a commit). Names are unique per room.
 */
export interface MacroEntity {
  [OptionalProps]?:
    | "id"
    | "version"
    | "sourceKind"
    | "sourceRepoId"
    | "sourceCommit"
    | "sourcePath"
    | "fencingToken"
    | "sourceFencingToken"
    | "createdBy"
    | "updatedBy"
    | "createdAt"
    | "updatedAt";
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
  /** sourceFencingToken is the token of the repo lock under which a sync last wrote it. */
  sourceFencingToken: bigint;
  createdBy: string | null;
  updatedBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** MacroSchema maps MacroEntity to the `macros` table. */
export const MacroSchema = new EntitySchema<MacroEntity>({
  name: "Macro",
  tableName: "macros",
  properties: {
    id: { type: "uuid", primary: true, defaultRaw: "gen_random_uuid()" },
    tenantId: { type: "uuid" },
    roomId: { type: "uuid" },
    name: { type: "text" },
    code: { type: "text" },
    version: { type: "integer", default: 1 },
    sourceKind: { type: "text", default: "manual" },
    sourceRepoId: { type: "uuid", nullable: true },
    sourceCommit: { type: "text", nullable: true },
    sourcePath: { type: "text", nullable: true },
    fencingToken: { type: new BigIntType("bigint"), default: 0 },
    sourceFencingToken: { type: new BigIntType("bigint"), default: 0 },
    createdBy: { type: "uuid", nullable: true },
    updatedBy: { type: "uuid", nullable: true },
    createdAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
  },
});
