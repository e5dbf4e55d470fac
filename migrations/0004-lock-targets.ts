import { Migration } from "@mikro-orm/migrations";
import { tenantTableSecuritySql } from "./tenant-table-security.js";

/**
 * Migration0004LockTargets keeps, per lock target, the last fencing token
 * issued and who got it. Tokens come from here (not from Redis or memory) so
 * they keep increasing across restarts and Redis failures.
 */
export class Migration0004LockTargets extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table lock_targets (
  tenant_id uuid not null references tenants (id) on delete cascade,
  room_id uuid not null,
  target text not null,
  last_token bigint not null default 0,
  last_owner_id uuid,
  last_owner_name text,
  last_acquired_at timestamptz(3),
  held boolean not null default false,
  constraint lock_targets_pkey primary key (tenant_id, room_id, target)
)`);
    for (const sql of tenantTableSecuritySql("lock_targets", "select, insert, update")) this.addSql(sql);
  }
}
