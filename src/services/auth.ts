import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import { AuthService, JwkSchema } from "../../gen/gatehouse/v1/auth_pb.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument } from "../domain/errors.js";
import { burnPasswordCheck, verifyPassword } from "../auth/passwords.js";
import { setCookieHeaders } from "../auth/cookies.js";
import { createLoginGuard } from "../auth/login-guard.js";
import { printable } from "../auth/login-audit.js";
import { auditNoteOf, requestInfoOf } from "./support.js";
import { userMessage } from "./user-view.js";
import { answer, callOf } from "./call.js";
import { logout } from "../app/sessions/logout.js";
import { findUser } from "../app/users/read-users.js";
import type { SessionsStore } from "../store/sessions.js";
import type { UsersStore } from "../store/users.js";
import { recordAuditIn } from "../audit/record.js";
import { serverInfo } from "./server-info.js";

/** controlCharacter finds characters no tenant or username holds (and PostgreSQL text cannot hold NUL). */
const controlCharacter = /[\u0000-\u001f\u007f]/;

const invalidCredentials = () => new DomainError("unauthenticated", "INVALID_CREDENTIALS", "invalid tenant, username or password");

/** AuthServiceDeps are what AuthService uses. */
export interface AuthServiceDeps extends Pick<Deps, "config" | "limiters" | "loginAudit" | "db" | "sessions" | "tokens" | "jwks"> {
  users: UsersStore;
  sessionsStore: SessionsStore;
}

/**
 * createAuthService implements AuthService: Login (with lockout, identical
 * answers for unknown users), rotating Refresh, Logout, WhoAmI and GetJwks.
 * Login stays in the handler: it runs before there is a principal or a call
 * scope, in the tenant the request names, and its audit facts (tenant,
 * actor) are ones a use case's Outcome cannot carry.
 */

