/**
 * The limiter contract, apart from its implementations (rate-limiters.ts,
 * leased-limiter.ts), so that they import it without importing each other.
 */

/** LimiterSpec describes one fixed-window limit. */
export interface LimiterSpec {
  /** name prefixes the keys of this limiter. */
  name: string;
  points: number;
  durationSeconds: number;
  /** blockSeconds blocks the key this long once the points are spent. */
  blockSeconds?: number;
  /**
   * leased counts in Redis by leases of many points (leased-limiter.ts): no
   * round trip per call, never more than `points` accepted per window over
   * all replicas. For limits checked on every call; not with blockSeconds.
   */
  leased?: boolean;
}

/** LimitResult tells whether a consume passed and when to retry if not. */
export type LimitResult = { ok: true; remaining: number } | { ok: false; retryAfterSeconds: number };

/** Limiter counts events per key, shared across replicas when Redis is configured. */
export interface Limiter {
  consume(key: string, points?: number): Promise<LimitResult>;
  /** refund gives back points consumed by a call that was refused for another reason. */
  refund(key: string, points?: number): Promise<void>;
  /** penalty adds points without refusing (login failures). */
  penalty(key: string, points?: number): Promise<LimitResult>;
  /** get answers the current state without consuming. */
  get(key: string): Promise<{ consumed: number; retryAfterSeconds: number } | undefined>;
  reset(key: string): Promise<void>;
  /** block refuses the key for `seconds` from now. */
  block(key: string, seconds: number): Promise<void>;
}

/** LimiterFactory makes limiters over the configured store. */
export type LimiterFactory = (spec: LimiterSpec) => Limiter;
