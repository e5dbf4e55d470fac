import type { Principal } from "../context.js";
import { DomainError } from "../domain/errors.js";
import type { Authenticator } from "../interceptors/authn.js";
import type { AccessTokens } from "./access-tokens.js";
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
  };
}

/**
 * createAuthenticator resolves bearer access tokens (signature cached,
 * session state checked on every call so logout and disable bite within a
 * second), `gh_session` cookies (with the CSRF check on mutating calls) and,
 * when given, legacy room tokens.
 */
export function createAuthenticator(tokens: AccessTokens, sessions: SessionManager, roomTokens?: RoomTokenResolver): Authenticator {
  return {
    async authenticate({ header, mutates, message }) {
      const authorization = header.get("authorization");
      if (authorization !== null) {
        const m = /^Bearer ([A-Za-z0-9._~+/=-]+)$/.exec(authorization);
        if (!m) throw bad("malformed authorization header");
        const claims = await tokens.verify(m[1]!);
        if (!claims) throw bad("invalid or expired access token");
        const state = await sessions.load(claims.tid, claims.sid);
        if (!state || !state.valid || state.userId !== claims.sub) throw bad("session ended");
        return principalOf(state, "bearer");
      }
      const cookie = readCookie(header.get("cookie"), sessionCookie);
      if (cookie !== undefined) {
        const state = await sessions.resolveCookie(cookie);
        if (!state || !state.valid) throw bad("session ended");
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
        const principal = await roomTokens(roomToken, message);
        if (!principal) throw bad("invalid room token");
        return principal;
      }
      return undefined;
    },
  };
}
