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
import { ormAuditLogStore } from "./store/audit-log.js";
import { ormLockTargetStore } from "./store/lock-targets.js";
import { ormRulesStore } from "./store/rules.js";
import { ormTenantStore } from "./store/tenants.js";
import { createAuthService } from "./services/auth.js";
import { createLocksService } from "./services/locks.js";
import { createMacrosService } from "./services/macros.js";
import { createMacroPolicyHooks } from "./macros/macro-policy-hooks.js";
import { createPoliciesService, managedUsersOverGrants } from "./services/policies.js";
import { ormPolicyStore } from "./store/policies.js";
import { createReposService } from "./services/repos.js";
import { createRoomsService, roomEventsOver } from "./services/rooms.js";
import { ormRoomStore } from "./store/rooms.js";
import { countRoomContents } from "./store/room-contents.js";
import { createRulesService } from "./services/rules.js";
import { createRolesService } from "./services/roles.js";
import { createTenantsService } from "./services/tenants.js";
import { createUsersService } from "./services/users.js";
import { policyFromJson } from "./policies/policy-codec.js";
import { ormRolesStore, storedGlobalPolicy } from "./store/roles.js";
import { ormSessionsStore } from "./store/sessions.js";
import { ormUsersStore } from "./store/users.js";
import { releaseDeletedTarget } from "./store/lock-holdings.js";
import { ormMacroStore } from "./store/macros.js";
import { ormRepoStore } from "./store/repos.js";
import { ormStoreRecordStore } from "./store/store-records.js";

/** macroStores are the stores MacrosService and ReposService share. */
const macroStores = { macros: ormMacroStore, storeRecords: ormStoreRecordStore, lockTargets: { releaseDeleted: releaseDeletedTarget } };

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
  router.service(
    AuthService,
    createAuthService({
      config: deps.config,
      limiters: deps.limiters,
      loginAudit: deps.loginAudit,
      db: deps.db,
      sessions: deps.sessions,
      tokens: deps.tokens,
      jwks: () => deps.jwks(),
      users: ormUsersStore,
      sessionsStore: ormSessionsStore,
    }),
  );
  router.service(
    UsersService,
    createUsersService({
      config: deps.config,
      limiters: deps.limiters,
      rooms: deps.rooms,
      users: ormUsersStore,
      sessionsStore: ormSessionsStore,
      sessionCaches: deps.sessions,
    }),
  );
  router.service(
    RolesService,
    createRolesService({
      roles: ormRolesStore,
      users: ormUsersStore,
      globalPolicy: async (tx) => policyFromJson(await storedGlobalPolicy(tx)),
      sessionCaches: deps.sessions,
    }),
  );
  router.service(
    TenantsService,
    createTenantsService({ tenants: ormTenantStore, audit: deps.audit, systemRead: (fn) => deps.db.asSystem(fn, { readOnly: true }) }),
  );
  router.service(RoomsService, createRoomsService({ rooms: ormRoomStore, events: roomEventsOver(deps), contents: { count: countRoomContents } }));
  router.service(
    PoliciesService,
    createPoliciesService({ layers: ormPolicyStore, effective: deps.policies, macros: createMacroPolicyHooks(deps), users: managedUsersOverGrants }),
  );
  router.service(RulesService, createRulesService({ rulesStore: ormRulesStore, rules: deps.rules }));
  router.service(MacrosService, createMacrosService({ ...deps, ...macroStores }));
  router.service(ReposService, createReposService({ ...deps, ...macroStores, repos: ormRepoStore, inOwnTx: (tenantId, fn) => deps.db.inTenant(tenantId, fn) }));
  router.service(LocksService, createLocksService({ locks: deps.locks, lockTargets: ormLockTargetStore, config: deps.config }));
  router.service(AuditService, createAuditService({ auditLog: ormAuditLogStore }));
  router.service(AdminService, createAdminService({ signingKeyStore: ormSigningKeyStore, kek: deps.kek, signingKeys: deps.signingKeys }));
  router.service(Health, createHealthImpl(createHealthStatusSource(deps.health, gatehouseServices.map((s) => s.typeName))));
  if (deps.config.reflection) registerReflection(router, gatehouseServices);
}
