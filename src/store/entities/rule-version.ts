import { BigIntType, EntitySchema } from "@mikro-orm/core";

/** RuleVersionEntity is a row of `rule_versions`: a tenant's count of rule changes, bumped by a trigger on `rules`. */
export interface RuleVersionEntity {
  tenantId: string;
  /** version is a bigint, read as its decimal text. */
  version: string;
}

/** RuleVersionSchema maps RuleVersionEntity to the `rule_versions` table. */
export const RuleVersionSchema = new EntitySchema<RuleVersionEntity>({
  name: "RuleVersion",
  tableName: "rule_versions",
  properties: {
    tenantId: { type: "uuid", primary: true },
    version: { type: new BigIntType("string"), defaultRaw: "0" },
  },
});
