/**
 * The persistence layer: PostgreSQL or embedded PGlite through MikroORM,
 * versioned migrations, tenant isolation (tenant-filtered queries plus row-level
 * security), the hash-chained audit log, and the driver-error classifier.
 */
export * from "./audit-writer.js";
export * from "./canonical-json.js";
export * from "./database.js";
export * from "./entities/index.js";
export * from "./errors.js";
export * from "./migrate.js";
export * from "./orm.js";
export * from "./ping.js";
export * from "./repositories/roles.js";
export * from "./repositories/tenants.js";
export * from "./repositories/users.js";
export * from "./tenant-scope.js";
