import { fromJson, isMessage, toJson, type JsonValue } from "@bufbuild/protobuf";
import { ValueSchema, type Value } from "@bufbuild/protobuf/wkt";
import { createClient, type CallOptions, type Client, type Transport } from "@connectrpc/connect";
import { AdminService } from "./gen/gatehouse/v1/admin_pb.js";
import { AuditService } from "./gen/gatehouse/v1/audit_pb.js";
import { AuthService } from "./gen/gatehouse/v1/auth_pb.js";
import { LocksService } from "./gen/gatehouse/v1/locks_pb.js";
import { MacrosService, type RunMacroRequest, type RunMacroResponse } from "./gen/gatehouse/v1/macros_pb.js";
import { PoliciesService } from "./gen/gatehouse/v1/policies_pb.js";
import { ReposService } from "./gen/gatehouse/v1/repos_pb.js";
import { RolesService } from "./gen/gatehouse/v1/roles_pb.js";
import { RoomsService } from "./gen/gatehouse/v1/rooms_pb.js";
import { RulesService } from "./gen/gatehouse/v1/rules_pb.js";
import { TenantsService } from "./gen/gatehouse/v1/tenants_pb.js";
import { UsersService } from "./gen/gatehouse/v1/users_pb.js";

/**
 * RunMacroInput is RunMacro's request with `input` as plain JSON (any JSON
 * value; leave it out for `undefined`). A `google.protobuf.Value` message is
 * accepted as well and sent as it is.
 */
export type RunMacroInput = Partial<Omit<RunMacroRequest, "$typeName" | "input">> & { input?: JsonValue | Value };

/** RunMacroResult is RunMacro's response with `output` as plain JSON (undefined when the macro returned nothing). */
export type RunMacroResult = Omit<RunMacroResponse, "output"> & { output?: JsonValue };

/** MacrosClient is the MacrosService client whose runMacro takes and answers plain JSON. */
export type MacrosClient = Omit<Client<typeof MacrosService>, "runMacro"> & {
  runMacro(request: RunMacroInput, options?: CallOptions): Promise<RunMacroResult>;
};

/** GatehouseClient holds one typed client per Gatehouse service. */
export interface GatehouseClient {
  auth: Client<typeof AuthService>;
  users: Client<typeof UsersService>;
  roles: Client<typeof RolesService>;
  tenants: Client<typeof TenantsService>;
  rooms: Client<typeof RoomsService>;
  policies: Client<typeof PoliciesService>;
  rules: Client<typeof RulesService>;
  macros: MacrosClient;
  repos: Client<typeof ReposService>;
  locks: Client<typeof LocksService>;
  audit: Client<typeof AuditService>;
  /** admin holds platform operations (SUPERGOD): rotating the signing key. */
  admin: Client<typeof AdminService>;
  /** transport is the underlying transport (for other clients on the same connection). */
  transport: Transport;
}

/** macrosClient wraps the generated MacrosService client so that macro input and output are plain JSON. */
function macrosClient(transport: Transport): MacrosClient {
  const raw = createClient(MacrosService, transport);
  return {
    ...raw,
    async runMacro(request, options) {
      const { input, ...rest } = request;
      const value = input === undefined ? undefined : isMessage(input, ValueSchema) ? input : fromJson(ValueSchema, input);
      const { output, ...res } = await raw.runMacro({ ...rest, input: value }, options);
      return output === undefined ? res : { ...res, output: toJson(ValueSchema, output) };
    },
  };
}

/**
 * serviceClients makes one typed client per service over any transport
 * (connect-node, connect-web, or an in-memory router transport in tests).
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
    macros: macrosClient(transport),
    repos: createClient(ReposService, transport),
    locks: createClient(LocksService, transport),
    audit: createClient(AuditService, transport),
    admin: createClient(AdminService, transport),
    transport,
  };
}
