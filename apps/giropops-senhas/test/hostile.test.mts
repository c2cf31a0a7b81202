// The app driven as an attacker would (issue 15), against a real redis-server:
// odd bodies, prototype names in URLs, slow and oversized requests, bodies on
// GET routes, and a Redis that hangs. Each case failed on the Fastify version.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { connect } from "node:net";
import { LIST_KEY } from "../src/store.mts";
import { postJson, redisClient, startInProcess, waitFor } from "./harness.mts";
import { startRedis } from "./redis-server.mts";

const redis = await startRedis();
const direct = await redisClient(redis.url);
const server = await startInProcess({
  REDIS_URL: redis.url,
  REDIS_COMMAND_TIMEOUT_MS: "300",
  HTTP_HEADERS_TIMEOUT_MS: "1000",
  HTTP_REQUEST_TIMEOUT_MS: "2500",
  HTTP_BODY_IDLE_TIMEOUT_MS: "400",
  HTTP_MAX_CONNECTIONS: "20",
  HTTP_MAX_HEADER_BYTES: "4096",
  HTTP_MAX_HEADERS: "30",
});
const { base } = server;
const port = Number(new URL(base).port);

test.after(async () => {
  await server.close();
  direct.destroy();
  await redis.dispose();
});
test.before.each(async () => {
  await direct.del(LIST_KEY);
});

type Raw = { text: string; status: number; closed: boolean; ms: number };

/**
 * Writes the parts to a raw socket, `gapMs` apart, and reads until the server
 * closes the connection or `waitMs` passes.
 */
function raw(parts: string[], { gapMs = 0, waitMs = 5_000 } = {}): Promise<Raw> {
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect({ port, host: "127.0.0.1" });
    let text = "";
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(giveUp);
      clearInterval(writer);
      socket.destroy();
      resolve({ text, status: Number(text.match(/^HTTP\/1\.1 (\d{3})/)?.[1] ?? 0), closed, ms: Date.now() - started });
    };
    const giveUp = setTimeout(() => finish(false), waitMs);
    const queue = [...parts];
    const writer = setInterval(() => {
      const next = queue.shift();
      if (next === undefined || socket.destroyed) clearInterval(writer);
      else socket.write(next);
    }, gapMs || 1);
    socket.on("data", (chunk) => (text += chunk));
    socket.on("close", () => finish(true));
    socket.on("error", (error: NodeJS.ErrnoException) => (error.code === "ECONNRESET" || error.code === "EPIPE" ? finish(true) : reject(error)));
  });
}

const head = (lines: string[]) => `${lines.join("\r\n")}\r\n\r\n`;

test("POST /api/gerar-senha with the JSON body null is a 400, and nothing is stored", async () => {
  const response = await postJson(base, "/api/gerar-senha", "null");
  assert.is(response.status, 400);
  assert.equal(await response.json(), { statusCode: 400, error: "Bad Request", message: "body must be a JSON object" });
  for (const body of ["[1,2]", '"str"', "42", "true"]) assert.is((await postJson(base, "/api/gerar-senha", body)).status, 400, body);
  assert.is(await direct.lLen(LIST_KEY), 0);
});

test("/static/ + a prototype name is a plain 404: not cached, no stack trace, no error log", async () => {
  for (const name of ["__proto__", "constructor", "toString", "hasOwnProperty", "valueOf", "__defineGetter__"]) {
    const response = await fetch(`${base}/static/${name}`);
    const text = await response.text();
    assert.is(response.status, 404, name);
    assert.is(response.headers.get("cache-control"), "no-store", name);
    assert.equal(JSON.parse(text), { statusCode: 404, error: "Not Found", message: `no route GET /static/${name}` });
  }
  assert.not.ok(server.logs.some((line) => Number(line.level) >= 50), "no error log lines");
  assert.not.ok(server.logs.some((line) => JSON.stringify(line).includes("    at ")), "no stack trace logged");
});

test("a body that trickles in is cut once it stalls (body idle timeout): 408 and the connection closed", async () => {
  const result = await raw([head(["POST /api/gerar-senha HTTP/1.1", "host: x", "content-type: application/json", "content-length: 4000"]), "{"], { waitMs: 4_000 });
  assert.ok(result.closed, `closed (${result.ms} ms): ${result.text}`);
  assert.is(result.status, 408, result.text);
  assert.is(await direct.lLen(LIST_KEY), 0);
});

