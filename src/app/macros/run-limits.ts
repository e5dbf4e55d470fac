import type { Limiter, LimiterFactory } from "../../shared-state/rate-limiters.js";

/**
 * RunLimits are RunMacro's two rate limits: a burst limit per user
 * (GATEHOUSE_RUNS_PER_SECOND) and the policy's max_runs_per_minute per user
 * and macro, one limiter per distinct budget. Built once per server.
 */
export interface RunLimits {
  runsPerSecond: number;
  perSecond: Limiter;
  perMinute(points: number): Limiter;
}

/** createRunLimits builds RunLimits on the server's limiter factory. */
export function createRunLimits(limiters: LimiterFactory, runsPerSecond: number): RunLimits {
  const perSecond = limiters({ name: "runs-user", points: runsPerSecond, durationSeconds: 1 });
  const perMinute = new Map<number, Limiter>();
  return {
    runsPerSecond,
    perSecond,
    perMinute(points) {
      let limiter = perMinute.get(points);
      if (!limiter) {
        limiter = limiters({ name: `runs-min-${points}`, points, durationSeconds: 60 });
        perMinute.set(points, limiter);
      }
      return limiter;
    },
  };
}
