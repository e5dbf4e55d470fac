import { EntitySchema, OptionalProps } from "@mikro-orm/core";

/**
 * RuleEntity is a row of `rules`: one runtime allow/deny rule of a tenant.
 * Every insert, update and delete bumps the tenant's `rule_versions` row (a
 * trigger, in the writing transaction), which the rule cache revalidates against.
 */
export interface RuleEntity {
  [OptionalProps]?: "id" | "description" | "createdAt" | "updatedAt";
  id: string;
  tenantId: string;
  subject: string;
  action: string;
  resource: string;
  effect: "allow" | "deny";
  description: string;
  createdAt: Date;
  updatedAt: Date;
}

/** RuleSchema maps RuleEntity to the `rules` table. */
export const RuleSchema = new EntitySchema<RuleEntity>({
  name: "Rule",
  tableName: "rules",
  properties: {
    id: { type: "uuid", primary: true, defaultRaw: "gen_random_uuid()" },
    tenantId: { type: "uuid" },
    subject: { type: "text" },
    action: { type: "text" },
    resource: { type: "text" },
    effect: { type: "text" },
    description: { type: "text", default: "" },
    createdAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
    updatedAt: { type: "datetime", columnType: "timestamptz(3)", defaultRaw: "now()" },
  },
});
