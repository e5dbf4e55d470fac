import { randomBytes } from "node:crypto";
import { MikroORM } from "@mikro-orm/postgresql";

/**
 * TEST_POSTGRES_URL is the cluster tests create their databases in (trust auth,
 * superuser `postgres`). Override with GATEHOUSE_TEST_POSTGRES_URL.
 */
export const TEST_POSTGRES_URL = process.env.GATEHOUSE_TEST_POSTGRES_URL ?? "postgres://postgres@127.0.0.1:5432";

/** TestDatabase is a fresh, empty database of the test cluster. */
export interface TestDatabase {
  /** name is `gatehouse_test_<random>`. */
  name: string;
  /** url connects to it as the superuser. */
  url: string;
  /**
   * kek is the GATEHOUSE_KEK of every server on this database (32 random
   * bytes, base64): the signing keys a server seals in it open only with it.
   */
  kek: string;
  /** admin runs SQL on the cluster's `postgres` database (to terminate backends, ...). */
  admin(sql: string, params?: unknown[]): Promise<unknown[]>;
  /** drop terminates its connections and drops it. */
  drop(): Promise<void>;
}

/**
 * createTestDatabase creates `gatehouse_test_<random>` on the test cluster and
 * answers its URL and a drop function. Each test file (or test) gets its own.
 */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `gatehouse_test_${randomBytes(6).toString("hex")}`;
  const admin = await MikroORM.init({
    clientUrl: `${TEST_POSTGRES_URL}/postgres`,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    ensureDatabase: false,
    allowGlobalContext: true,
    pool: { min: 0, max: 2 },
  });
  const run = (sql: string, params: unknown[] = []) => admin.em.getConnection().execute(sql, params, "all");
  try {
    await run(`create database ${name}`);
  } catch (error) {
    await admin.close(true);
    throw error;
  }
  let dropped = false;
  return {
    name,
    url: `${TEST_POSTGRES_URL}/${name}`,
    kek: randomBytes(32).toString("base64"),
    admin: run,
    async drop() {
      if (dropped) return;
      dropped = true;
      try {
        await run(`drop database if exists ${name} with (force)`);
      } finally {
        await admin.close(true);
      }
    },
  };
}
