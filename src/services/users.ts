import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import type { EntityManager } from "@mikro-orm/postgresql";
import { Level, RoomRole } from "../../gen/gatehouse/v1/common_pb.js";
import { UsersService } from "../../gen/gatehouse/v1/users_pb.js";
import type { Principal } from "../context.js";
import type { Deps } from "../deps.js";
import { DomainError, invalidArgument, notFound, permissionDenied, reasonCode, type Reason } from "../domain/errors.js";
import { usernameProblem } from "../domain/names.js";
import { builtInRoles, checkPermissionKey } from "../domain/permissions.js";
import { hashPassword, passwordProblem, verifyPassword } from "../auth/passwords.js";
import { createLoginGuard } from "../auth/login-guard.js";
import { lockTargetUser } from "../store/user-targets.js";
import { callerNow, pgArrayLiteral, requireAssignableLevel, requireHeld, requireOutranks, requireUserPrincipal } from "./grants.js";
import { afterCommit, auditNoteOf, inCallerTenant, pageOf, pageToken, principalOf, transactionOf } from "./support.js";
import { userMessage, userRows, type UserRow } from "./user-view.js";

/** maxRolesPerRequest bounds role_ids of CreateUser and SetUserRoles (users.proto's max_items). */
const maxRolesPerRequest = 100;

/** requireLevel refuses LEVEL_UNSPECIFIED and numbers that are no Level. */
function requireLevel(field: string, level: number): Level {
  if (!Number.isInteger(level) || level < Level.GUEST || level > Level.SUPERGOD) {
    throw invalidArgument(field, "must be LEVEL_GUEST, LEVEL_USER, LEVEL_ADMIN, LEVEL_GOD or LEVEL_SUPERGOD", Level[level] ?? String(level));
  }
  return level as Level;
}

