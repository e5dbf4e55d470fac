import { fileURLToPath } from "node:url";
import { SANDBOX_WORKER_NICE } from "./sandbox/limits.js";
import { passwordProblem } from "./auth/passwords.js";
import { kekProblem } from "./auth/kek.js";

/** defaultConsoleDir is where the console is built (`npm start` builds it first): dist/console in the package. */
export const defaultConsoleDir = fileURLToPath(new URL("../dist/console", import.meta.url));

/**
 * Config is Gatehouse's configuration, read from `GATEHOUSE_*` environment
 * variables and checked at start.
 */
export interface Config {
  port: number;
  host: string;
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** databaseUrl unset → embedded PGlite in `dataDir`. */
  databaseUrl?: string;
  dataDir: string;
  /** redisUrls empty → in-process locks, rate limits and revocation. */
  redisUrls: string[];
  redisKeyPrefix: string;
  corsOrigins: string[];
  reflection: boolean;
  logLevel: string;
  adminPassword?: string;
  /** readMaxBytes caps one request message (RESOURCE_EXHAUSTED beyond). */
  readMaxBytes: number;
  /** maxTimeoutMs caps the deadline a client may ask for. */
  maxTimeoutMs: number;
  shutdownGraceMs: number;
  healthIntervalMs: number;
  jwtIssuer: string;
  jwtAudience: string;
  /**
   * jwtPrivateKey is an Ed25519 private key (PKCS#8 PEM), imported once as the
   * first signing key when the database has none; signing keys live in the
   * database since (see src/auth/signing-keys.ts).
   */
  jwtPrivateKey?: string;
  /**
   * kek is the key-encryption key (32 bytes, base64) that seals secrets in the
   * database; unset → `<dataDir>/kek` in the embedded mode, required with
   * databaseUrl (the server refuses to start without it).
   */
  kek?: string;
  accessTokenTtlSeconds: number;
  sessionIdleSeconds: number;
  sessionAbsoluteSeconds: number;
  rateLimitPerMinute: number;
  loginRateLimitPerMinute: number;
  /** authFailuresPerMinute bounds failed authentication per client IP (IPv6 per /64), across replicas. */
  authFailuresPerMinute: number;
  lockoutUserFailures: number;
  lockoutUserWindowSeconds: number;
  lockoutUserDurationSeconds: number;
  lockoutIpFailures: number;
  lockoutIpWindowSeconds: number;
  lockMinTtlSeconds: number;
  /** locksPerUser bounds the editing locks one holder may hold at once (LOCK_QUOTA beyond). */
  locksPerUser: number;
  /** locksPerTenant bounds the editing locks a tenant's holders may hold at once (LOCK_QUOTA beyond). */
  locksPerTenant: number;
  trustProxy: boolean;
  /** runsPerSecond caps macro runs per user per second (docs/concepts.md: 10). */
  runsPerSecond: number;
  /** sandboxWorkers is the macro worker-thread pool size. */
  sandboxWorkers: number;
  /** sandboxWorkerNice is the nice value of the macro worker threads (0 = as the event loop). */
  sandboxWorkerNice: number;
  secureCookies: boolean;
  /** consoleDir holds the built admin console served at /console/ (see src/console/build.ts). */
  consoleDir: string;
  // The first hour (issue 16): decisions budget, log format, access lines.
  /** checkRateLimitPerMinute is CheckPermission/CheckPermissions calls per principal per minute, apart from rateLimitPerMinute. */
  checkRateLimitPerMinute: number;
  /** logFormat is "pretty" (human-readable) or "json"; default pretty when stdout is a terminal. */
  logFormat: "json" | "pretty";
  /** accessLog says which calls get an access line: "all", "errors" (calls that failed; default) or "off". */
  accessLog: "all" | "errors" | "off";
}

