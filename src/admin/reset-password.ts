import { randomBytes } from "node:crypto";
import { existsSync } from "node:fs";
import { userInfo } from "node:os";
import { join } from "node:path";
import { hashPassword, passwordProblem } from "../auth/passwords.js";
import { defaultTenantName } from "../bootstrap.js";
import type { Config } from "../config.js";
import { appendAuditEvent } from "../store/audit-writer.js";
import { initDatabase, type StoreLogger } from "../store/database.js";
import { ormSessionsStore } from "../store/sessions.js";
import { ormUsersStore } from "../store/users.js";

/** ResetPasswordError is a refusal the operator can act on (unknown user, weak password, no data). */
export class ResetPasswordError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ResetPasswordError";
  }
}

/** ResetPasswordOptions say whose password to reset, and where the data is. */
export interface ResetPasswordOptions {
  /** config gives the database: GATEHOUSE_DATABASE_URL, else the embedded data directory. */
  config: Pick<Config, "databaseUrl" | "dataDir">;
  /** username of the user whose password is reset. */
  username: string;
  /** tenant is the user's tenant name (default "default"). */
  tenant?: string;
  /** password is the new password; unset → a random one is generated. It must satisfy the password policy. */
  password?: string;
  /** actor names who did it in the audit record (default `cli:<OS user>`). */
  actor?: string;
  /** logger receives migration and lock messages of the database layer. */
  logger?: StoreLogger;
}

/** ResetPasswordResult is what the reset did. */
export interface ResetPasswordResult {
  /** password is the new password (generated or given): show it to the operator, never log it. */
  password: string;
  generated: boolean;
  tenantId: string;
  userId: string;
  /** sessionsRevoked counts the user's sessions ended by the reset. */
  sessionsRevoked: number;
}

function osUser(): string {
  try {
    return userInfo().username;
  } catch {
    return "unknown";
  }
}

/**
 * resetPassword sets a user's password offline, with the server stopped:
 * against GATEHOUSE_DATABASE_URL, or the embedded data directory, which it
 * locks like a server does (a running server → DataDirLockedError). It
 * revokes the user's sessions and appends an audit record
 * (`users.reset_password`, method `cli/reset-password`) in the same
 * transaction. A first password kept in `initial-admin-password` that no
 * longer opens the account is removed by the server's next start.
 */
export async function resetPassword(options: ResetPasswordOptions): Promise<ResetPasswordResult> {
  const tenant = options.tenant ?? defaultTenantName;
  const generated = options.password === undefined;
  const password = options.password ?? randomBytes(18).toString("base64url");
  const problem = passwordProblem(password);
  if (problem) throw new ResetPasswordError(`the new password ${problem}`);
  const { databaseUrl, dataDir } = options.config;
  const pgdata = join(dataDir, "pgdata");
  if (!databaseUrl && !existsSync(pgdata)) {
    throw new ResetPasswordError(`no embedded database in ${dataDir} (no ${pgdata}): start the server once, or set GATEHOUSE_DATA_DIR or GATEHOUSE_DATABASE_URL`);
  }
  const db = await initDatabase({
    url: databaseUrl,
    dataDir: databaseUrl ? undefined : pgdata,
    lockDir: dataDir,
    lockCommand: "admin reset-password",
    logger: options.logger,
    migrate: false,
    poolMax: 2,
  });
  try {
    const row = await db.asSystem((tx) => ormUsersStore.findInTenantNamed(tx, tenant, options.username)).catch((err: unknown) => {
      throw new ResetPasswordError(`cannot read the users (is this a Gatehouse database that a server has started on?): ${(err as Error).message}`);
    });
    if (!row) throw new ResetPasswordError(`no user ${JSON.stringify(options.username)} in tenant ${JSON.stringify(tenant)}`);
    const passwordHash = await hashPassword(password);
    const actor = options.actor ?? `cli:${osUser()}`;
    const sessionsRevoked = await db.inTenant(row.tenantId, async (tx) => {
      await ormUsersStore.setPasswordHash(tx, row.userId, passwordHash);
      const revoked = await ormSessionsStore.revokeUser(tx, row.userId, "password reset");
      await appendAuditEvent(tx, {
        tenantId: row.tenantId,
        actorName: actor,
        method: "cli/reset-password",
        action: "users.reset_password",
        resource: `user:${row.userId}`,
        outcome: "ALLOWED",
        reason: "offline password reset",
        details: { username: options.username, generated, sessionsRevoked: revoked },
      });
      return revoked;
    });
    return { password, generated, tenantId: row.tenantId, userId: row.userId, sessionsRevoked };
  } finally {
    await db.close();
  }
}
