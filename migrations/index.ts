/**
 * The versioned migrations, applied in this order by `initDatabase` (through
 * MikroORM's Migrator with an explicit `migrationsList`, under a Postgres advisory
 * lock). Applied names are recorded in `mikro_orm_migrations`; never rename or
 * edit an applied migration.
 *
 * Adding a table (rooms, policies, rules, macros, repos, ...):
 * 1. Write `migrations/000N-<what>.ts` exporting `class Migration000N<What> extends
 *    Migration` whose `up()` calls `this.addSql(...)` once per statement. Plain SQL,
 *    hand-written (no schema diffing); avoid `?` in SQL text.
 * 2. Every tenant table gets `tenant_id uuid not null`, a composite foreign key
 *    `(tenant_id, x_id) references x (tenant_id, id)` for each reference to a
 *    tenant-owned row (so cross-tenant links are impossible), and the wall:
 *    `for (const sql of tenantTableSecuritySql("rooms", "select, insert, update, delete")) this.addSql(sql);`
 * 3. Append `{ name: "000N-<what>", class: Migration000N<What> }` to
 *    `migrationsList` below, add the entity schema to src/store/entities/, and
 *    extend test/store/migrations.test.ts if the table has special rules.
 * A data migration that reads or writes tenant tables as a non-superuser owner
 * must first run `select set_config('gatehouse.system', 'on', true)` (FORCE'd RLS).
 * Each migration runs in one transaction with all pending ones (all or nothing).
 */
import type { MigrationObject } from "@mikro-orm/core";
import { Migration0001Init } from "./0001-init.js";
import { Migration0002RoomsPoliciesRules } from "./0002-rooms-policies-rules.js";
import { Migration0003CreateTenant } from "./0003-create-tenant.js";
import { Migration0004LockTargets } from "./0004-lock-targets.js";
import { Migration0005MacrosReposStore } from "./0005-macros-repos-store.js";
import { Migration0006MacroSourceFencing } from "./0006-macro-source-fencing.js";
import { Migration0007LockQuota } from "./0007-lock-quota.js";
import { Migration0008AuditOutcomeCanceled } from "./0008-audit-outcome-canceled.js";
import { Migration0009SigningKeys } from "./0009-signing-keys.js";

/** migrationsList is every migration, oldest first. */
export const migrationsList: MigrationObject[] = [
  { name: "0001-init", class: Migration0001Init },
  { name: "0002-rooms-policies-rules", class: Migration0002RoomsPoliciesRules },
  { name: "0003-create-tenant", class: Migration0003CreateTenant },
  { name: "0004-lock-targets", class: Migration0004LockTargets },
  { name: "0005-macros-repos-store", class: Migration0005MacrosReposStore },
  { name: "0006-macro-source-fencing", class: Migration0006MacroSourceFencing },
  { name: "0007-lock-quota", class: Migration0007LockQuota },
  { name: "0008-audit-outcome-canceled", class: Migration0008AuditOutcomeCanceled },
  { name: "0009-signing-keys", class: Migration0009SigningKeys },
];
