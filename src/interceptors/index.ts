import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Limiter } from "../shared-state/rate-limiters.js";
import { createAuditInterceptor, createUnitOfWorkInterceptor, type AuditStore } from "./audit.js";
import { createAuthnInterceptor, type Authenticator } from "./authn.js";
import { createAuthzInterceptor, type RoomAccess } from "./authz.js";
import { createErrorInterceptor } from "./errors.js";
import { createIpRateLimitInterceptor, createPrincipalRateLimitInterceptor } from "./rate-limit.js";
import { createRequestLogInterceptor, type AccessLog } from "./request-log.js";

/** InterceptorDeps are what the chain needs. */
export interface InterceptorDeps<Tx> {
  logger: Logger;
  metrics: Metrics;
  ipLimiter: Limiter;
  principalLimiter: Limiter;
  /** checkLimiter is the separate budget of CheckPermission/CheckPermissions. */
  checkLimiter?: Limiter;
  /** config.accessLog says which calls get an access line (default all). */
  config?: { accessLog: AccessLog };
  authenticator: Authenticator;
  rooms: RoomAccess;
  audit: AuditStore<Tx>;
}

/**
 * createInterceptors orders the chain, outermost first: request id and
 * logging → error mapping → rate limit (IP, before any auth work) →
 * authentication → rate limit (principal) → audit → authorization →
 * unit of work (transaction + audit record) → handler.
 */
export function createInterceptors<Tx>(deps: InterceptorDeps<Tx>): Interceptor[] {
  return [
    createRequestLogInterceptor(deps.logger, deps.metrics, deps.config?.accessLog),
    createErrorInterceptor(),
    createIpRateLimitInterceptor(deps.ipLimiter),
    createAuthnInterceptor(deps.authenticator),
    createPrincipalRateLimitInterceptor(deps.principalLimiter, deps.checkLimiter),
    createAuditInterceptor(deps.audit, deps.logger),
    createAuthzInterceptor(deps.rooms),
    createUnitOfWorkInterceptor(deps.audit, deps.logger),
  ];
}
