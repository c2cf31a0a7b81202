// Configuration: read once from the environment, validated as a whole, so a bad
// value stops the process at start with one line instead of failing later.
import { readFileSync } from "node:fs";

export const LOG_LEVELS = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export type Config = {
  host: string;
  port: number;
  redisUrl: string;
  redisPassword: string | undefined;
  /** PEM CA bundle for rediss:// when the server's certificate is not publicly trusted. */
  redisTlsCa: string | undefined;
  redisCommandTimeoutMs: number;
  listCap: number;
  bodyLimitBytes: number;
  logLevel: LogLevel;
  /** Time between /readyz turning 503 and the listener closing (lets load balancers notice). */
  shutdownDelayMs: number;
  /** Hard limit for the whole drain; past it the process exits 1. Keep below the pod's grace period. */
  shutdownTimeoutMs: number;
  /** Whole request head (line + headers) must arrive within this. */
  headersTimeoutMs: number;
  /** Whole request (head + body) must arrive within this. */
  requestTimeoutMs: number;
  /** A request body that sends nothing for this long is cut (408). */
  bodyIdleTimeoutMs: number;
  /** Idle keep-alive connections are closed after this. */
  keepAliveTimeoutMs: number;
  maxConnections: number;
  maxHeaderBytes: number;
  maxHeaders: number;
};

export class ConfigError extends Error {
  constructor(problems: string[]) {
    super(`invalid configuration: ${problems.join("; ")}`);
    this.name = "ConfigError";
  }
}

type Env = Record<string, string | undefined>;

/** Every variable the service reads, with its default and range: the README table mirrors this. */
export const ENV = {
  HOST: { default: "0.0.0.0" },
  PORT: { default: "8080", min: 0, max: 65535 },
  REDIS_URL: { default: "redis://127.0.0.1:6379" },
  REDIS_PASSWORD: { default: undefined },
  REDIS_TLS_CA_FILE: { default: undefined },
  REDIS_COMMAND_TIMEOUT_MS: { default: "1000", min: 50, max: 60_000 },
  SENHAS_LIST_CAP: { default: "1000", min: 10, max: 1_000_000 },
  BODY_LIMIT_BYTES: { default: "4096", min: 256, max: 1_048_576 },
  LOG_LEVEL: { default: "info" },
  SHUTDOWN_DELAY_MS: { default: "0", min: 0, max: 60_000 },
  SHUTDOWN_TIMEOUT_MS: { default: "10000", min: 100, max: 300_000 },
  HTTP_HEADERS_TIMEOUT_MS: { default: "10000", min: 100, max: 120_000 },
  HTTP_REQUEST_TIMEOUT_MS: { default: "30000", min: 100, max: 600_000 },
  HTTP_BODY_IDLE_TIMEOUT_MS: { default: "5000", min: 50, max: 120_000 },
  HTTP_KEEPALIVE_TIMEOUT_MS: { default: "5000", min: 100, max: 600_000 },
  HTTP_MAX_CONNECTIONS: { default: "1024", min: 1, max: 100_000 },
  HTTP_MAX_HEADER_BYTES: { default: "8192", min: 1024, max: 65_536 },
  HTTP_MAX_HEADERS: { default: "64", min: 8, max: 1000 },
} as const;

type IntName = { [K in keyof typeof ENV]: (typeof ENV)[K] extends { min: number } ? K : never }[keyof typeof ENV];

export function loadConfig(env: Env = process.env): Config {
  const problems: string[] = [];
  const value = (name: keyof typeof ENV): string | undefined => {
    const raw = env[name];
    return raw === undefined || raw.trim() === "" ? ENV[name].default : raw.trim();
  };
  const int = (name: IntName): number => {
    const { min, max } = ENV[name];
    const raw = value(name)!;
    const parsed = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(parsed >= min && parsed <= max)) {
      problems.push(`${name} must be an integer from ${min} to ${max} (got ${JSON.stringify(raw)})`);
      return min;
    }
    return parsed;
  };

  const redisUrl = value("REDIS_URL")!;
  try {
    const url = new URL(redisUrl);
    if (url.protocol !== "redis:" && url.protocol !== "rediss:") throw new Error("scheme");
  } catch {
    // Never echo the value: it may carry a password.
    problems.push("REDIS_URL must look like redis://host:6379 or rediss://host:6380 (TLS)");
  }

  let redisTlsCa: string | undefined;
  const caFile = value("REDIS_TLS_CA_FILE");
  if (caFile !== undefined) {
    try {
      redisTlsCa = readFileSync(caFile, "utf8");
    } catch {
      problems.push(`REDIS_TLS_CA_FILE ${JSON.stringify(caFile)} cannot be read`);
    }
    if (!redisUrl.startsWith("rediss:")) problems.push("REDIS_TLS_CA_FILE needs a rediss:// REDIS_URL");
  }

  const logLevel = value("LOG_LEVEL")!;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    problems.push(`LOG_LEVEL must be one of ${LOG_LEVELS.join(", ")} (got ${JSON.stringify(logLevel)})`);
  }

  const config: Config = {
    host: value("HOST")!,
    port: int("PORT"),
    redisUrl,
    redisPassword: env.REDIS_PASSWORD ? env.REDIS_PASSWORD : undefined,
    redisTlsCa,
    redisCommandTimeoutMs: int("REDIS_COMMAND_TIMEOUT_MS"),
    listCap: int("SENHAS_LIST_CAP"),
    bodyLimitBytes: int("BODY_LIMIT_BYTES"),
    logLevel: logLevel as LogLevel,
    shutdownDelayMs: int("SHUTDOWN_DELAY_MS"),
    shutdownTimeoutMs: int("SHUTDOWN_TIMEOUT_MS"),
    headersTimeoutMs: int("HTTP_HEADERS_TIMEOUT_MS"),
    requestTimeoutMs: int("HTTP_REQUEST_TIMEOUT_MS"),
    bodyIdleTimeoutMs: int("HTTP_BODY_IDLE_TIMEOUT_MS"),
    keepAliveTimeoutMs: int("HTTP_KEEPALIVE_TIMEOUT_MS"),
    maxConnections: int("HTTP_MAX_CONNECTIONS"),
    maxHeaderBytes: int("HTTP_MAX_HEADER_BYTES"),
    maxHeaders: int("HTTP_MAX_HEADERS"),
  };
  // node:http refuses a requestTimeout shorter than headersTimeout.
  if (config.headersTimeoutMs > config.requestTimeoutMs) problems.push("HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS");
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
