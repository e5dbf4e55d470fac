import { describe, expect, it } from "vitest";
import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { createTenant, type NewTenantAuditEvent } from "../../../src/app/tenants/create-tenant.js";
import { listTenants } from "../../../src/app/tenants/list-tenants.js";
import { verifyPassword } from "../../../src/auth/passwords.js";
import { testCall } from "../../support/app-call.js";
import { memoryTenants } from "../../support/memory-stores/tenants.js";

const operator = testCall({ level: Level.SUPERGOD, username: "root" });

describe("createTenant", () => {
  const setup = () => {
    const tenants = memoryTenants();
    const events: NewTenantAuditEvent[] = [];
    return { tenants, events, deps: { tenants, audit: { append: async (_tx: unknown, e: NewTenantAuditEvent) => void events.push(e) } } };
  };

  it("provisions the tenant with an ADMIN `admin`, opens its audit chain and scopes back to the caller's tenant", async () => {
    const { tenants, events, deps } = setup();
    const done = await createTenant(deps, operator, { name: "acme", adminUsername: "boss", adminPassword: "boss-password-1" });
    const made = done.value;
    expect(tenants.provisioned[0]).toMatchObject({ name: "acme", adminUsername: "boss", adminLevel: Level.ADMIN, adminRole: "admin", createdBy: operator.principal.userId });
    expect(await verifyPassword(tenants.provisioned[0]!.adminPasswordHash, "boss-password-1")).toBe(true);
    expect(events).toEqual([
      expect.objectContaining({
        tenantId: made.tenant.id,
        actorId: operator.principal.userId,
        actorName: "root",
        action: "tenants.create",
        resource: `tenant:${made.tenant.id}`,
        details: { name: "acme", adminUserId: made.admin.id, createdFromTenant: operator.principal.tenantId },
      }),
    ]);
    expect(tenants.scopes).toEqual([made.tenant.id, operator.principal.tenantId]);
    expect(done.audit).toEqual({ resource: `tenant:${made.tenant.id}`, details: { name: "acme", adminUsername: "boss", adminUserId: made.admin.id } });
  });

  it("refuses a bad name, admin username or password before writing anything", async () => {
    const { tenants, events, deps } = setup();
    await expect(createTenant(deps, operator, { name: "A!", adminUsername: "boss", adminPassword: "boss-password-1" })).rejects.toThrow(/^name/);
    await expect(createTenant(deps, operator, { name: "acme", adminUsername: "", adminPassword: "boss-password-1" })).rejects.toThrow(/^admin_username/);
    await expect(createTenant(deps, operator, { name: "acme", adminUsername: "boss", adminPassword: "x" })).rejects.toThrow(/^admin_password/);
    expect(tenants.provisioned).toEqual([]);
    expect(events).toEqual([]);
  });
});

describe("listTenants", () => {
  it("pages by name through a system read", async () => {
    const tenants = memoryTenants();
    for (const name of ["c-t", "a-t", "b-t"]) await tenants.provision(undefined as never, { name, adminUsername: "a", adminPasswordHash: "h", adminLevel: 4, adminRole: "admin" });
    let systemReads = 0;
    const deps = { tenants, systemRead: <T>(fn: (tx: never) => Promise<T>) => ((systemReads += 1), fn(undefined as never)) };
    const first = await listTenants(deps, operator, { limit: 2 });
    expect(first.tenants.map((t) => t.name)).toEqual(["a-t", "b-t"]);
    expect(first.next).toBe("b-t");
    const last = await listTenants(deps, operator, { limit: 2, after: first.next! });
    expect(last).toMatchObject({ next: undefined });
    expect(last.tenants.map((t) => t.name)).toEqual(["c-t"]);
    expect(systemReads).toBe(2);
  });
});