test("a body that keeps trickling just fast enough is cut by the whole-request timeout", async () => {
  // One byte every 200 ms never trips the 400 ms idle timer; the 2.5 s request timeout ends it.
  const parts = [head(["POST /api/gerar-senha HTTP/1.1", "host: x", "content-type: application/json", "content-length: 4000"]), ...Array(40).fill(" ")];
  const result = await raw(parts, { gapMs: 200, waitMs: 7_000 });
  assert.ok(result.closed, `closed: ${result.text}`);
  assert.ok(result.ms < 6_000, `cut after ${result.ms} ms`);
});

test("request headers that trickle in are cut by the headers timeout", async () => {
  const parts = ["GET /healthz HTTP/1.1\r\n", ...Array.from({ length: 20 }, (_, i) => `x-slow-${i}: 1\r\n`)];
  const result = await raw(parts, { gapMs: 200, waitMs: 6_000 });
  assert.ok(result.closed, `closed: ${result.text}`);
  assert.ok(result.ms < 4_000, `cut after ${result.ms} ms`);
  assert.not.match(result.text, /"status":"ok"/);
});

test("an oversized request head is refused with 431", async () => {
  const result = await raw([head(["GET /healthz HTTP/1.1", "host: x", `x-big: ${"a".repeat(5_000)}`])]);
  assert.is(result.status, 431, result.text);
  assert.ok(result.closed);
});

test("too many request headers are refused with 431", async () => {
  const result = await raw([head(["GET /healthz HTTP/1.1", "host: x", ...Array.from({ length: 40 }, (_, i) => `x-h${i}: ${"v".repeat(20)}`)])]);
  assert.is(result.status, 431, result.text);
  assert.ok(result.closed);
});

test("connections beyond HTTP_MAX_CONNECTIONS are dropped, and serving resumes once they go", async () => {
  const sockets = await Promise.all(
    Array.from({ length: 20 }, () => new Promise<ReturnType<typeof connect>>((resolve) => {
      const socket = connect({ port, host: "127.0.0.1" }, () => resolve(socket));
      socket.on("error", () => {});
    })),
  );
  await new Promise((resolve) => setTimeout(resolve, 100));
  const extra = await raw([head(["GET /healthz HTTP/1.1", "host: x"])], { waitMs: 2_000 });
  assert.ok(extra.closed, "dropped");
  assert.is(extra.status, 0, extra.text);
  for (const socket of sockets) socket.destroy();
  await waitFor(async () => (await fetch(`${base}/healthz`)).ok, "serving again");
});

test("GET routes refuse a request body (413, connection closed) instead of reading it", async () => {
  for (const path of ["/healthz", "/api/senhas", "/", "/readyz"]) {
    // Only the head is sent: a server that wants to read 10 MB would wait for ever.
    const result = await raw([head([`GET ${path} HTTP/1.1`, "host: x", "content-length: 10000000"])], { waitMs: 3_000 });
    assert.is(result.status, 413, `${path}: ${result.text}`);
    assert.ok(result.closed, `${path}: connection closed`);
  }
  const chunked = await raw([head(["GET /api/senhas HTTP/1.1", "host: x", "transfer-encoding: chunked"]), "5\r\nhello\r\n"], { waitMs: 3_000 });
  assert.is(chunked.status, 413, chunked.text);
});

test("an oversized body is refused from its content-length, without reading it", async () => {
  const result = await raw([head(["POST /api/gerar-senha HTTP/1.1", "host: x", "content-type: application/json", "content-length: 10000000"])], { waitMs: 3_000 });
  assert.is(result.status, 413, result.text);
  assert.ok(result.closed);
});

test("a hung Redis: /readyz turns 503, every request answered 503 is never stored, and all recovers", async () => {
  await direct.sendCommand(["CLIENT", "PAUSE", "2000", "ALL"]);
  const answers = await Promise.all(Array.from({ length: 20 }, () => postJson(base, "/api/gerar-senha", {})));
  assert.equal(answers.map((r) => r.status), Array(20).fill(503));
  const ready = await fetch(`${base}/readyz`);
  assert.is(ready.status, 503);
  assert.equal(await ready.json(), { status: "not ready", redis: "down", draining: false });
  // Let Redis resume and run what it had queued.
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "readyz 200 after Redis resumes");
  await new Promise((resolve) => setTimeout(resolve, 300));
  assert.equal(await direct.lRange(LIST_KEY, 0, -1), [], "no password answered 503 was stored");
  const after = await postJson(base, "/api/gerar-senha", {});
  assert.is(after.status, 200);
  const { senha } = (await after.json()) as { senha: string };
  assert.equal(await direct.lRange(LIST_KEY, 0, -1), [senha]);
});

test.run();
