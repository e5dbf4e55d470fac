import { Migration } from "@mikro-orm/migrations";

/**
 * Migration0006MacroSourceFencing adds `macros.source_fencing_token`: the
 * fencing token of the repo lock (`repo/<id>`) under which SyncRepo last
 * wrote a repo macro. It is kept apart from `macros.fencing_token`, the token
 * of the macro's own lock (`macro/<id>`): fencing tokens increase per target,
 * so tokens of two targets must never be compared with each other.
 */
export class Migration0006MacroSourceFencing extends Migration {
  override async up(): Promise<void> {
    this.addSql("alter table macros add column source_fencing_token bigint not null default 0");
  }
}