/** ConfigError lists every problem found in the environment. */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  - ${problems.join("\n  - ")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/**
 * loadConfig reads the configuration from `env`, applying defaults, and
 * throws a ConfigError naming every bad variable.
 */
export function loadConfig(env: Env = process.env, overrides: Partial<Config> = {}): Config {
  const problems: string[] = [];
  const int = (name: string, fallback: number, min: number, max: number): number => {
    const raw = env[`GATEHOUSE_${name}`];
    if (raw === undefined || raw === "") return fallback;
    const value = Number(raw);
    if (!Number.isInteger(value) || value < min || value > max) {
      problems.push(`GATEHOUSE_${name}=${JSON.stringify(raw)}: expected an integer from ${min} to ${max}`);
      return fallback;
    }
    return value;
  };
  const bool = (name: string, fallback: boolean): boolean => {
    const raw = env[`GATEHOUSE_${name}`];
    if (raw === undefined || raw === "") return fallback;
    if (/^(1|true|yes|on)$/i.test(raw)) return true;
    if (/^(0|false|no|off)$/i.test(raw)) return false;
    problems.push(`GATEHOUSE_${name}=${JSON.stringify(raw)}: expected true or false`);
    return fallback;
  };
  const str = (name: string): string | undefined => {
    const raw = env[`GATEHOUSE_${name}`];
    return raw === undefined || raw === "" ? undefined : raw;
  };
  const list = (name: string): string[] =>
    (str(name) ?? "").split(",").map((s) => s.trim()).filter((s) => s.length > 0);

  const redisUrls = list("REDIS_URLS");
  for (const url of redisUrls) {
    if (!/^rediss?:\/\//.test(url)) problems.push(`GATEHOUSE_REDIS_URLS: ${JSON.stringify(url)} is not a redis:// URL`);
  }
  const databaseUrl = str("DATABASE_URL");
  if (databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(databaseUrl)) {
    problems.push("GATEHOUSE_DATABASE_URL: expected a postgres:// URL");
  }
  const corsOrigins = list("CORS_ORIGINS");
  for (const origin of corsOrigins) {
    if (origin !== "*" && !/^https?:\/\/[^/]+$/.test(origin)) {
      problems.push(`GATEHOUSE_CORS_ORIGINS: ${JSON.stringify(origin)} is not an origin like https://host:port`);
    }
  }
  const tlsCertFile = str("TLS_CERT");
  const tlsKeyFile = str("TLS_KEY");
  if ((tlsCertFile === undefined) !== (tlsKeyFile === undefined)) {
    problems.push("GATEHOUSE_TLS_CERT and GATEHOUSE_TLS_KEY must be set together");
  }
  const logLevel = str("LOG_LEVEL") ?? "info";
  if (!["fatal", "error", "warn", "info", "debug", "trace", "silent"].includes(logLevel)) {
    problems.push(`GATEHOUSE_LOG_LEVEL=${JSON.stringify(logLevel)}: expected fatal, error, warn, info, debug, trace or silent`);
  }

  const kek = str("KEK");
  const kekBad = kek === undefined ? undefined : kekProblem(kek);
  if (kekBad) problems.push(`GATEHOUSE_KEK: ${kekBad}`);

  // The first hour (issue 16).
  const adminPassword = str("ADMIN_PASSWORD");
  const adminPasswordProblem = adminPassword === undefined ? undefined : passwordProblem(adminPassword);
  if (adminPasswordProblem) problems.push(`GATEHOUSE_ADMIN_PASSWORD: ${adminPasswordProblem} (the password policy)`);
  const logFormat = str("LOG_FORMAT") ?? (process.stdout.isTTY ? "pretty" : "json");
  if (logFormat !== "json" && logFormat !== "pretty") problems.push(`GATEHOUSE_LOG_FORMAT=${JSON.stringify(logFormat)}: expected json or pretty`);
  const accessLog = str("ACCESS_LOG") ?? "errors";
  if (accessLog !== "all" && accessLog !== "errors" && accessLog !== "off") {
    problems.push(`GATEHOUSE_ACCESS_LOG=${JSON.stringify(accessLog)}: expected all, errors or off`);
  }

  const config: Config = {
    port: int("PORT", 8080, 0, 65535),
    host: str("HOST") ?? "0.0.0.0",
    tlsCertFile,
    tlsKeyFile,
    databaseUrl,
    dataDir: str("DATA_DIR") ?? "./.gatehouse",
    redisUrls,
    redisKeyPrefix: str("REDIS_PREFIX") ?? "gh:",
    corsOrigins,
    reflection: bool("REFLECTION", true),
    logLevel,
    adminPassword,
    readMaxBytes: int("READ_MAX_BYTES", 4 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    maxTimeoutMs: int("MAX_TIMEOUT_MS", 60_000, 100, 3_600_000),
    shutdownGraceMs: int("SHUTDOWN_GRACE_MS", 10_000, 0, 600_000),
    healthIntervalMs: int("HEALTH_INTERVAL_MS", 1_000, 50, 60_000),
    jwtIssuer: str("JWT_ISSUER") ?? "gatehouse",
    jwtAudience: str("JWT_AUDIENCE") ?? "gatehouse",
    jwtPrivateKey: str("JWT_PRIVATE_KEY"),
    kek,
    accessTokenTtlSeconds: int("ACCESS_TOKEN_TTL_SECONDS", 900, 10, 86_400),
    sessionIdleSeconds: int("SESSION_IDLE_SECONDS", 1_800, 10, 604_800),
    sessionAbsoluteSeconds: int("SESSION_ABSOLUTE_SECONDS", 43_200, 10, 2_592_000),
    rateLimitPerMinute: int("RATE_LIMIT_PER_MINUTE", 100, 1, 10_000_000),
    loginRateLimitPerMinute: int("LOGIN_RATE_LIMIT_PER_MINUTE", 10, 1, 10_000_000),
    authFailuresPerMinute: int("AUTH_FAILURES_PER_MINUTE", 30, 1, 10_000_000),
    lockoutUserFailures: int("LOCKOUT_USER_FAILURES", 5, 1, 1000),
    lockoutUserWindowSeconds: int("LOCKOUT_USER_WINDOW_SECONDS", 900, 1, 86_400),
    lockoutUserDurationSeconds: int("LOCKOUT_USER_DURATION_SECONDS", 900, 1, 86_400),
    lockoutIpFailures: int("LOCKOUT_IP_FAILURES", 20, 1, 100_000),
    lockoutIpWindowSeconds: int("LOCKOUT_IP_WINDOW_SECONDS", 600, 1, 86_400),
    lockMinTtlSeconds: int("LOCK_MIN_TTL_SECONDS", 600, 1, 1800),
    locksPerUser: int("LOCKS_PER_USER", 200, 1, 1_000_000),
    locksPerTenant: int("LOCKS_PER_TENANT", 2_000, 1, 10_000_000),
    trustProxy: bool("TRUST_PROXY", false),
    sandboxWorkers: int("SANDBOX_WORKERS", 2, 1, 64),
    sandboxWorkerNice: int("SANDBOX_WORKER_NICE", SANDBOX_WORKER_NICE, 0, 19),
    runsPerSecond: int("RUNS_PER_SECOND", 10, 1, 1_000_000),
    secureCookies: bool("SECURE_COOKIES", true),
    consoleDir: str("CONSOLE_DIR") ?? defaultConsoleDir,
    checkRateLimitPerMinute: int("CHECK_RATE_LIMIT_PER_MINUTE", 60_000, 1, 100_000_000),
    logFormat: logFormat === "pretty" ? "pretty" : "json",
    accessLog: accessLog === "all" || accessLog === "off" ? accessLog : "errors",
    ...overrides,
  };
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
