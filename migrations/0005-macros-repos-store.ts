import { Migration } from "@mikro-orm/migrations";
import { tenantTableSecuritySql } from "./tenant-table-security.js";

/**
 * Migration0005MacrosReposStore adds macros, macro repositories and the
 * per-room JSON record store behind `gatehouse:store`. Every write made
 * under a lock stores the lock's fencing token; a lower token is refused.
 */
export class Migration0005MacrosReposStore extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table repos (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  room_id uuid not null,
  url text not null,
  ref text not null default '',
  path text not null default '',
  last_commit text,
  last_synced_at timestamptz(3),
  last_error text,
  fencing_token bigint not null default 0,
  created_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint repos_tenant_id_id_key unique (tenant_id, id),
  constraint repos_room_fkey foreign key (tenant_id, room_id) references rooms (tenant_id, id) on delete cascade
)`);
    this.addSql(`
create table macros (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  room_id uuid not null,
  name text not null,
  code text not null,
  version integer not null default 1,
  source_kind text not null default 'manual' constraint macros_source_kind_check check (source_kind in ('manual', 'repo')),
  source_repo_id uuid,
  source_commit text,
  source_path text,
  fencing_token bigint not null default 0,
  created_by uuid,
  updated_by uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint macros_room_name_key unique (tenant_id, room_id, name),
  constraint macros_tenant_id_id_key unique (tenant_id, id),
  constraint macros_room_fkey foreign key (tenant_id, room_id) references rooms (tenant_id, id) on delete cascade,
  constraint macros_repo_fkey foreign key (tenant_id, source_repo_id) references repos (tenant_id, id) on delete set null (source_repo_id)
)`);
    this.addSql(`
create table store_records (
  tenant_id uuid not null references tenants (id) on delete cascade,
  room_id uuid not null,
  collection text not null,
  record_id text not null,
  doc jsonb not null,
  owner_id uuid,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint store_records_pkey primary key (tenant_id, room_id, collection, record_id),
  constraint store_records_room_fkey foreign key (tenant_id, room_id) references rooms (tenant_id, id) on delete cascade
)`);
    for (const table of ["repos", "macros", "store_records"]) {
      for (const sql of tenantTableSecuritySql(table, "select, insert, update, delete")) this.addSql(sql);
    }
  }
}
