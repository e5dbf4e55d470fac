import { Migration } from "@mikro-orm/migrations";

/**
 * Migration0008AuditOutcomeCanceled lets an audit event record a call the
 * client cancelled: `audit_events.outcome` also accepts 'CANCELED'
 * (AUDIT_OUTCOME_CANCELED). Existing rows are unchanged.
 */
export class Migration0008AuditOutcomeCanceled extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `alter table audit_events drop constraint audit_events_outcome_check,` +
        ` add constraint audit_events_outcome_check check (outcome in ('ALLOWED', 'DENIED', 'FAILED', 'CANCELED'))`,
    );
  }
}
