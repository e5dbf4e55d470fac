import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

/** Metrics are the Prometheus series Gatehouse exports at GET /metrics. */
export interface Metrics {
  registry: Registry;
  calls: Counter<"method" | "code">;
  latency: Histogram<"method" | "code">;
}

/** createMetrics makes a registry of our own (no global default registry). */
export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "gatehouse_" });
  const calls = new Counter({
    name: "gatehouse_rpc_calls_total",
    help: "RPC calls by method and status code",
    labelNames: ["method", "code"] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: "gatehouse_rpc_duration_seconds",
    help: "RPC latency by method and status code",
    labelNames: ["method", "code"] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  return { registry, calls, latency };
}
