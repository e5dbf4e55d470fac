import type { Interceptor } from "@connectrpc/connect";
import { kPrincipal, kRequestInfo } from "../context.js";
import { DomainError } from "../domain/errors.js";
import type { Limiter } from "../shared-state/rate-limiters.js";
import { isInfrastructure } from "./authn.js";

function refuse(retryAfterSeconds: number, what: string): DomainError {
  return new DomainError("resource_exhausted", "RATE_LIMITED", `rate limit exceeded for this ${what}, retry later`, { retryAfterSeconds });
}

function carriesCredentials(header: Headers): boolean {
  return header.has("authorization") || header.has("x-room-token") || (header.get("cookie") ?? "").includes("gh_session=");
}

/**
 * createIpRateLimitInterceptor limits calls that carry no credentials per
 * client IP (before any authentication or database work).
 */
export function createIpRateLimitInterceptor(limiter: Limiter): Interceptor {
  return (next) => async (req) => {
    if (isInfrastructure(req.service.typeName) || carriesCredentials(req.header)) return next(req);
    const result = await limiter.consume(`ip:${req.contextValues.get(kRequestInfo).ip}`);
    if (!result.ok) throw refuse(result.retryAfterSeconds, "client address");
    return next(req);
  };
}

/** decisionMethods are the permission checks, counted against their own budget (GATEHOUSE_CHECK_RATE_LIMIT_PER_MINUTE). */
const decisionMethods = new Set(["gatehouse.v1.UsersService/CheckPermission", "gatehouse.v1.UsersService/CheckPermissions"]);

/**
 * createPrincipalRateLimitInterceptor limits calls per authenticated
 * principal, across replicas when the limiter is Redis-backed. Permission
 * checks count one per call against `checkLimiter` (when given) instead.
 */
export function createPrincipalRateLimitInterceptor(limiter: Limiter, checkLimiter?: Limiter): Interceptor {
  return (next) => async (req) => {
    const principal = req.contextValues.get(kPrincipal);
    if (!principal) return next(req);
    const isDecision = checkLimiter !== undefined && decisionMethods.has(`${req.service.typeName}/${req.method.name}`);
    const result = await (isDecision ? checkLimiter : limiter).consume(`user:${principal.tenantId}:${principal.userId}`);
    if (!result.ok) throw refuse(result.retryAfterSeconds, "user");
    return next(req);
  };
}
