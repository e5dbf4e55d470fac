import type { Principal } from "../context.js";
import { DomainError } from "../domain/errors.js";
import type { Authenticator } from "../interceptors/authn.js";
import type { AccessTokens } from "./access-tokens.js";
import type { AuthFailureLimit } from "./failure-limit.js";
import { readCookie, sessionCookie } from "./cookies.js";
import { sameSecret } from "./secrets.js";
import type { SessionManager, SessionState } from "./sessions.js";

/** RoomTokenResolver resolves an `x-room-token` for the request's room (rooms issue). */
export type RoomTokenResolver = (token: string, message: unknown) => Promise<Principal | undefined>;

const bad = (message: string) => new DomainError("unauthenticated", "UNAUTHENTICATED", message);

function principalOf(state: SessionState, via: Principal["via"]): Principal {
  return {
    userId: state.userId,
    username: state.username,
    tenantId: state.tenantId,
    level: state.level,
    sessionId: state.sessionId,
    permissions: state.permissions,
    roles: state.roles,
    via,
    sessionExpiresAt: state.absoluteExpiresAt,
    account: state.account,
  };
}

/** RoomTokens are what the authenticator needs of the room-token resolver. */
export interface RoomTokens {
  resolve: RoomTokenResolver;
  /** knows tells, without the database, whether the request's room is already known to this replica. */
  knows(message: unknown): boolean;
}

/** AuthenticatorOptions are the authenticator's optional parts. */
export interface AuthenticatorOptions {
  /** roomTokens resolves legacy `x-room-token` credentials. */
  roomTokens?: RoomTokens;
  /** failures bounds failed authentication per client network; unset → unbounded (unit tests). */
  failures?: AuthFailureLimit;
}

const unbounded: AuthFailureLimit = {
  async fail(_ip, error) {
    throw error;
  },
  async reserve() {
    return { release: async () => undefined };
  },
};

/**
 * createAuthenticator resolves bearer access tokens (signature cached,
 * session state checked on every call so logout and disable bite within a
 * second), `gh_session` cookies (with the CSRF check on mutating calls) and,
 * when given, legacy room tokens.
 *
 * Every failure counts against the client network's failed-authentication
 * limit (`failures`). A credential is checked without the database first
 * (a token's signature and claims, a cookie's shape and MAC, a room token's
 * shape and room id): one that fails there never reaches the database. One
 * that only the database can judge (a cookie without our MAC, a room token
 * for a room this replica has not met) reserves a failure before the lookup,
 * so past the limit it is refused without one, and gets it back if valid.
 * Credentials proven genuine offline never consult the limit: a client over
 * it still gets in with them.
 */
export function createAuthenticator(tokens: AccessTokens, sessions: SessionManager, options: AuthenticatorOptions = {}): Authenticator {
  const failures = options.failures ?? unbounded;
  const roomTokens = options.roomTokens;

  /** checked runs a database check of a credential, counting its failure (once, with a reservation). */
  const checked = async <T>(ip: string, provenOffline: boolean, check: () => Promise<T>): Promise<T> => {
    const reservation = provenOffline ? undefined : await failures.reserve(ip);
    let result: T;
    try {
      result = await check();
    } catch (err) {
      if (err instanceof DomainError && err.kind === "unauthenticated") {
        if (!reservation) await failures.fail(ip, err);
        throw err;
      }
      await reservation?.release();
      throw err;
    }
    await reservation?.release();
    return result;
  };

  return {
    async authenticate({ header, mutates, message, ip }) {
      const authorization = header.get("authorization");
      if (authorization !== null) {
        const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization);
        if (!m) return failures.fail(ip, bad("malformed authorization header"));
        const claims = await tokens.verify(m[1]!);
        if (!claims) return failures.fail(ip, bad("invalid or expired access token"));
        // Signed by us: the session lookup is for a token we issued.
        return checked(ip, true, async () => {
          const state = await sessions.load(claims.tid, claims.sid);
          if (!state || !state.valid || state.userId !== claims.sub) throw bad("session ended");
          return principalOf(state, "bearer");
        });
      }
      const cookie = readCookie(header.get("cookie"), sessionCookie);
      if (cookie !== undefined) {
        const shape = sessions.cookieShape(cookie);
        if (shape === "malformed") return failures.fail(ip, bad("malformed session cookie"));
        const state = await checked(ip, shape === "genuine", async () => {
          const state = await sessions.resolveCookie(cookie);
          if (!state || !state.valid) throw bad("session ended");
          return state;
        });
        if (mutates) {
          const csrf = header.get("x-csrf-token");
          if (!csrf || !sameSecret(csrf, state.csrfTokenHash)) {
            throw new DomainError("permission_denied", "CSRF_REQUIRED", "x-csrf-token header missing or wrong for a cookie session");
          }
        }
        return principalOf(state, "cookie");
      }
      const roomToken = header.get("x-room-token");
      if (roomToken !== null && roomTokens) {
        return checked(ip, roomTokens.knows(message), async () => {
          const principal = await roomTokens.resolve(roomToken, message);
          if (!principal) throw bad("invalid room token");
          return principal;
        });
      }
      return undefined;
    },
    refuseAnonymous(ip) {
      return failures.fail(ip, bad("credentials required"));
    },
  };
}
