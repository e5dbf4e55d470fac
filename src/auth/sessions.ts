import type { Database } from "../store/database.js";
import { ormSessionsStore, type SessionView, type SessionsStore } from "../store/sessions.js";
import type { Tx } from "../store/tx.js";
import type { Bus } from "../shared-state/bus.js";
import type { Logger } from "../logger.js";
import type { AccountSnapshot } from "../context.js";
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
  /** account is the user's row (WhoAmI), read with the rest. */
  account: AccountSnapshot;
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
  start(tx: Tx, input: { tenantId: string; userId: string; ip: string; userAgent: string; browser: boolean }): Promise<StartedSession>;
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
  revoke(tx: Tx, sessionId: string, reason: string): Promise<void>;
  /** revokeUser ends every session of a user inside the caller's transaction; call invalidateUser after commit. */
  revokeUser(tx: Tx, userId: string, reason: string): Promise<void>;
  /** invalidateSession drops a session's cached state everywhere (after its revocation committed). */
  invalidateSession(tenantId: string, sessionId: string): Promise<void>;
  /** invalidateUser drops cached state of a user's sessions everywhere (roles or level changed). */
  invalidateUser(tenantId: string, userId: string): Promise<void>;
  /** invalidateTenant drops every cached session of a tenant (a role's permissions changed). */
  invalidateTenant(tenantId: string): Promise<void>;
  close(): void;
}

/** createSessionManager builds the manager over the database and bus. */
export function createSessionManager(
  db: Database,
  bus: Bus,
  times: SessionTimes,
  logger: Logger,
  now: () => number = Date.now,
  store: SessionsStore = ormSessionsStore,
): SessionManager {
  const cache = new Map<string, { state: SessionState | undefined; loadedAt: number }>();
  const cookieKey = times.cookieKey ?? Buffer.from(newSecret(), "base64url");

  // Loads in flight, one per session: when a second's cache entry expires under
  // load, the calls waiting on that session share one database read instead of
  // each starting a transaction. An invalidation forgets them, so no call that
  // arrives after it joins a read made before it (nor is that read cached).
  const loading = new Map<string, Promise<SessionState | undefined>>();
  const unsubscribe = bus.subscribe(channel, (message) => {
    const [kind, tenantId, id] = message.split(":");
    loading.clear();
    if (kind === "session" && id) cache.delete(id);
    for (const [sid, entry] of cache) {
      if (!entry.state) continue;
      if (kind === "user" && entry.state.tenantId === tenantId && entry.state.userId === id) cache.delete(sid);
      if (kind === "tenant" && entry.state.tenantId === tenantId) cache.delete(sid);
    }
  });

  const toState = (row: SessionView): SessionState => {
    const t = now();
    const valid = !row.revokedAt && !row.disabled && row.idleExpiresAt.getTime() > t && row.absoluteExpiresAt.getTime() > t;
    return {
      sessionId: row.id,
      tenantId: row.tenantId,
      userId: row.userId,
      username: row.username,
      level: row.level,
      roles: row.roles,
      permissions: row.permissions,
      csrfTokenHash: row.csrfTokenHash,
      cookieSecretHash: row.cookieSecretHash,
      idleExpiresAt: row.idleExpiresAt,
      absoluteExpiresAt: row.absoluteExpiresAt,
      lastSeenAt: row.lastSeenAt,
      valid,
      account: { roleIds: row.roleIds, disabled: row.disabled, createdAt: row.userCreatedAt, updatedAt: row.userUpdatedAt },
    };
  };

  const fetchState = async (tx: Tx, sessionId: string): Promise<SessionState | undefined> => {
    const view = await store.view(tx, sessionId);
    return view ? toState(view) : undefined;
  };

  const load = async (tenantId: string, sessionId: string): Promise<SessionState | undefined> => {
    const hit = cache.get(sessionId);
    const t = now();
    if (hit && t - hit.loadedAt < cacheTtlMs && (!hit.state || hit.state.tenantId === tenantId)) return hit.state;
    const flightKey = `${tenantId.toLowerCase()}:${sessionId}`;
    let flight = loading.get(flightKey);
    if (!flight) {
      flight = read(tenantId, sessionId, t);
      loading.set(flightKey, flight);
      const settled = flight;
      void settled.then(
        (state) => {
          // Cached only when no invalidation came while it was read.
          if (loading.get(flightKey) !== settled) return;
          loading.delete(flightKey);
          if (cache.size > 50_000) cache.clear();
          cache.set(sessionId, { state, loadedAt: t });
        },
        () => {
          if (loading.get(flightKey) === settled) loading.delete(flightKey);
        },
      );
    }
    const state = await flight;
    return state?.tenantId === tenantId ? state : undefined;
  };

  const read = (tenantId: string, sessionId: string, t: number): Promise<SessionState | undefined> =>
    db.inTenant(tenantId, async (em) => {
      const s = await fetchState(em, sessionId);
      if (s?.valid && t - s.lastSeenAt.getTime() > touchEveryMs) {
        // Sliding idle timeout, written at most once a minute per session.
        const idle = new Date(Math.min(t + times.idleSeconds * 1000, s.absoluteExpiresAt.getTime()));
        await store.touch(em, sessionId, new Date(t), idle);
        s.idleExpiresAt = idle;
        s.lastSeenAt = new Date(t);
      }
      return s;
    });

  const publish = (message: string) => bus.publish(channel, message);

  return {
    async start(tx, { tenantId, userId, ip, userAgent, browser }) {
      const t = now();
      const sessionId = randomUUID();
      const refreshSecret = newSecret();
      const cookieSecret = browser ? newMacSecret(cookieKey, "ghs", tenantId, sessionId) : undefined;
      const csrfToken = browser ? newSecret() : undefined;
      const absolute = new Date(t + times.absoluteSeconds * 1000);
      const idle = new Date(Math.min(t + times.idleSeconds * 1000, absolute.getTime()));
      await store.insert(tx, {
        id: sessionId,
        tenantId,
        userId,
        refreshTokenHash: hashSecret(refreshSecret),
        csrfTokenHash: csrfToken ? hashSecret(csrfToken) : null,
        cookieSecretHash: cookieSecret ? hashSecret(cookieSecret) : null,
        ip: ip.slice(0, 64),
        userAgent: userAgent.slice(0, 256),
        createdAt: new Date(t),
        idleExpiresAt: idle,
        absoluteExpiresAt: absolute,
      });
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
        const row = await store.lockRefreshState(em, cred.sessionId);
        if (!row) return { error: "invalid" as const };
        if (!sameSecret(cred.secret, row.refreshTokenHash)) {
          if (row.previousRefreshHashes.includes(presentedHash)) {
            // An old refresh token came back: someone kept a copy. End the session.
            await store.revoke(em, cred.sessionId, "refresh token reused");
            return { error: "reused" as const };
          }
          return { error: "invalid" as const };
        }
        const state = await fetchState(em, cred.sessionId);
        if (!state || !state.valid) return { error: "expired" as const };
        const secret = newSecret();
        const t = now();
        const idle = new Date(Math.min(t + times.idleSeconds * 1000, state.absoluteExpiresAt.getTime()));
        await store.rotate(em, cred.sessionId, row, { refreshTokenHash: hashSecret(secret), seenAt: new Date(t), idleExpiresAt: idle });
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

    async revoke(tx, sessionId, reason) {
      await store.revoke(tx, sessionId, reason);
    },

    async revokeUser(tx, userId, reason) {
      await store.revokeUser(tx, userId, reason);
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
