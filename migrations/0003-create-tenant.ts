import { Migration } from "@mikro-orm/migrations";

/**
 * Migration0003CreateTenant adds `gatehouse_create_tenant(name, created_by)`,
 * the one way a tenant-scoped transaction (role `gatehouse_app`, which may
 * only read its own `tenants` row) can insert a tenant.
 *
 * CreateTenant runs in its caller's unit of work: one transaction in the
 * SUPERGOD's own tenant that also appends the audit record. Opening a second,
 * system transaction from inside it would need a second connection, which
 * embedded PGlite (one connection) doesn't have: it would wait forever. So the
 * tenant row is inserted by this SECURITY DEFINER function, running as the
 * migrating owner with a pinned search_path, and the new tenant's roles and
 * first admin are then written by the app role under the new tenant's RLS
 * scope, all in the one transaction. The function turns `gatehouse.system`
 * on for its own statements (a non-superuser owner is under forced RLS too)
 * and back to what it was before returning; a `SET` clause on the function
 * would be simpler, but a non-superuser can't create one naming a custom
 * setting.
 *
 * The function checks for itself that `created_by` is an enabled SUPERGOD of
 * the transaction's tenant, so a bug in the service can't make it create
 * tenants for anybody else. Execution is granted to the app role only.
 */
export class Migration0003CreateTenant extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
do $migration$
begin
  execute format($create$
create function gatehouse_create_tenant(p_name text, p_created_by uuid)
returns table (tenant_id uuid, tenant_created_at timestamptz)
language plpgsql
security definer
set search_path = %I, pg_temp
as $body$
declare
  previous text := coalesce(current_setting('gatehouse.system', true), '');
begin
  perform set_config('gatehouse.system', 'on', true);
  if not exists (
    select 1 from users u
     where u.id = p_created_by
       and u.tenant_id = nullif(current_setting('gatehouse.tenant_id', true), '')::uuid
       and u.level = 5
       and not u.disabled
  ) then
    raise exception 'gatehouse_create_tenant: caller is not an enabled SUPERGOD of this tenant' using errcode = '42501';
  end if;
  return query insert into tenants as t (name) values (p_name) returning t.id, t.created_at;
  perform set_config('gatehouse.system', previous, true);
end
$body$
$create$, current_schema());
end
$migration$`);
    this.addSql(`revoke all on function gatehouse_create_tenant(text, uuid) from public`);
    this.addSql(`grant execute on function gatehouse_create_tenant(text, uuid) to gatehouse_app`);
  }
}
