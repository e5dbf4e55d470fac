import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import { hashPassword, passwordProblem } from "../../auth/passwords.js";
import { invalidArgument, notFound } from "../../domain/errors.js";
import { refuseSelf, requireAssignableLevel, requireHeld, requireOutranks } from "../../domain/grant-rules.js";
import { usernameProblem } from "../../domain/names.js";
import type { GrantedRole, UserRecord, UsersStore } from "../../store/users.js";
import type { Tx } from "../../store/tx.js";
import { outcome, type Call, type Outcome } from "../call.js";
import { callerNow } from "./caller.js";
import type { UserUseCaseDeps } from "./deps.js";

/**
 * User management under the level hierarchy (docs/concepts.md), enforced
 * against the caller's level and permissions as read inside the call's own
 * transaction:
 * - a caller manages (updates, deletes, re-roles) only users strictly below
 *   their own level, and gives only levels strictly below it; equal-level
 *   peers are refused like superiors. SUPERGOD is exempt from both rules.
 * - nobody, SUPERGOD included, changes their own level or disabled flag or
 *   deletes themselves; SetUserRoles on oneself is refused except for
 *   SUPERGOD (one's own level is not below one's own level).
 * - nobody grants a role holding a permission key they don't hold
 *   themselves (roles the target already holds are not a grant).
 * Disabling or deleting a user revokes their sessions in the same
 * transaction; role and level changes drop cached session state on every
 * replica once committed.
 */

/** requireLevel refuses LEVEL_UNSPECIFIED and numbers that are no Level. */
export function requireLevel(field: string, level: number): Level {
  if (!Number.isInteger(level) || level < Level.GUEST || level > Level.SUPERGOD) {
    throw invalidArgument(field, "must be LEVEL_GUEST, LEVEL_USER, LEVEL_ADMIN, LEVEL_GOD or LEVEL_SUPERGOD", Level[level] ?? String(level));
  }
  return level as Level;
}

/** distinctIds lower-cases and de-duplicates ids. */
export function distinctIds(ids: readonly string[]): string[] {
  return [...new Set(ids.map((id) => id.toLowerCase()))];
}

/** rolesByIds reads the tenant's roles with these ids; one missing (or another tenant's) is NOT_FOUND. */
async function rolesByIds(users: UsersStore, tx: Tx, ids: readonly string[]): Promise<GrantedRole[]> {
  const roles = await users.rolesByIds(tx, ids);
  if (roles.length !== ids.length) throw notFound("role");
  return roles;
}

async function lockTarget(users: UsersStore, tx: Tx, id: string) {
  const target = await users.lock(tx, id);
  if (!target) throw notFound("user");
  return target;
}

async function readUser(users: UsersStore, tx: Tx, id: string): Promise<UserRecord> {
  const user = await users.get(tx, id);
  if (!user) throw notFound("user");
  return user;
}

/** CreateUserInput is a new user's name, password, level and roles. */
export interface CreateUserInput {
  username: string;
  password: string;
  level: number;
  roleIds: readonly string[];
}

/** createUser creates a user below the caller's level with roles whose keys the caller holds. */
export async function createUser(deps: Pick<UserUseCaseDeps, "users">, call: Call, input: CreateUserInput): Promise<Outcome<UserRecord>> {
  const nameProblem = usernameProblem(input.username);
  if (nameProblem) throw invalidArgument("username", nameProblem, input.username.slice(0, 64));
  const pwProblem = passwordProblem(input.password);
  if (pwProblem) throw invalidArgument("password", pwProblem);
  const level = requireLevel("level", input.level);
  const roleIds = distinctIds(input.roleIds);
  const user = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, call.principal);
    requireAssignableLevel(caller, level);
    const roles = await rolesByIds(deps.users, tx, roleIds);
    requireHeld(caller, roles.flatMap((r) => r.permissions), "role_ids");
    const passwordHash = await hashPassword(input.password);
    const id = await deps.users.create(tx, { tenantId: call.principal.tenantId, username: input.username, passwordHash, level });
    await deps.users.grant(tx, call.principal.tenantId, id, roles.map((r) => r.id));
    return readUser(deps.users, tx, id);
  });
  return outcome(user, { resource: `user:${user.id}` });
}

