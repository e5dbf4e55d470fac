import type { Interceptor } from "@connectrpc/connect";
import type { Logger } from "../logger.js";
import type { Metrics } from "../metrics.js";
import type { Limiter } from "../shared-state/rate-limiters.js";
import { createAuditInterceptor, createUnitOfWorkInterceptor, type AuditStore } from "./audit.js";
import { createAuthnInterceptor, type Authenticator } from "./authn.js";
import { createAuthzInterceptor, type RoomAccess } from "./authz.js";
import { createErrorInterceptor } from "./errors.js";
import { createIpRateLimitInterceptor, createPrincipalRateLimitInterceptor } from "./rate-limit.js";
import { createRequestLogInterceptor } from "./request-log.js";
import { createValidationInterceptor } from "./validate.js";

/** InterceptorDeps are what the chain needs. */
export interface InterceptorDeps<Tx> {
  logger: Logger;
  metrics: Metrics;
  ipLimiter: Limiter;
  principalLimiter: Limiter;
  authenticator: Authenticator;
  rooms: RoomAccess;
  audit: AuditStore<Tx>;
}

/**
 * createInterceptors orders the chain, outermost first: request id and
 * logging → error mapping → rate limit (IP, before any auth work) →
 * validation (the request's `buf.validate` rules) → authentication → rate limit (principal) → audit → authorization →
 * unit of work (transaction + audit record) → handler.
 */
export function createInterceptors<Tx>(deps: InterceptorDeps<Tx>): Interceptor[] {
  return [
    createRequestLogInterceptor(deps.logger, deps.metrics),
    createErrorInterceptor(),
    createIpRateLimitInterceptor(deps.ipLimiter),
    createValidationInterceptor(),
    createAuthnInterceptor(deps.authenticator),
    createPrincipalRateLimitInterceptor(deps.principalLimiter),
    createAuditInterceptor(deps.audit, deps.logger),
    createAuthzInterceptor(deps.rooms),
    createUnitOfWorkInterceptor(deps.audit, deps.logger),
  ];
}
