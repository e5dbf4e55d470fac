import { Level } from "../../../gen/gatehouse/v1/common_pb.js";
import type { LoginGuard } from "../../auth/login-guard.js";
import { hashPassword, passwordProblem, verifyPassword } from "../../auth/passwords.js";
import { DomainError, invalidArgument, notFound, permissionDenied } from "../../domain/errors.js";
import { refuseSelf, requireOutranks } from "../../domain/grant-rules.js";
import type { Limiter } from "../../shared-state/rate-limiters.js";
import { outcome, type Call, type Outcome } from "../call.js";
import { callerNow, requireUserPrincipal } from "./caller.js";
import type { UserUseCaseDeps } from "./deps.js";

/** PasswordDeps add the lockout counters to the user use cases' deps. */
export interface PasswordDeps extends UserUseCaseDeps {
  /** passwordFailures counts wrong old passwords of ChangePassword per user. */
  passwordFailures: Limiter;
  /** loginGuard holds the login lockouts (the same counters as AuthService's). */
  loginGuard: Pick<LoginGuard, "locked" | "unlock">;
  lockout: { failures: number; durationSeconds: number };
}

/** passwordFailureKey keys ChangePassword's failure counter of a user. */
const passwordFailureKey = (tenantId: string, userId: string) => `${tenantId}:${userId}`;

/**
 * resetUserPassword sets the password of a user below the caller (never
 * oneself: ChangePassword, which asks for the old one, is for that) and
 * ends every session of theirs.
 */
export async function resetUserPassword(
  deps: UserUseCaseDeps,
  call: Call,
  input: { userId: string; newPassword: string },
): Promise<Outcome<{ sessionsRevoked: number }>> {
  const { principal } = call;
  const id = input.userId.toLowerCase();
  refuseSelf(principal.userId, id, "reset the password of");
  const problem = passwordProblem(input.newPassword);
  if (problem) throw invalidArgument("new_password", problem);
  const { level, username, sessionsRevoked } = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, principal);
    const target = await deps.users.lock(tx, id);
    if (!target) throw notFound("user");
    requireOutranks(caller, target.level);
    await deps.users.setPasswordHash(tx, id, await hashPassword(input.newPassword));
    // Every session of the user ends at once, on every replica once committed.
    const sessionsRevoked = await deps.sessions.revokeUser(tx, id, "password reset");
    call.afterCommit(() => deps.sessionCaches.invalidateUser(principal.tenantId, id));
    return { level: target.level, username: target.username, sessionsRevoked };
  });
  return outcome({ sessionsRevoked }, { resource: `user:${id}`, details: { username, level: Level[level], sessionsRevoked } });
}

/**
 * changePassword sets the caller's own password given the old one; wrong old
 * passwords count towards a lockout. Every other session of the caller ends.
 */
export async function changePassword(deps: PasswordDeps, call: Call, input: { oldPassword: string; newPassword: string }): Promise<Outcome<void>> {
  const { principal } = call;
  requireUserPrincipal(principal);
  if (input.oldPassword === "") throw invalidArgument("old_password", "is required");
  const problem = passwordProblem(input.newPassword);
  if (problem) throw invalidArgument("new_password", problem);
  if (input.newPassword === input.oldPassword) throw invalidArgument("new_password", "must differ from the old password");
  const key = passwordFailureKey(principal.tenantId, principal.userId);
  const state = await deps.passwordFailures.get(key);
  if (state && state.consumed >= deps.lockout.failures) {
    throw new DomainError("resource_exhausted", "RATE_LIMITED", "too many wrong passwords, try again later", { retryAfterSeconds: state.retryAfterSeconds });
  }
  await call.inTx(async (tx) => {
    const row = await deps.users.lockCredentials(tx, principal.userId);
    if (!row || row.disabled) throw new DomainError("unauthenticated", "UNAUTHENTICATED", "session ended");
    if (!(await verifyPassword(row.passwordHash, input.oldPassword))) {
      const counted = await deps.passwordFailures.penalty(key);
      if (!counted.ok) await deps.passwordFailures.block(key, deps.lockout.durationSeconds);
      throw permissionDenied("INVALID_CREDENTIALS", "old_password is wrong", { field: "old_password" });
    }
    await deps.passwordFailures.reset(key);
    await deps.users.setPasswordHash(tx, principal.userId, await hashPassword(input.newPassword));
    // Every other session of the caller ends; this one goes on.
    await deps.sessions.revokeUser(tx, principal.userId, "password changed", principal.sessionId);
    call.afterCommit(() => deps.sessionCaches.invalidateUser(principal.tenantId, principal.userId));
  });
  return outcome(undefined, { resource: `user:${principal.userId}` });
}

/**
 * unlockUser clears the login and password lockouts of a user below the
 * caller, once the call (and its audit record) has committed: a call that
 * fails leaves the lockout as it was.
 */
export async function unlockUser(deps: PasswordDeps, call: Call, input: { userId: string }): Promise<Outcome<{ wasLocked: boolean }>> {
  const { principal } = call;
  const id = input.userId.toLowerCase();
  const { wasLocked, username } = await call.inTx(async (tx) => {
    const caller = await callerNow(deps.users, tx, principal);
    const target = await deps.users.lockTarget(tx, id);
    if (!target) throw notFound("user");
    requireOutranks(caller, target.level);
    const passwordKey = passwordFailureKey(principal.tenantId, id);
    const loginLocked = await deps.loginGuard.locked(target.tenantName, target.username);
    const passwordState = await deps.passwordFailures.get(passwordKey);
    const wasLocked = loginLocked || (passwordState !== undefined && passwordState.consumed >= deps.lockout.failures);
    call.afterCommit(async () => {
      await deps.loginGuard.unlock(target.tenantName, target.username);
      await deps.passwordFailures.reset(passwordKey);
    });
    return { wasLocked, username: target.username };
  });
  return outcome({ wasLocked }, { resource: `user:${id}`, details: { username, wasLocked } });
}
