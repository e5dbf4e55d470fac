import type { IsolationLevel } from "@mikro-orm/core";
import { InvalidDataError, isBrokenConnectionError, mapDriverError } from "./errors.js";
import type { StoreEntityManager, StoreOrm } from "./orm.js";
import { isUuid } from "../domain/ids.js";

/**
 * APP_ROLE is the NOLOGIN, non-superuser, NOBYPASSRLS role that tenant-scoped
 * transactions switch to, so that row-level security applies to them. Created by
 * migrations/0001-init.ts.
 */
export const APP_ROLE = "gatehouse_app";

/** TENANT_SETTING is the custom setting the RLS policies compare `tenant_id` with. */
export const TENANT_SETTING = "gatehouse.tenant_id";

/**
 * SYSTEM_SETTING marks a system transaction. The policies let it through for any
 * role except APP_ROLE; it matters only when the service connects as a
 * non-superuser table owner (superusers bypass RLS anyway).
 */
export const SYSTEM_SETTING = "gatehouse.system";

/** TransactionOptions tune the transaction opened by inTenant and asSystem. */
export interface TransactionOptions {
  /** isolationLevel defaults to the server's (READ COMMITTED). */
  isolationLevel?: IsolationLevel;
  /** readOnly opens a READ ONLY transaction. */
  readOnly?: boolean;
}

/** TransactionCallback is the work done inside inTenant or asSystem. */
export type TransactionCallback<T> = (em: StoreEntityManager) => Promise<T>;


/**
 * normalizeUuid answers the lower-case form of a uuid (as Postgres prints it), or
 * throws InvalidDataError.
 */
export function normalizeUuid(value: string, field = "id"): string {
  if (!isUuid(value)) {
    throw new InvalidDataError(`${field} is not a uuid`);
  }
  return value.toLowerCase();
}

/**
 * attemptsOnBrokenConnection bounds how often a transaction is started again
 * when its pooled connection turns out to be dead before `fn` ran. After a
 * database restart or pg_terminate_backend every idle connection is dead and the
 * pool only notices them one by one, so one call may draw each of them: allow
 * one attempt per pooled connection, plus one. Each failure is immediate, and a
 * database that refuses new connections fails differently and is not retried.
 */
export function attemptsOnBrokenConnection(orm: StoreOrm): number {
  const max = orm.config.get("pool")?.max;
  return (typeof max === "number" && max > 0 ? max : 10) + 1;
}

/**
 * runInTenant forks the entity manager, opens a transaction, switches to APP_ROLE
 * and sets the tenant for that transaction only (`SET LOCAL`, `set_config(...,
 * true)`), runs `fn`, flushes and commits, or rolls back if `fn` throws. The role
 * and tenant end with the transaction, so a pooled connection never carries them
 * into the next one. A transaction whose connection was found dead before `fn`
 * started is retried on another (see attemptsOnBrokenConnection); `fn` itself is
 * never run twice. Driver errors come out as StoreErrors.
 */
export async function runInTenant<T>(
  orm: StoreOrm,
  tenantId: string,
  fn: TransactionCallback<T>,
  options: TransactionOptions = {},
): Promise<T> {
  const tenant = normalizeUuid(tenantId, "tenant_id");
  return runTransaction(
    orm,
    // One round trip; the uuid was validated above and is quoted by MikroORM.
    (tx) => tx.execute(`set local role ${APP_ROLE}; select set_config('${TENANT_SETTING}', ?, true)`, [tenant]),
    fn,
    options,
  );
}

/**
 * runAsSystem is runInTenant without the role switch: the transaction runs as the
 * connecting user with SYSTEM_SETTING on, and sees every tenant. For bootstrap,
 * the login lookup of a tenant by name, ListTenants and cross-tenant SUPERGOD work
 * (which must be audited by the caller).
 */
export async function runAsSystem<T>(
  orm: StoreOrm,
  fn: TransactionCallback<T>,
  options: TransactionOptions = {},
): Promise<T> {
  return runTransaction(orm, (tx) => tx.execute(`select set_config('${SYSTEM_SETTING}', 'on', true)`), fn, options);
}

async function runTransaction<T>(
  orm: StoreOrm,
  prepare: (tx: StoreEntityManager) => Promise<unknown>,
  fn: TransactionCallback<T>,
  options: TransactionOptions,
): Promise<T> {
  const attempts = attemptsOnBrokenConnection(orm);
  for (let attempt = 1; ; attempt += 1) {
    let started = false;
    let failure: { error: unknown } | undefined;
    try {
      const em = orm.em.fork({ clear: true, useContext: false });
      return await em.transactional(async (tx) => {
        try {
          await prepare(tx);
          started = true;
          return await fn(tx);
        } catch (error) {
          failure = { error: await originalError(tx, error) };
          throw error;
        }
      }, options);
    } catch (error) {
      // A failed ROLLBACK on a dead connection replaces the error that caused it.
      const cause = failure ? failure.error : error;
      if (started || attempt >= attempts || !isBrokenConnectionError(cause)) {
        throw mapDriverError(cause);
      }
    }
  }
}

interface KnexTransactionLike {
  executionPromise?: Promise<unknown>;
}

const completedTransaction = /Transaction query already complete/;

/**
 * originalError digs out why knex gave up on a transaction: when BEGIN or an
 * earlier statement failed (a dead connection), later statements only say
 * "Transaction query already complete", and the real error sits in the
 * transaction's execution promise.
 */
async function originalError(tx: StoreEntityManager, error: unknown): Promise<unknown> {
  if (!(error instanceof Error) || !completedTransaction.test(error.message)) {
    return error;
  }
  const trx = tx.getTransactionContext<KnexTransactionLike>();
  if (!trx?.executionPromise) {
    return error;
  }
  const settled = await Promise.race([
    trx.executionPromise.then(
      () => undefined,
      (cause: unknown) => cause,
    ),
    new Promise<undefined>((resolve) => setTimeout(resolve, 0, undefined)),
  ]);
  return settled ?? error;
}
