import type { StoreEntityManager } from "./orm.js";

/**
 * Tx is a transaction scoped to one tenant (row-level security applies), as
 * the call's unit of work or a read hands it out. Use cases pass it to stores
 * without looking inside: only code under src/store/ touches the entity
 * manager it is.
 */
export type Tx = StoreEntityManager;
