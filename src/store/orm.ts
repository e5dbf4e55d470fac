import type { MikroORM } from "@mikro-orm/core";
import type { AbstractSqlDriver, SqlEntityManager } from "@mikro-orm/postgresql";

/**
 * StoreOrm is the MikroORM instance type of both engines (PostgreSQL and
 * embedded PGlite share the SQL driver base and the Postgres platform).
 */
export type StoreOrm = MikroORM<AbstractSqlDriver, SqlEntityManager>;

/**
 * StoreEntityManager is the entity manager handed to inTenant and asSystem
 * callbacks and taken by every repository function.
 */
export type StoreEntityManager = SqlEntityManager;
