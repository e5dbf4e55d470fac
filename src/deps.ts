import type { Config } from "./config.js";
import type { Logger } from "./logger.js";
import type { Metrics } from "./metrics.js";
import type { EntityManager } from "@mikro-orm/postgresql";
import type { Database } from "./store/database.js";
import type { RedisNodes } from "./shared-state/redis-nodes.js";
import type { Bus } from "./shared-state/bus.js";
import type { Limiter, LimiterFactory } from "./shared-state/rate-limiters.js";
import type { HealthMonitor } from "./health/health-monitor.js";
import type { Authenticator } from "./interceptors/authn.js";
import type { RoomAccess } from "./interceptors/authz.js";
import type { AuditStore } from "./interceptors/audit.js";
import type { AccessTokens } from "./auth/access-tokens.js";
import type { SessionManager } from "./auth/sessions.js";
import type { SigningKeyRing } from "./auth/signing-keys.js";
import type { Kek } from "./auth/kek.js";
import type { LoginAudit } from "./auth/login-audit.js";
import type { LockManager } from "./locks/lock-manager.js";
import type { SandboxPool } from "./sandbox/index.js";
import type { NetFetcher } from "./macros/net-fetcher.js";
import type { MacroCache } from "./macros/macro-cache.js";
import type { EffectivePolicies } from "./policies/effective-policy.js";
import type { RuleCache } from "./rules/rule-cache.js";

/**
 * Deps is the one bundle of dependencies every part of Gatehouse receives.
 * There are no module-level singletons: a test builds its own Deps with its
 * own database, Redis prefix and configuration.
 */
export interface Deps {
  config: Config;
  logger: Logger;
  metrics: Metrics;
  db: Database;
  /** redis is undefined in embedded mode (in-process locks, limits, bus). */
  redis: RedisNodes | undefined;
  bus: Bus;
  limiters: LimiterFactory;
  ipLimiter: Limiter;
  principalLimiter: Limiter;
  /** checkLimiter is the per-principal budget of CheckPermission/CheckPermissions (GATEHOUSE_CHECK_RATE_LIMIT_PER_MINUTE). */
  checkLimiter: Limiter;
  health: HealthMonitor;
  authenticator: Authenticator;
  rooms: RoomAccess;
  /** policies reads policy layers and computes effective policies (cached; the sandbox calls it per run). */
  policies: EffectivePolicies;
  /** rules answers each tenant's compiled rule index (cached; the sandbox calls it per host action). */
  rules: RuleCache;
  audit: AuditStore<EntityManager>;
  /** locks holds editing leases (Redlock over Redis, or in-process), fencing tokens from Postgres. */
  locks: LockManager;
  /** macroCache keeps just-run macros for a second, cleared on the bus when a room's macros change. */
  macroCache: MacroCache;
  /** sandbox runs macros in a pool of QuickJS worker threads. */
  sandbox: SandboxPool;
  /** netFetch is the SSRF-guarded fetch of `gatehouse:net` (the same guard as repo sync). */
  netFetch: NetFetcher;
  tokens: AccessTokens;
  sessions: SessionManager;
  /** loginAudit bounds the audit records of refused logins (summaries past the bound). */
  loginAudit: LoginAudit;
  /** kek seals secrets stored in the database (GATEHOUSE_KEK, or the embedded data directory's `kek`). */
  kek: Kek;
  /** signingKeys is the ring of access-token signing keys, kept current across replicas. */
  signingKeys: SigningKeyRing;
  /** jwks answers the public keys that verify access tokens (GET /.well-known/jwks.json). */
  jwks(): Promise<{ keys: object[] }>;
  /** shutdownSignal aborts when the server starts shutting down. */
  shutdownSignal: AbortSignal;
}
