import { Migration } from "@mikro-orm/migrations";
import { tenantTableSecuritySql } from "./tenant-table-security.js";

/**
 * Migration0001Init creates the identity core (tenants, users, roles, user_roles,
 * sessions), the append-only hash-chained audit log, the `gatehouse_app` role and
 * row-level security on every table.
 */
export class Migration0001Init extends Migration {
  override async up(): Promise<void> {
    // The app role is cluster-wide: many databases (tests, replicas of other
    // deployments) share it, so create it only if missing and tolerate a
    // concurrent creator. It must never bypass RLS.
    this.addSql(`
do $$
begin
  if not exists (select 1 from pg_roles where rolname = 'gatehouse_app') then
    begin
      create role gatehouse_app nologin nosuperuser nobypassrls nocreatedb nocreaterole noinherit;
    exception when duplicate_object or unique_violation then
      null;
    end;
  end if;
  if exists (select 1 from pg_roles where rolname = 'gatehouse_app'
             and (rolsuper or rolbypassrls or rolcanlogin)) then
    alter role gatehouse_app nologin nosuperuser nobypassrls;
  end if;
  -- A non-superuser migrator needs membership to SET ROLE to it.
  if not (select rolsuper from pg_roles where rolname = current_user)
     and not pg_has_role(current_user, 'gatehouse_app', 'member') then
    execute format('grant gatehouse_app to %I', current_user);
  end if;
  execute format('grant usage on schema %I to gatehouse_app', current_schema());
end
$$`);

    this.addSql(`
create table tenants (
  id uuid primary key default gen_random_uuid(),
  name text not null,
  created_at timestamptz(3) not null default now(),
  constraint tenants_name_key unique (name)
)`);

    this.addSql(`
create table users (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  username text not null,
  password_hash text not null,
  level smallint not null constraint users_level_check check (level between 1 and 5),
  disabled boolean not null default false,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint users_tenant_id_username_key unique (tenant_id, username),
  constraint users_tenant_id_id_key unique (tenant_id, id)
)`);

    this.addSql(`
create table roles (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  description text not null default '',
  permissions text[] not null default '{}',
  default_policy jsonb,
  builtin boolean not null default false,
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint roles_tenant_id_name_key unique (tenant_id, name),
  constraint roles_tenant_id_id_key unique (tenant_id, id)
)`);

    // Composite foreign keys: a user can only hold roles of its own tenant.
    this.addSql(`
create table user_roles (
  tenant_id uuid not null,
  user_id uuid not null,
  role_id uuid not null,
  constraint user_roles_pkey primary key (user_id, role_id),
  constraint user_roles_user_fkey foreign key (tenant_id, user_id)
    references users (tenant_id, id) on delete cascade,
  constraint user_roles_role_fkey foreign key (tenant_id, role_id)
    references roles (tenant_id, id) on delete cascade
)`);
    this.addSql(`create index user_roles_tenant_id_role_id_idx on user_roles (tenant_id, role_id)`);

    this.addSql(`
create table sessions (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null,
  user_id uuid not null,
  refresh_token_hash text not null,
  refresh_generation integer not null default 0,
  previous_refresh_hashes text[] not null default '{}',
  csrf_token_hash text,
  cookie_secret_hash text,
  ip text,
  user_agent text,
  created_at timestamptz(3) not null default now(),
  last_seen_at timestamptz(3) not null default now(),
  idle_expires_at timestamptz(3) not null,
  absolute_expires_at timestamptz(3) not null,
  revoked_at timestamptz(3),
  revoked_reason text,
  constraint sessions_refresh_token_hash_key unique (refresh_token_hash),
  constraint sessions_user_fkey foreign key (tenant_id, user_id)
    references users (tenant_id, id) on delete cascade
)`);
    this.addSql(`create index sessions_tenant_id_user_id_idx on sessions (tenant_id, user_id)`);
    this.addSql(`create index sessions_previous_refresh_hashes_idx on sessions using gin (previous_refresh_hashes)`);

    // Audit: no foreign key to users (events outlive them); the tenant reference has
    // no cascade, so a tenant with audit history cannot be deleted.
    this.addSql(`
create table audit_events (
  tenant_id uuid not null references tenants (id),
  seq bigint not null constraint audit_events_seq_check check (seq > 0),
  room_id uuid,
  actor_id uuid,
  actor_name text,
  ip text,
  user_agent text,
  request_id text,
  method text,
  action text not null,
  resource text,
  outcome text not null constraint audit_events_outcome_check check (outcome in ('ALLOWED', 'DENIED', 'FAILED')),
  reason text,
  details jsonb,
  created_at timestamptz(3) not null,
  prev_hash text not null,
  hash text not null,
  constraint audit_events_pkey primary key (tenant_id, seq)
)`);
    this.addSql(`create index audit_events_tenant_id_created_at_idx on audit_events (tenant_id, created_at)`);
    this.addSql(
      `create index audit_events_tenant_id_room_id_seq_idx on audit_events (tenant_id, room_id, seq) where room_id is not null`,
    );
    this.addSql(
      `create index audit_events_tenant_id_actor_id_seq_idx on audit_events (tenant_id, actor_id, seq) where actor_id is not null`,
    );
    this.addSql(`create index audit_events_tenant_id_action_seq_idx on audit_events (tenant_id, action, seq)`);

    this.addSql(`
create function audit_events_append_only() returns trigger
language plpgsql as $$
begin
  raise exception 'audit_events is append-only: % refused', tg_op using errcode = 'GH001';
end
$$`);
    this.addSql(`
create trigger audit_events_no_update_delete before update or delete on audit_events
for each row execute function audit_events_append_only()`);
    this.addSql(`
create trigger audit_events_no_truncate before truncate on audit_events
for each statement execute function audit_events_append_only()`);

    this.addSql(`
create table audit_heads (
  tenant_id uuid primary key references tenants (id),
  last_seq bigint not null default 0,
  last_hash text not null
)`);

    // Row-level security. tenants has no tenant_id: a tenant sees its own row.
    for (const sql of tenantTableSecuritySql("tenants", "select", "id")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("users", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("roles", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("user_roles", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("sessions", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("audit_events", "select, insert")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("audit_heads", "select, insert, update")) this.addSql(sql);
  }
}
