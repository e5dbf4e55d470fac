import { randomUUID } from "node:crypto";
import type { NewTenant, TenantRow, TenantStore } from "../../../src/store/tenants.js";

/** MemoryTenants is an in-memory TenantStore, for use-case tests. */
export interface MemoryTenants extends TenantStore {
  tenants: TenantRow[];
  /** provisioned keeps each provision's input; scopes the tenant each scopeTo/provision left the transaction in. */
  provisioned: NewTenant[];
  scopes: string[];
}

/** memoryTenants answers as the ORM store does (names unique), over an array. */
export function memoryTenants(): MemoryTenants {
  const store: MemoryTenants = {
    tenants: [],
    provisioned: [],
    scopes: [],
    async findIdByName(_tx, name) {
      return store.tenants.find((t) => t.name === name)?.id;
    },
    async list(_tx, page) {
      return [...store.tenants]
        .sort((a, b) => (a.name < b.name ? -1 : 1))
        .filter((t) => page.afterName === undefined || t.name > page.afterName)
        .slice(0, page.limit);
    },
    async provision(_tx, input) {
      if (store.tenants.some((t) => t.name === input.name)) throw new Error(`tenant ${input.name} exists`);
      const tenant = { id: randomUUID(), name: input.name, createdAt: new Date() };
      store.tenants.push(tenant);
      store.provisioned.push(input);
      store.scopes.push(tenant.id);
      const at = new Date();
      return {
        tenant,
        admin: { id: randomUUID(), tenantId: tenant.id, username: input.adminUsername, level: input.adminLevel, disabled: false, createdAt: at, updatedAt: at, roleIds: [randomUUID()], roleNames: [input.adminRole] },
      };
    },
    async scopeTo(_tx, tenantId) {
      store.scopes.push(tenantId);
    },
    async passwordHashOf() {
      return undefined;
    },
  };
  return store;
}
