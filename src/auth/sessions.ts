import type { EntityManager } from "@mikro-orm/postgresql";
import type { Database } from "../store/database.js";
import type { Bus } from "../shared-state/bus.js";
import type { Logger } from "../logger.js";
import { randomUUID } from "node:crypto";
import { formatCredential, hasValidMac, hashSecret, newMacSecret, newSecret, parseCredential, sameSecret } from "./secrets.js";

/** SessionState is what a call needs to know about its session, user and roles. */
export interface SessionState {
  sessionId: string;
  tenantId: string;
  userId: string;
  username: string;
  level: number;
  roles: string[];
  permissions: ReadonlySet<string>;
  csrfTokenHash: string | null;
  cookieSecretHash: string | null;
  idleExpiresAt: Date;
  absoluteExpiresAt: Date;
  lastSeenAt: Date;
  /** valid is false when revoked, expired or the user is disabled. */
  valid: boolean;
}

/** StartedSession holds the secrets of a new or rotated session, shown once. */
export interface StartedSession {
  sessionId: string;
  refreshToken: string;
  cookieToken?: string;
  csrfToken?: string;
  absoluteExpiresAt: Date;
}

/** SessionTimes are the idle and absolute lifetimes. */
export interface SessionTimes {
  idleSeconds: number;
  absoluteSeconds: number;
  /** cookieKey MACs session cookies (derived from the shared KEK); unset → random per process. */
  cookieKey?: Uint8Array;
}

const channel = "sessions";
const cacheTtlMs = 1000;
const touchEveryMs = 60_000;

/**
 * SessionManager keeps sessions in Postgres and a one-second cache of their
 * state per replica. Revocations and user/role changes are broadcast on the
 * bus so every replica drops its cached state at once; the one-second TTL
 * bounds staleness even if a broadcast is lost.
 */
export interface SessionManager {
  start(em: EntityManager, input: { tenantId: string; userId: string; ip: string; userAgent: string; browser: boolean }): Promise<StartedSession>;
  /** rotate exchanges a refresh token for a new one; reuse of an old one revokes the session. */
  rotate(refreshToken: string): Promise<{ state: SessionState; started: StartedSession } | { error: "invalid" | "reused" | "expired" }>;
  load(tenantId: string, sessionId: string): Promise<SessionState | undefined>;
  /** resolveCookie checks a `gh_session` cookie value and answers its session. */
  resolveCookie(raw: string): Promise<SessionState | undefined>;
  /**
   * cookieShape tells, without the database, what a `gh_session` value is:
   * `malformed` (not our shape: no session can match), `genuine` (made by a
   * replica sharing the KEK: its MAC checks), or `unproven` (our
   * shape without a valid MAC: forged, or made before cookies carried one;
   * only the database can tell).
   */
  cookieShape(raw: string): "malformed" | "genuine" | "unproven";
  /**
   * revoke ends one session inside the caller's transaction. Caches are not
   * touched: call invalidateSession once the transaction has committed, or a
   * replica could reload the session before the revocation is visible.
   */
  revoke(em: EntityManager, sessionId: string, reason: string): Promise<void>;
  /** revokeUser ends every session of a user inside the caller's transaction; call invalidateUser after commit. */
  revokeUser(em: EntityManager, userId: string, reason: string): Promise<void>;
  /** invalidateSession drops a session's cached state everywhere (after its revocation committed). */
  invalidateSession(tenantId: string, sessionId: string): Promise<void>;
  /** invalidateUser drops cached state of a user's sessions everywhere (roles or level changed). */
  invalidateUser(tenantId: string, userId: string): Promise<void>;
  /** invalidateTenant drops every cached session of a tenant (a role's permissions changed). */
  invalidateTenant(tenantId: string): Promise<void>;
  close(): void;
}

interface Row {
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
  roles: string[] | null;
  permissions: string[] | null;
}

const loadSql = `
select s.id, s.tenant_id, s.user_id, u.username, u.level, u.disabled, s.csrf_token_hash, s.cookie_secret_hash,
       s.idle_expires_at, s.absolute_expires_at, s.last_seen_at, s.revoked_at,
       (select coalesce(array_agg(r.name order by r.name), '{}') from user_roles ur join roles r on r.id = ur.role_id where ur.user_id = s.user_id) as roles,
       (select coalesce(array_agg(distinct p), '{}') from user_roles ur join roles r on r.id = ur.role_id, unnest(r.permissions) p where ur.user_id = s.user_id) as permissions
  from sessions s join users u on u.id = s.user_id
 where s.id = ?`;

