import type { Config } from "../config.js";
import { DomainError } from "../domain/errors.js";
import type { LimiterFactory } from "../shared-state/rate-limiters.js";

/**
 * LoginGuard protects Login: a rate limit per client IP, a lockout per
 * tenant+username after repeated failures and a block per IP after many
 * failures (docs/concepts.md). Counters live in Redis when configured, so every
 * replica counts together.
 */
export interface LoginGuard {
  /** admit throws RESOURCE_EXHAUSTED (LOGIN_LOCKED or RATE_LIMITED) with a retry delay. */
  admit(tenant: string, username: string, ip: string): Promise<void>;
  failed(tenant: string, username: string, ip: string): Promise<void>;
  succeeded(tenant: string, username: string): Promise<void>;
  /** locked says whether the account is locked out now (UsersService.UnlockUser). */
  locked(tenant: string, username: string): Promise<boolean>;
  /** unlock clears the account's failure count and lockout (UsersService.UnlockUser). */
  unlock(tenant: string, username: string): Promise<void>;
}

/** createLoginGuard builds the guard from configuration. */
export function createLoginGuard(limiters: LimiterFactory, config: Config): LoginGuard {
  const perIpRate = limiters({ name: "login-ip", points: config.loginRateLimitPerMinute, durationSeconds: 60 });
  const userFailures = limiters({ name: "login-fail-user", points: config.lockoutUserFailures, durationSeconds: config.lockoutUserWindowSeconds });
  const ipFailures = limiters({ name: "login-fail-ip", points: config.lockoutIpFailures, durationSeconds: config.lockoutIpWindowSeconds });
  const userKey = (tenant: string, username: string) => `${tenant.toLowerCase()}\u0000${username.toLowerCase()}`;
  const locked = (retryAfterSeconds: number) =>
    new DomainError("resource_exhausted", "LOGIN_LOCKED", "too many failed logins, try again later", { retryAfterSeconds });
  return {
    async admit(tenant, username, ip) {
      const ipState = await ipFailures.get(ip);
      if (ipState && ipState.consumed >= config.lockoutIpFailures) throw locked(ipState.retryAfterSeconds);
      const userState = await userFailures.get(userKey(tenant, username));
      if (userState && userState.consumed >= config.lockoutUserFailures) throw locked(userState.retryAfterSeconds);
      const rate = await perIpRate.consume(ip);
      if (!rate.ok) {
        throw new DomainError("resource_exhausted", "RATE_LIMITED", "too many logins from this address, retry later", { retryAfterSeconds: rate.retryAfterSeconds });
      }
    },
    async failed(tenant, username, ip) {
      const key = userKey(tenant, username);
      const user = await userFailures.penalty(key);
      if (!user.ok) await userFailures.block(key, config.lockoutUserDurationSeconds);
      await ipFailures.penalty(ip);
    },
    async succeeded(tenant, username) {
      await userFailures.reset(userKey(tenant, username));
    },
    async locked(tenant, username) {
      const state = await userFailures.get(userKey(tenant, username));
      return state !== undefined && state.consumed >= config.lockoutUserFailures;
    },
    async unlock(tenant, username) {
      await userFailures.reset(userKey(tenant, username));
    },
  };
}
