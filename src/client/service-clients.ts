import { createClient, type Client, type Transport } from "@connectrpc/connect";
import { AuditService } from "../../gen/gatehouse/v1/audit_pb.js";
import { AuthService } from "../../gen/gatehouse/v1/auth_pb.js";
import { LocksService } from "../../gen/gatehouse/v1/locks_pb.js";
import { MacrosService } from "../../gen/gatehouse/v1/macros_pb.js";
import { PoliciesService } from "../../gen/gatehouse/v1/policies_pb.js";
import { ReposService } from "../../gen/gatehouse/v1/repos_pb.js";
import { RolesService } from "../../gen/gatehouse/v1/roles_pb.js";
import { RoomsService } from "../../gen/gatehouse/v1/rooms_pb.js";
import { RulesService } from "../../gen/gatehouse/v1/rules_pb.js";
import { TenantsService } from "../../gen/gatehouse/v1/tenants_pb.js";
import { UsersService } from "../../gen/gatehouse/v1/users_pb.js";

/** GatehouseClient holds one typed client per Gatehouse service. */
export interface GatehouseClient {
  auth: Client<typeof AuthService>;
  users: Client<typeof UsersService>;
  roles: Client<typeof RolesService>;
  tenants: Client<typeof TenantsService>;
  rooms: Client<typeof RoomsService>;
  policies: Client<typeof PoliciesService>;
  rules: Client<typeof RulesService>;
  macros: Client<typeof MacrosService>;
  repos: Client<typeof ReposService>;
  locks: Client<typeof LocksService>;
  audit: Client<typeof AuditService>;
  /** transport is the underlying transport (for other clients on the same connection). */
  transport: Transport;
}

/**
 * serviceClients makes one typed client per service over a transport. It
 * imports nothing Node-only, so the browser console uses it too.
 */
export function serviceClients(transport: Transport): GatehouseClient {
  return {
    auth: createClient(AuthService, transport),
    users: createClient(UsersService, transport),
    roles: createClient(RolesService, transport),
    tenants: createClient(TenantsService, transport),
    rooms: createClient(RoomsService, transport),
    policies: createClient(PoliciesService, transport),
    rules: createClient(RulesService, transport),
    macros: createClient(MacrosService, transport),
    repos: createClient(ReposService, transport),
    locks: createClient(LocksService, transport),
    audit: createClient(AuditService, transport),
    transport,
  };
}
