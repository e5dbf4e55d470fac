import { EventEmitter } from "node:events";
import type { Logger } from "../logger.js";

/** HealthCheck answers whether one dependency is usable now. */
export type HealthCheck = () => Promise<boolean>;

/**
 * HealthMonitor polls the dependencies and says whether the service can
 * serve. It is the status source of grpc.health.v1.Health.
 */
export interface HealthMonitor {
  /** serving is true while every dependency answers and we are not shutting down. */
  readonly serving: boolean;
  /** dependencies tells each dependency's last state. */
  dependencies(): Record<string, boolean>;
  /** checkNow polls at once (used at start and by tests). */
  checkNow(): Promise<boolean>;
  subscribe(listener: () => void): () => void;
  /** markShuttingDown turns the service NOT_SERVING for good. */
  markShuttingDown(): void;
  stop(): void;
}

/** createHealthMonitor polls every `intervalMs`; checks run in parallel with a timeout each. */
export function createHealthMonitor(checks: Record<string, HealthCheck>, intervalMs: number, logger: Logger): HealthMonitor {
  const events = new EventEmitter();
  events.setMaxListeners(0);
  const state: Record<string, boolean> = Object.fromEntries(Object.keys(checks).map((k) => [k, false]));
  let shuttingDown = false;
  let serving = false;
  let running: Promise<boolean> | undefined;

  const withTimeout = (check: HealthCheck): Promise<boolean> =>
    Promise.race([
      check().catch(() => false),
      new Promise<boolean>((resolve) => setTimeout(() => resolve(false), Math.max(200, intervalMs)).unref()),
    ]);

  const poll = async (): Promise<boolean> => {
    const names = Object.keys(checks);
    const results = await Promise.all(names.map((n) => withTimeout(checks[n]!)));
    names.forEach((n, i) => {
      if (state[n] !== results[i]) {
        logger[results[i] ? "info" : "warn"]({ dependency: n, up: results[i] }, results[i] ? "dependency up" : "dependency down");
      }
      state[n] = results[i]!;
    });
    const next = !shuttingDown && results.every(Boolean);
    if (next !== serving) {
      serving = next;
      events.emit("change");
    }
    return serving;
  };
  const checkNow = () => (running ??= poll().finally(() => (running = undefined)));
  const timer = setInterval(() => void checkNow(), intervalMs);
  timer.unref();

  return {
    get serving() {
      return serving;
    },
    dependencies: () => ({ ...state }),
    checkNow,
    subscribe(listener) {
      events.on("change", listener);
      return () => events.off("change", listener);
    },
    markShuttingDown() {
      shuttingDown = true;
      if (serving) {
        serving = false;
        events.emit("change");
      }
    },
    stop() {
      clearInterval(timer);
      events.removeAllListeners();
    },
  };
}