/** UpdateUserInput changes a user's level and/or disabled flag. */
export interface UpdateUserInput {
  userId: string;
  level?: number;
  disabled?: boolean;
}

/** updateUser changes the level or disabled flag of a user below the caller; disabling ends their sessions. */
export async function updateUser(deps: UserUseCaseDeps, call: Call, input: UpdateUserInput): Promise<Outcome<UserRecord>> {
  const { principal } = call;
  const id = input.userId.toLowerCase();
  const level = input.level === undefined ? undefined : requireLevel("level", input.level);
  refuseSelf(principal.userId, id, "change");
  const { user, username } = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, principal);
    const target = await lockTarget(deps.users, tx, id);
    requireOutranks(caller, target.level);
    if (level !== undefined) requireAssignableLevel(caller, level);
    const newLevel = level ?? target.level;
    const disabled = input.disabled ?? target.disabled;
    if (newLevel !== target.level || disabled !== target.disabled) {
      await deps.users.update(tx, id, { level: newLevel, disabled });
      // Disabling ends every session at once, on every replica.
      if (disabled && !target.disabled) await deps.sessions.revokeUser(tx, id, "user disabled");
      // Once committed, every replica drops the user's cached session state.
      call.afterCommit(() => deps.sessionCaches.invalidateUser(principal.tenantId, id));
    }
    return { user: await readUser(deps.users, tx, id), username: target.username };
  });
  // The record carries the name it touched, so the audit log still names the user once deleted.
  return outcome(user, { resource: `user:${id}`, details: { username } });
}

/** deleteUser deletes a user below the caller; sessions, grants and memberships go with it. */
export async function deleteUser(deps: UserUseCaseDeps, call: Call, input: { userId: string }): Promise<Outcome<void>> {
  const { principal } = call;
  const id = input.userId.toLowerCase();
  refuseSelf(principal.userId, id, "delete");
  const details = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, principal);
    const target = await lockTarget(deps.users, tx, id);
    requireOutranks(caller, target.level);
    await deps.sessions.revokeUser(tx, id, "user deleted");
    call.afterCommit(() => deps.sessionCaches.invalidateUser(principal.tenantId, id));
    // Sessions, role grants and room memberships go with the user (foreign keys cascade).
    await deps.users.delete(tx, id);
    return { username: target.username, level: Level[target.level] };
  });
  return outcome(undefined, { resource: `user:${id}`, details });
}

/** SetUserRolesInput is the full set of roles a user should hold. */
export interface SetUserRolesInput {
  userId: string;
  roleIds: readonly string[];
}

/** setUserRoles replaces the roles of a user below the caller; only added roles count as grants. */
export async function setUserRoles(deps: UserUseCaseDeps, call: Call, input: SetUserRolesInput): Promise<Outcome<UserRecord>> {
  const { principal } = call;
  const id = input.userId.toLowerCase();
  const roleIds = distinctIds(input.roleIds);
  const { user, username, added, removed } = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, principal);
    const target = await lockTarget(deps.users, tx, id);
    requireOutranks(caller, target.level);
    const roles = await rolesByIds(deps.users, tx, roleIds);
    const current = new Set(await deps.users.roleIdsOf(tx, id));
    const added = roles.filter((r) => !current.has(r.id));
    const removed = [...current].filter((r) => !roleIds.includes(r));
    requireHeld(caller, added.flatMap((r) => r.permissions), "role_ids");
    await deps.users.revoke(tx, id, removed);
    await deps.users.grant(tx, principal.tenantId, id, added.map((r) => r.id));
    if (added.length > 0 || removed.length > 0) {
      await deps.users.touch(tx, id);
      call.afterCommit(() => deps.sessionCaches.invalidateUser(principal.tenantId, id));
    }
    return { user: await readUser(deps.users, tx, id), username: target.username, added, removed };
  });
  return outcome(user, { resource: `user:${id}`, details: { username, roleIds, added: added.map((r) => r.name), removed } });
}
