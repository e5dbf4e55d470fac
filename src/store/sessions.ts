import { LockMode } from "@mikro-orm/core";
import { SessionSchema } from "./entities/session.js";
import type { Tx } from "./tx.js";
import { grantColumns, grantsOfRow, type GrantRow } from "./users.js";

/**
 * The sessions aggregate: one row per login, refreshed by rotating refresh
 * tokens (only hashes are stored). Runs in the session's tenant-scoped
 * transaction. Reads skip the identity map (see users.ts).
 */

/** SessionView is a session with its user and the user's effective permissions, as a call needs it. */
export interface SessionView {
  id: string;
  tenantId: string;
  userId: string;
  username: string;
  level: number;
  disabled: boolean;
  csrfTokenHash: string | null;
  cookieSecretHash: string | null;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  lastSeenAt: Date;
  revokedAt: Date | null;
  /** roles are the names of the user's roles, by name. */
  roles: string[];
  permissions: ReadonlySet<string>;
  /** roleIds are the ids of the user's roles, in the order of `roles`. */
  roleIds: string[];
  userCreatedAt: Date;
  userUpdatedAt: Date;
}

/** NewSessionRow is what start inserts. */
export interface NewSessionRow {
  id: string;
  tenantId: string;
  userId: string;
  refreshTokenHash: string;
  csrfTokenHash: string | null;
  cookieSecretHash: string | null;
  ip: string;
  userAgent: string;
  createdAt: Date;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
}

/** RefreshState is a session's refresh-token state, locked for rotation. */
export interface RefreshState {
  refreshTokenHash: string;
  previousRefreshHashes: string[];
  refreshGeneration: number;
  revokedAt: Date | null;
}

/** keptRefreshHashes bounds how many rotated-out refresh hashes a session remembers for reuse detection. */
export const keptRefreshHashes = 32;

/** SessionsStore owns the rows of `sessions`. */
export interface SessionsStore {
  /** view answers a session joined with its user and grants, or undefined. */
  view(tx: Tx, sessionId: string): Promise<SessionView | undefined>;
  insert(tx: Tx, session: NewSessionRow): Promise<void>;
  /** touch slides the idle expiry. */
  touch(tx: Tx, sessionId: string, seenAt: Date, idleExpiresAt: Date): Promise<void>;
  /** lockRefreshState reads a session's refresh state and locks the row. */
  lockRefreshState(tx: Tx, sessionId: string): Promise<RefreshState | undefined>;
  /** rotate stores a new refresh hash, remembering the current one as used (call with the row locked). */
  rotate(tx: Tx, sessionId: string, current: RefreshState, next: { refreshTokenHash: string; seenAt: Date; idleExpiresAt: Date }): Promise<void>;
  /** revoke ends one session unless already ended; answers whether it did. */
  revoke(tx: Tx, sessionId: string, reason: string): Promise<boolean>;
  /** revokeUser ends every live session of a user (but `except`); answers how many. */
  revokeUser(tx: Tx, userId: string, reason: string, except?: string): Promise<number>;
}

const fresh = { disableIdentityMap: true } as const;

interface ViewRow extends GrantRow {
  user_created_at: Date;
  user_updated_at: Date;
  id: string;
  tenant_id: string;
  user_id: string;
  username: string;
  level: number;
  disabled: boolean;
  csrf_token_hash: string | null;
  cookie_secret_hash: string | null;
  idle_expires_at: Date;
  absolute_expires_at: Date;
  last_seen_at: Date;
  revoked_at: Date | null;
}

/** ormSessionsStore is the SessionsStore on MikroORM. */
export const ormSessionsStore: SessionsStore = {
  async view(tx, sessionId) {
    // Plain SQL: the session, its user and the user's grants in one round trip (grantColumns, users.ts).
    const rows = (await tx.execute(
      `select s.id, s.tenant_id, s.user_id, u.username, u.level, u.disabled, s.csrf_token_hash, s.cookie_secret_hash,
              s.idle_expires_at, s.absolute_expires_at, s.last_seen_at, s.revoked_at, u.created_at as user_created_at, u.updated_at as user_updated_at, ${grantColumns("s.user_id")}
         from sessions s join users u on u.id = s.user_id
        where s.id = ?`,
      [sessionId],
    )) as ViewRow[];
    const row = rows[0];
    if (!row) return undefined;
    const grants = grantsOfRow(row);
    return {
      id: row.id,
      tenantId: row.tenant_id,
      userId: row.user_id,
      username: row.username,
      level: row.level,
      disabled: row.disabled,
      csrfTokenHash: row.csrf_token_hash,
      cookieSecretHash: row.cookie_secret_hash,
      idleExpiresAt: new Date(row.idle_expires_at),
      absoluteExpiresAt: new Date(row.absolute_expires_at),
      lastSeenAt: new Date(row.last_seen_at),
      revokedAt: row.revoked_at ? new Date(row.revoked_at) : null,
      roles: grants.roleNames,
      permissions: grants.permissions,
      roleIds: grants.roleIds,
      userCreatedAt: new Date(row.user_created_at),
      userUpdatedAt: new Date(row.user_updated_at),
    };
  },

  async insert(tx, session) {
    await tx.insert(SessionSchema, { ...session, lastSeenAt: session.createdAt });
  },

  async touch(tx, sessionId, seenAt, idleExpiresAt) {
    await tx.nativeUpdate(SessionSchema, { id: sessionId }, { lastSeenAt: seenAt, idleExpiresAt });
  },

  async lockRefreshState(tx, sessionId) {
    const row = await tx.findOne(SessionSchema, { id: sessionId }, { ...fresh, lockMode: LockMode.PESSIMISTIC_WRITE });
    if (!row) return undefined;
    return {
      refreshTokenHash: row.refreshTokenHash,
      previousRefreshHashes: [...row.previousRefreshHashes],
      refreshGeneration: row.refreshGeneration,
      revokedAt: row.revokedAt,
    };
  },

  async rotate(tx, sessionId, current, next) {
    await tx.nativeUpdate(
      SessionSchema,
      { id: sessionId },
      {
        refreshTokenHash: next.refreshTokenHash,
        refreshGeneration: current.refreshGeneration + 1,
        previousRefreshHashes: [...current.previousRefreshHashes, current.refreshTokenHash].slice(-keptRefreshHashes),
        lastSeenAt: next.seenAt,
        idleExpiresAt: next.idleExpiresAt,
      },
    );
  },

  async revoke(tx, sessionId, reason) {
    const n = await tx.nativeUpdate(SessionSchema, { id: sessionId, revokedAt: null }, { revokedAt: new Date(), revokedReason: reason });
    return n > 0;
  },

  async revokeUser(tx, userId, reason, except) {
    const where = except === undefined ? { userId, revokedAt: null } : { userId, revokedAt: null, id: { $ne: except } };
    return tx.nativeUpdate(SessionSchema, where, { revokedAt: new Date(), revokedReason: reason });
  },
};
