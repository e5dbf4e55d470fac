import { describe, expect, it } from "vitest";
import { defaultAction } from "../../src/interceptors/audit.js";

describe("defaultAction", () => {
  it("names an RPC's action as its handler does: service, then the method's words without the service's noun", () => {
    const cases: Array<[string, string, string]> = [
      ["UsersService", "CreateUser", "users.create"],
      ["UsersService", "SetUserRoles", "users.set_roles"],
      ["UsersService", "ChangePassword", "users.change_password"],
      ["RolesService", "ListRoles", "roles.list"],
      ["RolesService", "AddRolePermission", "roles.add_permission"],
      ["RolesService", "UpdateRoleDefaultPolicy", "roles.update_default_policy"],
      ["PoliciesService", "UpdateGlobalPolicy", "policies.update_global"],
      ["PoliciesService", "DeleteUserPolicy", "policies.delete_user"],
      ["RoomsService", "AddRoomMember", "rooms.add_member"],
      ["LocksService", "BreakLock", "locks.break"],
      ["MacrosService", "RunMacro", "macros.run"],
      ["MacrosService", "UpdateMacros", "macros.update"],
      ["TenantsService", "CreateTenant", "tenants.create"],
      ["AuthService", "Login", "auth.login"],
    ];
    for (const [service, method, action] of cases) expect([service, method, defaultAction(service, method)]).toEqual([service, method, action]);
  });
});
