import { BigIntType, EntitySchema, OptionalProps } from "@mikro-orm/core";

/**
 * RepoEntity is a row of `repos`: a git repository (url, ref, path) whose
 * `*.js` files SyncRepo imports as the room's macros, and how its last sync went.
 */
export interface RepoEntity {
  [OptionalProps]?: "id" | "ref" | "path" | "lastCommit" | "lastSyncedAt" | "lastError" | "fencingToken" | "createdBy" | "createdAt" | "updatedAt";
  id: string;
  tenantId: string;
  roomId: string;
  url: string;
  ref: string;
  path: string;
  lastCommit: string | null;
  lastSyncedAt: Date | null;
  lastError: string | null;
  /** fencingToken is the highest lock token a write of this repo stored. */
  fencingToken: bigint;
  createdBy: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/** RepoSchema maps RepoEntity to the `repos` table. */
export const RepoSchema = new EntitySchema<RepoEntity>({
  name: "Repo",
  tableName: "repos",
  properties: {
    id: { type: "uuid", primary: true, defaultRaw: "gen_random_uuid()" },
    tenantId: { type: "uuid" },
    roomId: { type: "uuid" },
    url: { type: "text" },
    ref: { type: "text", default: "" },
    path: { type: "text", default: "" },
    lastCommit: { type: "text", nullable: true },
    lastSyncedAt: { type: "datetime", columnType: "timestamptz(3)", nullable: true },
    lastError: { type: "text", nullable: true },
    fencingToken: { type: new BigIntType("bigint"), default: 0 },
    createdBy: { type: "uuid", nullable: true },
    createdAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
  },
});
