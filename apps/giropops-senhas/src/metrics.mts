// Prometheus metrics: the original's counter, RED metrics per route, process defaults.
// One registry per app instance so tests can build several apps in one process.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export type Metrics = {
  registry: Registry;
  senhasGeradas: Counter;
  requestDuration: Histogram<"method" | "route" | "status_code">;
  redisUp: Gauge;
};

export function createMetrics(isRedisReady: () => boolean): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    // prom-client keeps the name as given; the original (prometheus_client) exposed `senha_gerada_total`.
    senhasGeradas: new Counter({ name: "senha_gerada_total", help: "Contador de senhas geradas", registers: [registry] }),
    requestDuration: new Histogram({
      name: "http_request_duration_seconds",
      help: "HTTP request duration by route template, method and status code",
      labelNames: ["method", "route", "status_code"],
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [registry],
    }),
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