/** requireRoleIds validates and de-duplicates role ids. */
function requireRoleIds(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

interface RoleGrant {
  id: string;
  name: string;
  permissions: string[];
}

/** rolesByIds reads the tenant's roles with these ids; one missing (or another tenant's) is NOT_FOUND. */
async function rolesByIds(em: EntityManager, ids: readonly string[]): Promise<RoleGrant[]> {
  if (ids.length === 0) return [];
  const rows = (await em.execute("select id, name, permissions from roles where id = any(?::uuid[])", [pgArrayLiteral(ids)])) as RoleGrant[];
  if (rows.length !== ids.length) throw notFound("role");
  return rows;
}

/** lockUser reads a user of the tenant for update; NOT_FOUND when missing or another tenant's. */
async function lockUser(em: EntityManager, id: string): Promise<{ id: string; username: string; level: number; disabled: boolean }> {
  const rows = (await em.execute("select id, username, level, disabled from users where id = ? for update", [id])) as Array<{ id: string; username: string; level: number; disabled: boolean }>;
  if (!rows[0]) throw notFound("user");
  return rows[0];
}

async function readUser(em: EntityManager, id: string): Promise<UserRow> {
  const [row] = await userRows(em, "u.id = ?", [id]);
  if (!row) throw notFound("user");
  return row;
}

/** refuseSelf refuses, for everyone including SUPERGOD, to change one's own level, disabled flag or existence. */
function refuseSelf(principal: Principal, id: string, what: string): void {
  if (id === principal.userId) {
    throw permissionDenied("LEVEL_TOO_LOW", `you can't ${what} yourself`, { layer: "level", field: "user_id" });
  }
}

/** CheckInput is one permission check (CheckPermission or an item of CheckPermissions). */
interface CheckInput {
  permission: string;
  userId?: string;
  roomId?: string;
}

/** Holder is a user whose permissions a check evaluates. */
interface Holder {
  userId: string;
  level: number;
  disabled: boolean;
  permissions: ReadonlySet<string>;
}

const viewerKeys = new Set(builtInRoles.find((r) => r.name === "viewer")!.permissions);
const editorKeys = new Set(builtInRoles.find((r) => r.name === "editor")!.permissions);

/**
 * roomRoleFor answers the room role a permission needs inside a room: the
 * keys of the built-in `viewer` role need ROOM_ROLE_VIEWER, the rest of
 * `editor`'s ROOM_ROLE_EDITOR, every other key ROOM_ROLE_ADMIN — the same
 * mapping that gives room tokens the built-in roles' permissions.
 */
export function roomRoleFor(permission: string): RoomRole {
  if (viewerKeys.has(permission)) return RoomRole.VIEWER;
  if (editorKeys.has(permission)) return RoomRole.EDITOR;
  return RoomRole.ADMIN;
}

/** CheckResult is the answer to one check. */
interface CheckResult {
  allowed: boolean;
  reason: Reason | "";
}

/**
 * evaluate answers one check from a user's effective permissions. Deny by
 * default: a malformed or unknown key answers UNKNOWN_PERMISSION, a disabled
 * user USER_DISABLED, a key no role grants PERMISSION_DENIED (and, in a room,
 * a room role below roomRoleFor(key) ROOM_ROLE_REQUIRED: see check).
 */
function evaluate(permission: string, holder: Holder): CheckResult {
  if (checkPermissionKey(permission) !== undefined) return { allowed: false, reason: "UNKNOWN_PERMISSION" };
  if (holder.disabled) return { allowed: false, reason: "USER_DISABLED" };
  if (!holder.permissions.has(permission)) return { allowed: false, reason: "PERMISSION_DENIED" };
  return { allowed: true, reason: "" };
}

/**
 * createUsersService implements UsersService.
 *
 * The level hierarchy (docs/concepts.md), enforced against the caller's level and
 * permissions as read inside the call's own transaction:
 * - a caller manages (updates, deletes, re-roles) only users strictly below
 *   their own level, and gives only levels strictly below it; equal-level
 *   peers are refused like superiors. SUPERGOD is exempt from both rules.
 * - nobody, SUPERGOD included, changes their own level or disabled flag or
 *   deletes themselves (no self-lockout of the platform operator either);
 *   SetUserRoles on oneself is refused except for SUPERGOD (it follows from
 *   the first rule: one's own level is not below one's own level).
 * - nobody grants a role holding a permission key they don't hold
 *   themselves (roles the target already holds are not a grant).
 * Every refusal is PERMISSION_DENIED (LEVEL_TOO_LOW, or PERMISSION_DENIED
 * naming the key) and is audited as DENIED by the audit interceptor.
 *
 * Disabling or deleting a user revokes their sessions in the same
 * transaction; role and level changes drop cached session state on every
 * replica once committed (sessions.invalidateUser), so a change bites within
 * a second everywhere.
 */
export function createUsersService(deps: Deps): ServiceImpl<typeof UsersService> {
  const passwordFailures = deps.limiters({
    name: "password-change-fail",
    points: deps.config.lockoutUserFailures,
    durationSeconds: deps.config.lockoutUserWindowSeconds,
  });
  // The same counters as AuthService's guard (limiters of one spec share them).
  const loginGuard = createLoginGuard(deps.limiters, deps.config);

  /** holdersOf reads other users' disabled flag and effective permissions; a missing one is NOT_FOUND. */
  const holdersOf = async (ctx: HandlerContext, ids: readonly string[]) => {
    const rows = await inCallerTenant(ctx, deps, async (em) =>
      (await em.execute(
        `select u.id, u.level, u.disabled,
                array(select distinct p from user_roles ur join roles r on r.id = ur.role_id, unnest(r.permissions) p
                       where ur.user_id = u.id) as permissions
           from users u where u.id = any(?::uuid[])`,
        [pgArrayLiteral(ids)],
      )) as Array<{ id: string; level: number; disabled: boolean; permissions: string[] }>,
    );
    if (rows.length !== ids.length) throw notFound("user");
    return new Map<string, Holder>(rows.map((r) => [r.id, { userId: r.id, level: r.level, disabled: r.disabled, permissions: new Set(r.permissions) }]));
  };

  /**
   * check runs permission checks. The caller's own checks are answered from
   * the session's permissions without a database round trip; checking anyone
   * else needs `users.read`. With `room_id`, the user's role in the room
   * (RoomAccess: membership, tenant admins as room admins, a room token's
   * role) must also reach roomRoleFor(permission); a room that doesn't exist
   * in the tenant is NOT_FOUND.
   */
  const check = async (ctx: HandlerContext, checks: readonly CheckInput[]): Promise<CheckResult[]> => {
    const principal = principalOf(ctx);
    const others = new Set<string>();
    const inputs = checks.map((c) => {
      const roomId = c.roomId !== undefined && c.roomId !== "" ? c.roomId.toLowerCase() : undefined;
      if (c.userId === undefined || c.userId === "") return { roomId, userId: undefined };
      const id = c.userId.toLowerCase();
      if (id === principal.userId) return { roomId, userId: undefined };
      if (!principal.permissions.has("users.read")) {
        throw permissionDenied("PERMISSION_DENIED", "checking another user needs users.read", { permission: "users.read", layer: "role" });
      }
      others.add(id);
      return { roomId, userId: id };
    });
    const holders = others.size > 0 ? await holdersOf(ctx, [...others]) : new Map<string, Holder>();
    const self: Holder = { userId: principal.userId, level: principal.level, disabled: false, permissions: principal.permissions };
    const roomRoles = new Map<string, Promise<RoomRole | undefined>>();
    const roomRoleOf = (holder: Holder, roomId: string) => {
      const key = `${holder.userId}:${roomId}`;
      let role = roomRoles.get(key);
      if (!role) {
        const subject: Principal =
          holder === self ? principal : { ...principal, userId: holder.userId, username: "", level: holder.level, sessionId: "", permissions: holder.permissions, roles: [], via: "bearer", roomToken: undefined };
        role = deps.rooms.roleOf(subject, roomId);
        roomRoles.set(key, role);
      }
      return role;
    };
    return Promise.all(
      checks.map(async (c, i) => {
        const { roomId, userId } = inputs[i]!;
        const holder = userId === undefined ? self : holders.get(userId)!;
        const role = roomId === undefined ? undefined : await roomRoleOf(holder, roomId);
        if (roomId !== undefined && role === undefined) throw notFound("room");
        const result = evaluate(c.permission, holder);
        if (result.allowed && role !== undefined && role < roomRoleFor(c.permission)) return { allowed: false, reason: "ROOM_ROLE_REQUIRED" };
        return result;
      }),
    );
  };

  return {
    async createUser(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.create";
      note.details = { username: req.username.slice(0, 64), level: Level[req.level] ?? req.level, roleIds: req.roleIds.slice(0, maxRolesPerRequest) };
      const nameProblem = usernameProblem(req.username);
      if (nameProblem) throw invalidArgument("username", nameProblem, req.username.slice(0, 64));
      const pwProblem = passwordProblem(req.password);
      if (pwProblem) throw invalidArgument("password", pwProblem);
      const level = requireLevel("level", req.level);
      const roleIds = requireRoleIds(req.roleIds);
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      requireAssignableLevel(caller, level);
      const roles = await rolesByIds(tx, roleIds);
      requireHeld(caller, roles.flatMap((r) => r.permissions), "role_ids");
      const passwordHash = await hashPassword(req.password);
      const [created] = (await tx.execute(
        "insert into users (tenant_id, username, password_hash, level) values (?, ?, ?, ?) returning id",
        [principal.tenantId, req.username, passwordHash, level],
      )) as Array<{ id: string }>;
      const id = created!.id;
      note.resource = `user:${id}`;
      for (const role of roles) {
        await tx.execute("insert into user_roles (tenant_id, user_id, role_id) values (?, ?, ?)", [principal.tenantId, id, role.id]);
      }
      return { user: userMessage(await readUser(tx, id)) };
    },

    async getUser(req, ctx) {
      const id = req.userId.toLowerCase();
      return { user: userMessage(await inCallerTenant(ctx, deps, (em) => readUser(em, id))) };
    },

    async listUsers(req, ctx) {
      const { limit, after } = pageOf(req);
      const rows = await inCallerTenant(ctx, deps, (em) =>
        after === undefined
          ? userRows(em, "true", [limit + 1], "order by u.username limit ?")
          : userRows(em, "u.username > ?", [after, limit + 1], "order by u.username limit ?"),
      );
      const page = rows.slice(0, limit);
      return { users: page.map(userMessage), nextPageToken: rows.length > limit ? pageToken(page[page.length - 1]!.username) : "" };
    },

    async updateUser(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.update";
      const id = req.userId.toLowerCase();
      note.resource = `user:${id}`;
      note.details = {
        ...(req.level !== undefined ? { level: Level[req.level] ?? req.level } : {}),
        ...(req.disabled !== undefined ? { disabled: req.disabled } : {}),
      };
      const level = req.level === undefined ? undefined : requireLevel("level", req.level);
      refuseSelf(principal, id, "change");
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      const target = await lockUser(tx, id);
      // The record carries the name it touched, so the audit log still names the user once deleted.
      note.details = { ...note.details, username: target.username };
      requireOutranks(caller, target.level);
      if (level !== undefined) requireAssignableLevel(caller, level);
      const newLevel = level ?? target.level;
      const disabled = req.disabled ?? target.disabled;
      if (newLevel !== target.level || disabled !== target.disabled) {
        await tx.execute("update users set level = ?, disabled = ?, updated_at = now() where id = ?", [newLevel, disabled, id]);
        if (disabled && !target.disabled) {
          // Disabling ends every session at once, on every replica.
          await deps.sessions.revokeUser(tx, id, "user disabled");
        }
        // Once committed, every replica drops the user's cached session state.
        afterCommit(ctx, () => deps.sessions.invalidateUser(principal.tenantId, id));
      }
      return { user: userMessage(await readUser(tx, id)) };
    },

    async deleteUser(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.delete";
      const id = req.userId.toLowerCase();
      note.resource = `user:${id}`;
      refuseSelf(principal, id, "delete");
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      const target = await lockUser(tx, id);
      requireOutranks(caller, target.level);
      const [row] = await userRows(tx, "u.id = ?", [id]);
      note.details = { username: row?.username, level: Level[target.level] };
      await deps.sessions.revokeUser(tx, id, "user deleted");
      afterCommit(ctx, () => deps.sessions.invalidateUser(principal.tenantId, id));
      // Sessions, role grants and room memberships go with the user (foreign keys cascade).
      await tx.execute("delete from users where id = ?", [id]);
      return {};
    },

    async setUserRoles(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.set_roles";
      const id = req.userId.toLowerCase();
      note.resource = `user:${id}`;
      const roleIds = requireRoleIds(req.roleIds);
      note.details = { roleIds };
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      const target = await lockUser(tx, id);
      requireOutranks(caller, target.level);
      const roles = await rolesByIds(tx, roleIds);
      const current = new Set(
        ((await tx.execute("select role_id from user_roles where user_id = ?", [id])) as Array<{ role_id: string }>).map((r) => r.role_id),
      );
      const added = roles.filter((r) => !current.has(r.id));
      const removed = [...current].filter((r) => !roleIds.includes(r));
      requireHeld(caller, added.flatMap((r) => r.permissions), "role_ids");
      note.details = { username: target.username, roleIds, added: added.map((r) => r.name), removed };
      if (removed.length > 0) await tx.execute("delete from user_roles where user_id = ? and role_id = any(?::uuid[])", [id, pgArrayLiteral(removed)]);
      for (const role of added) {
        await tx.execute("insert into user_roles (tenant_id, user_id, role_id) values (?, ?, ?)", [principal.tenantId, id, role.id]);
      }
      if (added.length > 0 || removed.length > 0) {
        await tx.execute("update users set updated_at = now() where id = ?", [id]);
        afterCommit(ctx, () => deps.sessions.invalidateUser(principal.tenantId, id));
      }
      return { user: userMessage(await readUser(tx, id)) };
    },

    async unlockUser(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.unlock";
      const id = req.userId.toLowerCase();
      note.resource = `user:${id}`;
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      const target = await lockTargetUser(tx, id);
      if (!target) throw notFound("user");
      requireOutranks(caller, target.level);
      const passwordKey = `${principal.tenantId}:${id}`;
      const loginLocked = await loginGuard.locked(target.tenantName, target.username);
      const passwordState = await passwordFailures.get(passwordKey);
      const wasLocked = loginLocked || (passwordState !== undefined && passwordState.consumed >= deps.config.lockoutUserFailures);
      note.details = { username: target.username, wasLocked };
      // Cleared once the call (and its audit record) has committed: a call that fails leaves the lockout as it was.
      afterCommit(ctx, async () => {
        await loginGuard.unlock(target.tenantName, target.username);
        await passwordFailures.reset(passwordKey);
      });
      return { wasLocked };
    },

    async resetUserPassword(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.reset_password";
      const id = req.userId.toLowerCase();
      note.resource = `user:${id}`;
      // Not oneself, SUPERGOD included: ChangePassword, which asks for the old password, is for that.
      refuseSelf(principal, id, "reset the password of");
      const problem = passwordProblem(req.newPassword);
      if (problem) throw invalidArgument("new_password", problem);
      const tx = transactionOf(ctx);
      const caller = await callerNow(tx, principal);
      const target = await lockUser(tx, id);
      requireOutranks(caller, target.level);
      await tx.execute("update users set password_hash = ?, updated_at = now() where id = ?", [await hashPassword(req.newPassword), id]);
      // Every session of the user ends at once, on every replica once committed.
      const revoked = (await tx.execute(
        "update sessions set revoked_at = now(), revoked_reason = 'password reset' where user_id = ? and revoked_at is null returning id",
        [id],
      )) as unknown[];
      afterCommit(ctx, () => deps.sessions.invalidateUser(principal.tenantId, id));
      note.details = { username: target.username, level: Level[target.level], sessionsRevoked: revoked.length };
      return { sessionsRevoked: revoked.length };
    },

    async changePassword(req, ctx) {
      const principal = principalOf(ctx);
      const note = auditNoteOf(ctx);
      note.action = "users.change_password";
      note.resource = `user:${principal.userId}`;
      requireUserPrincipal(principal);
      if (req.oldPassword === "") throw invalidArgument("old_password", "is required");
      const problem = passwordProblem(req.newPassword);
      if (problem) throw invalidArgument("new_password", problem);
      if (req.newPassword === req.oldPassword) throw invalidArgument("new_password", "must differ from the old password");
      const key = `${principal.tenantId}:${principal.userId}`;
      const state = await passwordFailures.get(key);
      if (state && state.consumed >= deps.config.lockoutUserFailures) {
        throw new DomainError("resource_exhausted", "RATE_LIMITED", "too many wrong passwords, try again later", { retryAfterSeconds: state.retryAfterSeconds });
      }
      const tx = transactionOf(ctx);
      const rows = (await tx.execute("select password_hash, disabled from users where id = ? for update", [principal.userId])) as Array<{ password_hash: string; disabled: boolean }>;
      const row = rows[0];
      if (!row || row.disabled) throw new DomainError("unauthenticated", "UNAUTHENTICATED", "session ended");
      if (!(await verifyPassword(row.password_hash, req.oldPassword))) {
        const counted = await passwordFailures.penalty(key);
        if (!counted.ok) await passwordFailures.block(key, deps.config.lockoutUserDurationSeconds);
        throw permissionDenied("INVALID_CREDENTIALS", "old_password is wrong", { field: "old_password" });
      }
      await passwordFailures.reset(key);
      await tx.execute("update users set password_hash = ?, updated_at = now() where id = ?", [await hashPassword(req.newPassword), principal.userId]);
      // Every other session of the caller ends; this one goes on.
      await tx.execute(
        "update sessions set revoked_at = now(), revoked_reason = 'password changed' where user_id = ? and id <> ? and revoked_at is null",
        [principal.userId, principal.sessionId],
      );
      afterCommit(ctx, () => deps.sessions.invalidateUser(principal.tenantId, principal.userId));
      return {};
    },

    async checkPermission(req, ctx) {
      const [result] = await check(ctx, [req]);
      return { ...result!, reasonCode: reasonCode(result!.reason) };
    },

    async checkPermissions(req, ctx) {
      const results = await check(ctx, req.checks);
      return { results: results.map((r, i) => ({ ...r, reasonCode: reasonCode(r.reason), permission: req.checks[i]!.permission })) };
    },
  };
}
