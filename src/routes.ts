import type { ConnectRouter } from "@connectrpc/connect";
import type { DescService } from "@bufbuild/protobuf";
import { AdminService } from "../gen/gatehouse/v1/admin_pb.js";
import { AuditService } from "../gen/gatehouse/v1/audit_pb.js";
import { AuthService } from "../gen/gatehouse/v1/auth_pb.js";
import { LocksService } from "../gen/gatehouse/v1/locks_pb.js";
import { MacrosService } from "../gen/gatehouse/v1/macros_pb.js";
import { PoliciesService } from "../gen/gatehouse/v1/policies_pb.js";
import { ReposService } from "../gen/gatehouse/v1/repos_pb.js";
import { RolesService } from "../gen/gatehouse/v1/roles_pb.js";
import { RoomsService } from "../gen/gatehouse/v1/rooms_pb.js";
import { RulesService } from "../gen/gatehouse/v1/rules_pb.js";
import { TenantsService } from "../gen/gatehouse/v1/tenants_pb.js";
import { UsersService } from "../gen/gatehouse/v1/users_pb.js";
import { Health } from "../gen/grpc/health/v1/health_pb.js";
import type { Deps } from "./deps.js";
import { createHealthImpl } from "./reflection/health-service.js";
import { createHealthStatusSource } from "./reflection/health-status.js";
import { registerReflection } from "./reflection/reflection-service.js";
import { ormSigningKeyStore } from "./store/signing-keys.js";
import { createAdminService } from "./services/admin.js";
import { createAuditService } from "./services/audit.js";
import { createAuthService } from "./services/auth.js";
import { createLocksService } from "./services/locks.js";
import { createMacrosService } from "./services/macros.js";
import { createPoliciesService } from "./services/policies.js";
import { createReposService } from "./services/repos.js";
import { createRoomsService } from "./services/rooms.js";
import { createRulesService } from "./services/rules.js";
import { createRolesService } from "./services/roles.js";
import { createTenantsService } from "./services/tenants.js";
import { createUsersService } from "./services/users.js";

/** gatehouseServices lists every gatehouse.v1 service, in the order reflection lists them. */
export const gatehouseServices: readonly DescService[] = [
  AuthService,
  UsersService,
  RolesService,
  TenantsService,
  RoomsService,
  PoliciesService,
  RulesService,
  MacrosService,
  ReposService,
  LocksService,
  AuditService,
  AdminService,
];

/**
 * registerRoutes registers every service on the router. A service not built
 * yet is registered with no methods: each answers UNIMPLEMENTED.
 */
export function registerRoutes(router: ConnectRouter, deps: Deps): void {
  router.service(AuthService, createAuthService(deps));
  router.service(UsersService, createUsersService(deps));
  router.service(RolesService, createRolesService(deps));
  router.service(TenantsService, createTenantsService(deps));
  router.service(RoomsService, createRoomsService(deps));
  router.service(PoliciesService, createPoliciesService(deps));
  router.service(RulesService, createRulesService(deps));
  router.service(MacrosService, createMacrosService(deps));
  router.service(ReposService, createReposService(deps));
  router.service(LocksService, createLocksService(deps));
  router.service(AuditService, createAuditService(deps));
  router.service(AdminService, createAdminService({ signingKeyStore: ormSigningKeyStore, kek: deps.kek, signingKeys: deps.signingKeys }));
  router.service(Health, createHealthImpl(createHealthStatusSource(deps.health, gatehouseServices.map((s) => s.typeName))));
  if (deps.config.reflection) registerReflection(router, gatehouseServices);
}
