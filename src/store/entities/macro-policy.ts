import { BigIntType, EntitySchema, OptionalProps, PrimaryKeyProp } from "@mikro-orm/core";

/**
 * MacroPolicyEntity is a row of `macro_policies`: the policy layer of one
 * macro (the innermost layer of the effective policy). It goes with its macro.
 */
export interface MacroPolicyEntity {
  [PrimaryKeyProp]?: ["roomId", "macroId"];
  [OptionalProps]?: "policy" | "fencingToken" | "updatedAt" | "updatedBy";
  tenantId: string;
  roomId: string;
  macroId: string;
  policy: Record<string, unknown>;
  fencingToken: bigint;
  updatedAt: Date;
  updatedBy: string | null;
}

/** MacroPolicySchema maps MacroPolicyEntity to the `macro_policies` table. */
export const MacroPolicySchema = new EntitySchema<MacroPolicyEntity>({
  name: "MacroPolicy",
  tableName: "macro_policies",
  properties: {
    tenantId: { type: "uuid" },
    roomId: { type: "uuid", primary: true },
    macroId: { type: "uuid", primary: true },
    policy: { type: "json", columnType: "jsonb" },
    fencingToken: { type: new BigIntType("bigint"), default: 0 },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedBy: { type: "uuid", nullable: true },
  },
});
