import { Migration } from "@mikro-orm/migrations";
import { currentTenantSql, systemAccessSql, tenantTableSecuritySql } from "./tenant-table-security.js";

/**
 * Migration0002RoomsPoliciesRules creates rooms and their members, the four
 * policy layers (the platform-wide global policy, room, macro and user
 * policies) and the tenants' runtime rules (DESIGN.md §1, §5).
 *
 * `global_policy` is the one platform table that is not a tenant's: a single
 * row (`id` is always true) that every tenant's transactions read. Its wall:
 * forced RLS; the app role may SELECT it from any tenant, but may UPDATE it
 * only from a transaction scoped to the platform's `default` tenant (where
 * GOD and SUPERGOD users live; the service checks the level); nobody but a
 * system transaction may insert or delete the row.
 */
export class Migration0002RoomsPoliciesRules extends Migration {
  override async up(): Promise<void> {
    // token_key is the room's HMAC key for its legacy editor token; it is
    // never returned, only tokens derived from it.
    this.addSql(`
create table rooms (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  name text not null,
  token_key bytea not null constraint rooms_token_key_check check (octet_length(token_key) >= 32),
  created_at timestamptz(3) not null default now(),
  constraint rooms_tenant_id_name_key unique (tenant_id, name),
  constraint rooms_tenant_id_id_key unique (tenant_id, id)
)`);

    this.addSql(`
create table room_members (
  tenant_id uuid not null,
  room_id uuid not null,
  user_id uuid not null,
  role smallint not null constraint room_members_role_check check (role between 1 and 3),
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint room_members_pkey primary key (room_id, user_id),
  constraint room_members_room_fkey foreign key (tenant_id, room_id)
    references rooms (tenant_id, id) on delete cascade,
  constraint room_members_user_fkey foreign key (tenant_id, user_id)
    references users (tenant_id, id) on delete cascade
)`);
    this.addSql(`create index room_members_tenant_id_user_id_idx on room_members (tenant_id, user_id)`);

    this.addSql(`
create table global_policy (
  id boolean primary key default true constraint global_policy_single_row check (id),
  policy jsonb not null default '{}',
  updated_at timestamptz(3) not null default now(),
  updated_by uuid
)`);
    this.addSql(`insert into global_policy (id, policy) values (true, '{}')`);

    this.addSql(`
create table room_policies (
  tenant_id uuid not null,
  room_id uuid not null,
  policy jsonb not null default '{}',
  updated_at timestamptz(3) not null default now(),
  updated_by uuid,
  constraint room_policies_pkey primary key (room_id),
  constraint room_policies_room_fkey foreign key (tenant_id, room_id)
    references rooms (tenant_id, id) on delete cascade
)`);

    // macro_id has no foreign key yet: the macros table comes with the macros
    // issue, which should add (tenant_id, room_id, macro_id) → macros. The
    // fencing token is the highest lock token a write of this layer stored.
    this.addSql(`
create table macro_policies (
  tenant_id uuid not null,
  room_id uuid not null,
  macro_id uuid not null,
  policy jsonb not null default '{}',
  fencing_token bigint not null default 0,
  updated_at timestamptz(3) not null default now(),
  updated_by uuid,
  constraint macro_policies_pkey primary key (room_id, macro_id),
  constraint macro_policies_room_fkey foreign key (tenant_id, room_id)
    references rooms (tenant_id, id) on delete cascade
)`);

    this.addSql(`
create table user_policies (
  tenant_id uuid not null,
  user_id uuid not null,
  policy jsonb not null default '{}',
  updated_at timestamptz(3) not null default now(),
  updated_by uuid,
  constraint user_policies_pkey primary key (user_id),
  constraint user_policies_user_fkey foreign key (tenant_id, user_id)
    references users (tenant_id, id) on delete cascade
)`);

    this.addSql(`
create table rules (
  id uuid primary key default gen_random_uuid(),
  tenant_id uuid not null references tenants (id) on delete cascade,
  subject text not null,
  action text not null,
  resource text not null,
  effect text not null constraint rules_effect_check check (effect in ('allow', 'deny')),
  description text not null default '',
  created_at timestamptz(3) not null default now(),
  updated_at timestamptz(3) not null default now(),
  constraint rules_tenant_id_id_key unique (tenant_id, id)
)`);
    this.addSql(`create index rules_tenant_id_created_at_id_idx on rules (tenant_id, created_at, id)`);
    this.addSql(`create index rules_tenant_id_subject_idx on rules (tenant_id, subject)`);

    // rule_versions counts each tenant's rule changes (a trigger bumps it in
    // the changing transaction), so a replica's cached rule index revalidates
    // with one primary-key read even if a bus message was lost.
    this.addSql(`
create table rule_versions (
  tenant_id uuid primary key references tenants (id) on delete cascade,
  version bigint not null default 0
)`);
    this.addSql(`
create function rules_bump_version() returns trigger
language plpgsql as $$
begin
  insert into rule_versions as v (tenant_id, version)
  values (coalesce(new.tenant_id, old.tenant_id), 1)
  on conflict (tenant_id) do update set version = v.version + 1;
  if tg_op = 'UPDATE' and new.tenant_id <> old.tenant_id then
    insert into rule_versions as v (tenant_id, version) values (old.tenant_id, 1)
    on conflict (tenant_id) do update set version = v.version + 1;
  end if;
  return null;
end
$$`);
    this.addSql(`
create trigger rules_bump_version after insert or update or delete on rules
for each row execute function rules_bump_version()`);

    for (const sql of tenantTableSecuritySql("rooms", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("room_members", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("room_policies", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("macro_policies", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("user_policies", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("rules", "select, insert, update, delete")) this.addSql(sql);
    for (const sql of tenantTableSecuritySql("rule_versions", "select, insert, update")) this.addSql(sql);

    // The platform table's own wall (see the class comment).
    const platformScope = `exists (select 1 from tenants t where t.id = ${currentTenantSql} and t.name = 'default')`;
    this.addSql(`alter table global_policy enable row level security`);
    this.addSql(`alter table global_policy force row level security`);
    this.addSql(`create policy global_policy_read on global_policy for select to public using (true)`);
    this.addSql(
      `create policy global_policy_platform_write on global_policy for update to public` +
        ` using (${platformScope}) with check (${platformScope})`,
    );
    this.addSql(
      `create policy global_policy_system_access on global_policy for all to public` +
        ` using (${systemAccessSql}) with check (${systemAccessSql})`,
    );
    this.addSql(`grant select, update (policy, updated_at, updated_by) on global_policy to gatehouse_app`);
  }
}