/** createSessionManager builds the manager over the database and bus. */
export function createSessionManager(db: Database, bus: Bus, times: SessionTimes, logger: Logger, now: () => number = Date.now): SessionManager {
  const cache = new Map<string, { state: SessionState | undefined; loadedAt: number }>();
  const cookieKey = times.cookieKey ?? Buffer.from(newSecret(), "base64url");

  const unsubscribe = bus.subscribe(channel, (message) => {
    const [kind, tenantId, id] = message.split(":");
    if (kind === "session" && id) cache.delete(id);
    for (const [sid, entry] of cache) {
      if (!entry.state) continue;
      if (kind === "user" && entry.state.tenantId === tenantId && entry.state.userId === id) cache.delete(sid);
      if (kind === "tenant" && entry.state.tenantId === tenantId) cache.delete(sid);
    }
  });

  const toState = (row: Row): SessionState => {
    const t = now();
    const valid = !row.revoked_at && !row.disabled && row.idle_expires_at.getTime() > t && row.absolute_expires_at.getTime() > t;
    return {
      sessionId: row.id,
      tenantId: row.tenant_id,
      userId: row.user_id,
      username: row.username,
      level: row.level,
      roles: row.roles ?? [],
      permissions: new Set(row.permissions ?? []),
      csrfTokenHash: row.csrf_token_hash,
      cookieSecretHash: row.cookie_secret_hash,
      idleExpiresAt: new Date(row.idle_expires_at),
      absoluteExpiresAt: new Date(row.absolute_expires_at),
      lastSeenAt: new Date(row.last_seen_at),
      valid,
    };
  };

  const fetchState = async (em: EntityManager, sessionId: string): Promise<SessionState | undefined> => {
    const rows = (await em.execute(loadSql, [sessionId])) as Row[];
    return rows[0] ? toState(rows[0]) : undefined;
  };

  const load = async (tenantId: string, sessionId: string): Promise<SessionState | undefined> => {
    const hit = cache.get(sessionId);
    const t = now();
    if (hit && t - hit.loadedAt < cacheTtlMs && (!hit.state || hit.state.tenantId === tenantId)) return hit.state;
    const state = await db.inTenant(tenantId, async (em) => {
      const s = await fetchState(em, sessionId);
      if (s?.valid && t - s.lastSeenAt.getTime() > touchEveryMs) {
        // Sliding idle timeout, written at most once a minute per session.
        const idle = new Date(Math.min(t + times.idleSeconds * 1000, s.absoluteExpiresAt.getTime()));
        await em.execute("update sessions set last_seen_at = ?, idle_expires_at = ? where id = ?", [new Date(t), idle, sessionId]);
        s.idleExpiresAt = idle;
        s.lastSeenAt = new Date(t);
      }
      return s;
    });
    if (cache.size > 50_000) cache.clear();
    cache.set(sessionId, { state, loadedAt: t });
    return state?.tenantId === tenantId ? state : undefined;
  };

  const publish = (message: string) => bus.publish(channel, message);

  return {
    async start(em, { tenantId, userId, ip, userAgent, browser }) {
      const t = now();
      const sessionId = randomUUID();
      const refreshSecret = newSecret();
      const cookieSecret = browser ? newMacSecret(cookieKey, "ghs", tenantId, sessionId) : undefined;
      const csrfToken = browser ? newSecret() : undefined;
      const absolute = new Date(t + times.absoluteSeconds * 1000);
      const idle = new Date(Math.min(t + times.idleSeconds * 1000, absolute.getTime()));
      await em.execute(
        `insert into sessions (id, tenant_id, user_id, refresh_token_hash, csrf_token_hash, cookie_secret_hash, ip, user_agent, created_at, last_seen_at, idle_expires_at, absolute_expires_at)
         values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        [sessionId, tenantId, userId, hashSecret(refreshSecret), csrfToken ? hashSecret(csrfToken) : null, cookieSecret ? hashSecret(cookieSecret) : null,
          ip.slice(0, 64), userAgent.slice(0, 256), new Date(t), new Date(t), idle, absolute],
      );
      return {
        sessionId,
        refreshToken: formatCredential({ kind: "ghr", tenantId, sessionId, secret: refreshSecret }),
        cookieToken: cookieSecret ? formatCredential({ kind: "ghs", tenantId, sessionId, secret: cookieSecret }) : undefined,
        csrfToken,
        absoluteExpiresAt: absolute,
      };
    },

    async rotate(refreshToken) {
      const cred = parseCredential(refreshToken, "ghr");
      if (!cred) return { error: "invalid" };
      const presentedHash = hashSecret(cred.secret);
      const outcome = await db.inTenant(cred.tenantId, async (em) => {
        const rows = (await em.execute(
          "select refresh_token_hash, previous_refresh_hashes, revoked_at from sessions where id = ? for update",
          [cred.sessionId],
        )) as Array<{ refresh_token_hash: string; previous_refresh_hashes: string[]; revoked_at: Date | null }>;
        const row = rows[0];
        if (!row) return { error: "invalid" as const };
        if (!sameSecret(cred.secret, row.refresh_token_hash)) {
          if (row.previous_refresh_hashes.includes(presentedHash)) {
            // An old refresh token came back: someone kept a copy. End the session.
            await em.execute("update sessions set revoked_at = now(), revoked_reason = 'refresh token reused' where id = ? and revoked_at is null", [cred.sessionId]);
            return { error: "reused" as const };
          }
          return { error: "invalid" as const };
        }
        const state = await fetchState(em, cred.sessionId);
        if (!state || !state.valid) return { error: "expired" as const };
        const secret = newSecret();
        const t = now();
        const idle = new Date(Math.min(t + times.idleSeconds * 1000, state.absoluteExpiresAt.getTime()));
        await em.execute(
          `update sessions set refresh_token_hash = ?, refresh_generation = refresh_generation + 1,
             previous_refresh_hashes = (array_append(previous_refresh_hashes, refresh_token_hash))[greatest(1, cardinality(previous_refresh_hashes) - 30):],
             last_seen_at = ?, idle_expires_at = ? where id = ?`,
          [hashSecret(secret), new Date(t), idle, cred.sessionId],
        );
        state.idleExpiresAt = idle;
        return {
          state,
          started: {
            sessionId: cred.sessionId,
            refreshToken: formatCredential({ kind: "ghr", tenantId: cred.tenantId, sessionId: cred.sessionId, secret }),
            absoluteExpiresAt: state.absoluteExpiresAt,
          },
        };
      });
      if ("error" in outcome && outcome.error === "reused") {
        cache.delete(cred.sessionId);
        await publish(`session:${cred.tenantId}:${cred.sessionId}`);
        logger.warn({ tenantId: cred.tenantId, sessionId: cred.sessionId }, "refresh token reuse: session revoked");
      }
      return outcome;
    },

    load,

    async resolveCookie(raw) {
      const cred = parseCredential(raw, "ghs");
      if (!cred) return undefined;
      const state = await load(cred.tenantId, cred.sessionId);
      if (!state || !sameSecret(cred.secret, state.cookieSecretHash)) return undefined;
      return state;
    },

    cookieShape(raw) {
      const cred = parseCredential(raw, "ghs");
      if (!cred) return "malformed";
      return hasValidMac(cookieKey, cred) ? "genuine" : "unproven";
    },

    async revoke(em, sessionId, reason) {
      await em.execute("update sessions set revoked_at = now(), revoked_reason = ? where id = ? and revoked_at is null", [reason, sessionId]);
    },

    async revokeUser(em, userId, reason) {
      await em.execute("update sessions set revoked_at = now(), revoked_reason = ? where user_id = ? and revoked_at is null", [reason, userId]);
    },

    async invalidateSession(tenantId, sessionId) {
      cache.delete(sessionId);
      await publish(`session:${tenantId}:${sessionId}`);
    },

    async invalidateUser(tenantId, userId) {
      await publish(`user:${tenantId}:${userId}`);
    },

    async invalidateTenant(tenantId) {
      await publish(`tenant:${tenantId}:`);
    },

    close() {
      unsubscribe();
      cache.clear();
    },
  };
}
