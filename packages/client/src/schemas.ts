/**
 * The generated schemas of `gatehouse.v1`: every service descriptor, message
 * schema, message type and enum (Level, RoomRole, Effect, Outcome,
 * AuditOutcome, MacroSourceKind, …), as protoc-gen-es wrote them from the
 * protos. The build copies them from the repository's gen/.
 */
export * from "./gen/gatehouse/v1/access_pb.js";
export * from "./gen/gatehouse/v1/admin_pb.js";
export * from "./gen/gatehouse/v1/audit_pb.js";
export * from "./gen/gatehouse/v1/auth_pb.js";
export * from "./gen/gatehouse/v1/common_pb.js";
export * from "./gen/gatehouse/v1/locks_pb.js";
export * from "./gen/gatehouse/v1/macros_pb.js";
export * from "./gen/gatehouse/v1/policies_pb.js";
export * from "./gen/gatehouse/v1/repos_pb.js";
export * from "./gen/gatehouse/v1/roles_pb.js";
export * from "./gen/gatehouse/v1/rooms_pb.js";
export * from "./gen/gatehouse/v1/rules_pb.js";
export * from "./gen/gatehouse/v1/tenants_pb.js";
export * from "./gen/gatehouse/v1/users_pb.js";
