import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { ConfigError, loadConfig } from "../src/config.mts";

const server = join(import.meta.dirname, "../src/server.mts");

test("defaults when nothing is set", () => {
  const config = loadConfig({});
  assert.equal(config, {
    host: "0.0.0.0",
    port: 8080,
    redisUrl: "redis://127.0.0.1:6379",
    redisPassword: undefined,
    redisTlsCa: undefined,
    redisCommandTimeoutMs: 1000,
    listCap: 1000,
    bodyLimitBytes: 4096,
    logLevel: "info",
    shutdownDelayMs: 0,
    shutdownTimeoutMs: 10000,
    headersTimeoutMs: 10000,
    requestTimeoutMs: 30000,
    bodyIdleTimeoutMs: 5000,
    keepAliveTimeoutMs: 5000,
    maxConnections: 1024,
    maxHeaderBytes: 8192,
    maxHeaders: 64,
  });
});

test("the HTTP bounds are read, and a headers timeout above the request timeout is refused", () => {
  const config = loadConfig({ HTTP_HEADERS_TIMEOUT_MS: "2000", HTTP_REQUEST_TIMEOUT_MS: "4000", HTTP_BODY_IDLE_TIMEOUT_MS: "300", HTTP_MAX_CONNECTIONS: "7", HTTP_MAX_HEADER_BYTES: "2048", HTTP_MAX_HEADERS: "20" });
  assert.equal([config.headersTimeoutMs, config.requestTimeoutMs, config.bodyIdleTimeoutMs, config.maxConnections, config.maxHeaderBytes, config.maxHeaders], [2000, 4000, 300, 7, 2048, 20]);
  assert.throws(() => loadConfig({ HTTP_HEADERS_TIMEOUT_MS: "5000", HTTP_REQUEST_TIMEOUT_MS: "1000" }), /HTTP_HEADERS_TIMEOUT_MS must not exceed HTTP_REQUEST_TIMEOUT_MS/);
});

test("reads every variable", () => {
  const config = loadConfig({
    HOST: "127.0.0.1",
    PORT: "9000",
    REDIS_URL: "rediss://cache:6380/2",
    REDIS_PASSWORD: "s3cret",
    REDIS_COMMAND_TIMEOUT_MS: "250",
    SENHAS_LIST_CAP: "50",
    BODY_LIMIT_BYTES: "2048",
    LOG_LEVEL: "warn",
    SHUTDOWN_DELAY_MS: "5000",
    SHUTDOWN_TIMEOUT_MS: "20000",
  });
  assert.is(config.port, 9000);
  assert.is(config.redisUrl, "rediss://cache:6380/2");
  assert.is(config.redisPassword, "s3cret");
  assert.is(config.listCap, 50);
  assert.is(config.logLevel, "warn");
  assert.is(config.shutdownDelayMs, 5000);
});

test("collects every problem into one message and never echoes a Redis URL", () => {
  try {
    loadConfig({ PORT: "http", SENHAS_LIST_CAP: "5", LOG_LEVEL: "loud", REDIS_URL: "http://user:hunter2@x" });
    assert.unreachable("should throw");
  } catch (error) {
    assert.instance(error, ConfigError);
    const message = (error as Error).message;
    assert.match(message, /PORT must be an integer from 0 to 65535 \(got "http"\)/);
    assert.match(message, /SENHAS_LIST_CAP must be an integer from 10 to 1000000/);
    assert.match(message, /LOG_LEVEL must be one of/);
    assert.match(message, /REDIS_URL must look like/);
    assert.not.match(message, /hunter2/);
    assert.not.match(message, /\n/);
  }
});

test("a TLS CA file must exist and goes with rediss://", () => {
  assert.throws(() => loadConfig({ REDIS_URL: "rediss://x:6380", REDIS_TLS_CA_FILE: "/nonexistent/ca.pem" }), /REDIS_TLS_CA_FILE "\/nonexistent\/ca.pem" cannot be read/);
  assert.throws(() => loadConfig({ REDIS_TLS_CA_FILE: server }), /needs a rediss:\/\/ REDIS_URL/);
});

test("the server exits non-zero with one clear line on a bad environment", () => {
  const result = spawnSync(process.execPath, [server], {
    env: { PATH: process.env.PATH, SENHAS_LIST_CAP: "lots" },
    encoding: "utf8",
    timeout: 20_000,
  });
  assert.is(result.status, 2);
  assert.is(result.stdout, "");
  const lines = result.stderr.trim().split("\n");
  assert.is(lines.length, 1, result.stderr);
  assert.is(lines[0], 'giropops-senhas: invalid configuration: SENHAS_LIST_CAP must be an integer from 10 to 1000000 (got "lots")');
});

test.run();
