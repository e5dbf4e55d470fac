import type { ServiceImpl } from "@connectrpc/connect";
import { Level } from "../../gen/gatehouse/v1/common_pb.js";
import { UsersService } from "../../gen/gatehouse/v1/users_pb.js";
import { checkPermissions } from "../app/users/check-permissions.js";
import type { SessionCaches } from "../app/users/deps.js";
import { createUser, deleteUser, distinctIds, setUserRoles, updateUser } from "../app/users/manage-users.js";
import { changePassword, resetUserPassword, unlockUser, type PasswordDeps } from "../app/users/passwords.js";
import { getUser, listUsers } from "../app/users/read-users.js";
import { createLoginGuard } from "../auth/login-guard.js";
import type { Deps } from "../deps.js";
import { reasonCode } from "../domain/errors.js";
import type { SessionsStore } from "../store/sessions.js";
import type { UsersStore } from "../store/users.js";
import { answer, callOf } from "./call.js";
import { requestFacts } from "./request-facts.js";
import { pageOf, pageToken } from "./support.js";
import { userMessage } from "./user-view.js";

/** maxRolesPerRequest bounds role_ids of CreateUser and SetUserRoles (users.proto's max_items). */
const maxRolesPerRequest = 100;

/** UsersServiceDeps are what UsersService uses. */
export interface UsersServiceDeps extends Pick<Deps, "config" | "limiters" | "rooms"> {
  users: UsersStore;
  sessionsStore: SessionsStore;
  sessionCaches: SessionCaches;
}

/**
 * createUsersService implements UsersService over the user use cases
 * (src/app/users/): the level hierarchy, the grant rule and permission
 * checks live there. Every refusal is PERMISSION_DENIED (LEVEL_TOO_LOW, or
 * PERMISSION_DENIED naming the key) and is audited as DENIED by the audit
 * interceptor, with the target named by the request.
 */
export function createUsersService(deps: UsersServiceDeps): ServiceImpl<typeof UsersService> {
  const app: PasswordDeps = {
    users: deps.users,
    sessions: deps.sessionsStore,
    sessionCaches: deps.sessionCaches,
    passwordFailures: deps.limiters({
      name: "password-change-fail",
      points: deps.config.lockoutUserFailures,
      durationSeconds: deps.config.lockoutUserWindowSeconds,
    }),
    // The same counters as AuthService's guard (limiters of one spec share them).
    loginGuard: createLoginGuard(deps.limiters, deps.config),
    lockout: { failures: deps.config.lockoutUserFailures, durationSeconds: deps.config.lockoutUserDurationSeconds },
  };
  const checks = { users: deps.users, rooms: deps.rooms };
  const target = (userId: string) => `user:${userId.toLowerCase()}`;

  return {
    async createUser(req, ctx) {
      requestFacts(ctx, { details: { username: req.username.slice(0, 64), level: Level[req.level] ?? req.level, roleIds: req.roleIds.slice(0, maxRolesPerRequest) } });
      return { user: userMessage(answer(ctx, await createUser(app, callOf(ctx), req))) };
    },

    async getUser(req, ctx) {
      return { user: userMessage(await getUser(app, callOf(ctx), req)) };
    },

    async listUsers(req, ctx) {
      const page = await listUsers(app, callOf(ctx), pageOf(req));
      return { users: page.users.map(userMessage), nextPageToken: pageToken(page.nextAfter) };
    },

    async updateUser(req, ctx) {
      requestFacts(ctx, {
        resource: target(req.userId),
        details: {
          ...(req.level !== undefined ? { level: Level[req.level] ?? req.level } : {}),
          ...(req.disabled !== undefined ? { disabled: req.disabled } : {}),
        },
      });
      return { user: userMessage(answer(ctx, await updateUser(app, callOf(ctx), req))) };
    },

    async deleteUser(req, ctx) {
      requestFacts(ctx, { resource: target(req.userId) });
      answer(ctx, await deleteUser(app, callOf(ctx), req));
      return {};
    },

    async setUserRoles(req, ctx) {
      requestFacts(ctx, { resource: target(req.userId), details: { roleIds: distinctIds(req.roleIds) } });
      return { user: userMessage(answer(ctx, await setUserRoles(app, callOf(ctx), req))) };
    },

    async unlockUser(req, ctx) {
      requestFacts(ctx, { resource: target(req.userId) });
      return answer(ctx, await unlockUser(app, callOf(ctx), req));
    },

    async resetUserPassword(req, ctx) {
      requestFacts(ctx, { resource: target(req.userId) });
      return answer(ctx, await resetUserPassword(app, callOf(ctx), req));
    },

    async changePassword(req, ctx) {
      const call = callOf(ctx);
      requestFacts(ctx, { resource: `user:${call.principal.userId}` });
      answer(ctx, await changePassword(app, call, req));
      return {};
    },

    async checkPermission(req, ctx) {
      const [result] = await checkPermissions(checks, callOf(ctx), [req]);
      return { ...result!, reasonCode: reasonCode(result!.reason) };
    },

    async checkPermissions(req, ctx) {
      const results = await checkPermissions(checks, callOf(ctx), req.checks);
      return { results: results.map((r, i) => ({ ...r, reasonCode: reasonCode(r.reason), permission: req.checks[i]!.permission })) };
    },
  };
}
