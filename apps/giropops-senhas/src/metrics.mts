// Prometheus metrics: the original's counter, RED metrics per route, process defaults.
// One registry per app instance so tests can build several apps in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type Metrics = {
  registry: Registry;
  senhasGeradas: Counter;
  requestDuration: Histogram<"method" | "route" | "status_code">;
  redisUp: Gauge;
};

/**
 * The answers a Redis outage produces, exported as 0 from the start: rate()
 * ignores what a series held when it first appeared, so an outage shorter
 * than a scrape interval would otherwise never reach the error ratio the
 * SLO alerts read (prometheus.io/docs/practices/instrumentation, "Avoid
 * missing metrics").
 */
export const OUTAGE_SERIES: { method: string; route: string; status_code: string }[] = [
  { method: "POST", route: "/api/gerar-senha", status_code: "503" },
  { method: "GET", route: "/api/senhas", status_code: "503" },
  { method: "GET", route: "/", status_code: "503" },
  { method: "POST", route: "/", status_code: "503" },
];

export function createMetrics(isRedisReady: () => boolean): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const requestDuration = new Histogram({
    name: "http_request_duration_seconds",
    help: "HTTP request duration by route template, method and status code",
    labelNames: ["method", "route", "status_code"] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [registry],
  });
  for (const labels of OUTAGE_SERIES) requestDuration.zero(labels);
  return {
    registry,
    // prom-client keeps the name as given; the original (prometheus_client) exposed `senha_gerada_total`.
    senhasGeradas: new Counter({ name: "senha_gerada_total", help: "Contador de senhas geradas", registers: [registry] }),
    requestDuration,
    redisUp: new Gauge({
      name: "giropops_redis_up",
      help: "1 while the Redis connection is ready, else 0",
      registers: [registry],
      collect() {
        this.set(isRedisReady() ? 1 : 0);
      },
    }),
  };
}
