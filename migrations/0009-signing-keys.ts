import { Migration } from "@mikro-orm/migrations";
import { currentTenantSql, systemAccessSql } from "./tenant-table-security.js";

/**
 * Migration0009SigningKeys keeps the keys that sign access tokens in the
 * database, so that every replica signs and verifies with the same ring and
 * a rotation reaches them all. The private key is stored sealed under the
 * key-encryption key (`GATEHOUSE_KEK`, AES-256-GCM, src/auth/kek.ts): a dump
 * of this table alone reveals no private key. `generation` orders the ring
 * (the newest signs). Platform-wide, not a tenant's: besides the system
 * policy, only a transaction of the platform tenant (`default`, where
 * SUPERGOD users live) may read or change it as the app role.
 */
export class Migration0009SigningKeys extends Migration {
  override async up(): Promise<void> {
    this.addSql(`
create table signing_keys (
  kid text primary key,
  generation bigint generated always as identity unique,
  algorithm text not null check (algorithm in ('EdDSA')),
  public_jwk jsonb not null,
  sealed_private_key text not null,
  origin text not null check (origin in ('generated', 'imported', 'rotated')),
  created_at timestamptz(3) not null default now(),
  retired_at timestamptz(3)
)`);
    const platformOnly = `exists (select 1 from tenants t where t.id = ${currentTenantSql} and t.name = 'default')`;
    this.addSql("alter table signing_keys enable row level security");
    this.addSql("alter table signing_keys force row level security");
    this.addSql(`create policy signing_keys_platform_tenant on signing_keys for all to public using (${platformOnly}) with check (${platformOnly})`);
    this.addSql(`create policy signing_keys_system_access on signing_keys for all to public using (${systemAccessSql}) with check (${systemAccessSql})`);
    this.addSql("grant select, insert, update on signing_keys to gatehouse_app");
  }
}