export function createAuthService(deps: AuthServiceDeps): ServiceImpl<typeof AuthService> {
  const guard = createLoginGuard(deps.limiters, deps.config);
  return {
    async login(req, ctx) {
      const info = requestInfoOf(ctx);
      const note = auditNoteOf(ctx);
      const username = printable(req.username, 64);
      note.action = "auth.login";
      note.resource = `user:${username}`;
      note.actorName = username;
      let tenant: string | undefined;
      let user: { id: string; passwordHash: string; disabled: boolean } | undefined;
      try {
        if (req.tenant === "" || req.username === "" || req.password === "") {
          throw invalidArgument(req.tenant === "" ? "tenant" : req.username === "" ? "username" : "password", "is required");
        }
        if (req.tenant.length > 128 || req.username.length > 128 || req.password.length > 1024) {
          throw invalidArgument(req.tenant.length > 128 ? "tenant" : req.username.length > 128 ? "username" : "password", "too long");
        }
        if (controlCharacter.test(req.tenant) || controlCharacter.test(req.username)) {
          throw invalidArgument(controlCharacter.test(req.tenant) ? "tenant" : "username", "must not contain control characters");
        }
        await guard.admit(req.tenant, req.username, info.ip);
        tenant = await deps.loginAudit.tenantIdOf(req.tenant);
        user = tenant
          ? await deps.db.inTenant(tenant, (tx) => deps.users.credentialsByUsername(tx, req.username))
          : undefined;
        // Same work and same answer whether the tenant or user exists or not.
        const ok = user ? await verifyPassword(user.passwordHash, req.password) : (await burnPasswordCheck(req.password), false);
        if (!tenant || !user || !ok || user.disabled) {
          await guard.failed(req.tenant, req.username, info.ip);
          throw invalidCredentials();
        }
      } catch (err) {
        // Every refused attempt is recorded (by the audit interceptor, in the
        // chain note.tenantId names), up to the bound; past it, a summary.
        const where = await deps.loginAudit.refused({ tenantName: req.tenant, username: req.username, ip: info.ip, tenantId: tenant });
        if (where) {
          note.tenantId = where.tenantId;
          note.details = { ...note.details, ...where.details };
          if (user && where.tenantId === tenant) note.actorId = user.id;
        }
        throw err;
      }
      note.tenantId = tenant;
      await guard.succeeded(req.tenant, req.username);
      note.actorId = user.id;
      const browser = ctx.requestHeader.has("origin") || ctx.requestHeader.has("sec-fetch-mode");
      const { started, row } = await deps.db.inTenant(tenant, async (em) => {
        const started = await deps.sessions.start(em, { tenantId: tenant, userId: user.id, ip: info.ip, userAgent: info.userAgent, browser });
        const row = await deps.users.get(em, user.id);
        // The session commits with its audit record or not at all.
        note.details = { sessionId: started.sessionId, browser };
        await recordAuditIn(ctx, em);
        return { started, row: row! };
      });
      const access = await deps.tokens.issue({ userId: user.id, tenantId: tenant, level: row.level, sessionId: started.sessionId });
      if (started.cookieToken && started.csrfToken) {
        for (const cookie of setCookieHeaders({
          session: started.cookieToken,
          csrf: started.csrfToken,
          maxAgeSeconds: deps.config.sessionAbsoluteSeconds,
          secure: deps.config.secureCookies,
        })) ctx.responseHeader.append("set-cookie", cookie);
      }
      return {
        accessToken: access.token,
        refreshToken: started.refreshToken,
        expiresAt: timestampFromDate(access.expiresAt),
        user: userMessage(row),
        csrfToken: started.csrfToken ?? "",
        sessionExpiresAt: timestampFromDate(started.absoluteExpiresAt),
      };
    },

    async refresh(req) {
      if (req.refreshToken === "") throw invalidArgument("refresh_token", "is required");
      const outcome = await deps.sessions.rotate(req.refreshToken);
      if ("error" in outcome) {
        throw new DomainError("unauthenticated", outcome.error === "reused" ? "REFRESH_TOKEN_REUSED" : "UNAUTHENTICATED", "refresh token invalid, expired or already used");
      }
      const { state, started } = outcome;
      const access = await deps.tokens.issue({ userId: state.userId, tenantId: state.tenantId, level: state.level, sessionId: state.sessionId });
      return { accessToken: access.token, refreshToken: started.refreshToken, expiresAt: timestampFromDate(access.expiresAt) };
    },

    async logout(_req, ctx) {
      answer(ctx, await logout({ sessions: deps.sessionsStore, sessionCaches: deps.sessions }, callOf(ctx)));
      for (const cookie of setCookieHeaders({ clear: true, secure: deps.config.secureCookies })) ctx.responseHeader.append("set-cookie", cookie);
      return {};
    },

    async whoAmI(_req, ctx) {
      const call = callOf(ctx);
      const { principal } = call;
      // A session's principal carries its user's row (cached and invalidated with the session).
      const { account } = principal;
      const user = account
        ? { id: principal.userId, tenantId: principal.tenantId, username: principal.username, level: principal.level, disabled: account.disabled, createdAt: account.createdAt, updatedAt: account.updatedAt, roleIds: [...account.roleIds], roleNames: [...principal.roles] }
        : await findUser(deps, call, { userId: principal.userId });
      if (!user) throw invalidCredentials();
      return {
        user: userMessage(user),
        tenantId: principal.tenantId,
        level: principal.level,
        roles: [...principal.roles],
        permissions: [...principal.permissions].sort(),
        sessionExpiresAt: principal.sessionExpiresAt ? timestampFromDate(principal.sessionExpiresAt) : undefined,
      };
    },

    getServerInfo() {
      return serverInfo(deps.config);
    },

    async getJwks() {
      const { keys } = await deps.jwks();
      return { keys: keys.map((k) => create(JwkSchema, k as Record<string, string>)) };
    },
  };
}
