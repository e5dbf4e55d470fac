import { Migration } from "@mikro-orm/migrations";

/**
 * Migration0007LockQuota adds `lock_targets.expires_at`, the end of the
 * current lease as the lock service last granted or refreshed it, so the
 * locks a holder (and a tenant) holds right now can be counted against
 * GATEHOUSE_LOCKS_PER_USER and GATEHOUSE_LOCKS_PER_TENANT, and an index
 * for those counts. Rows held before this migration have no expiry; they
 * count until 30 minutes (the longest lease) after their acquisition.
 */
export class Migration0007LockQuota extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table lock_targets add column expires_at timestamptz(3)");
    this.addSql("create index lock_targets_held_idx on lock_targets (tenant_id, last_owner_id) where held");
  }
}
