// Redis going away and coming back, authentication, and graceful shutdown,
// with the real server process and a real redis-server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { request } from "node:http";
import { postJson, redisClient, startProcess, waitFor } from "./harness.mts";
import { startRedis } from "./redis-server.mts";
import type { RedisServer } from "./redis-server.mts";
import type { ServerProcess } from "./harness.mts";

const started: Array<RedisServer | ServerProcess> = [];
test.after.each(async () => {
  for (const thing of started.splice(0).reverse()) "child" in thing ? await thing.stop() : await thing.dispose();
});

test("answers 503 while Redis is down, stays up, and recovers by itself when Redis returns", async () => {
  const redis = await startRedis();
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url });
  started.push(app);
  assert.is((await postJson(app.base, "/api/gerar-senha", {})).status, 200);

  await redis.stop("SIGKILL");
  await waitFor(async () => (await fetch(`${app.base}/readyz`)).status === 503, "readyz 503");
  const readyz = await fetch(`${app.base}/readyz`);
  assert.equal(await readyz.json(), { status: "not ready", redis: "down", draining: false });
  assert.is((await fetch(`${app.base}/healthz`)).status, 200, "liveness does not depend on Redis");

  const generate = await postJson(app.base, "/api/gerar-senha", {});
  assert.is(generate.status, 503);
  assert.is(generate.headers.get("retry-after"), "1");
  assert.equal(await generate.json(), { statusCode: 503, error: "Service Unavailable", message: "password storage (Redis) is unavailable" });
  assert.is((await fetch(`${app.base}/api/senhas`)).status, 503);
  const page = await fetch(`${app.base}/`);
  assert.is(page.status, 503);
  assert.match(await page.text(), /Serviço temporariamente indisponível/);
  const metrics = await (await fetch(`${app.base}/metrics`)).text();
  assert.match(metrics, /^giropops_redis_up 0$/m);
  assert.match(metrics, /route="\/api\/gerar-senha",status_code="503"/);

  await redis.start();
  await waitFor(async () => (await fetch(`${app.base}/readyz`)).ok, "readyz 200 after Redis returns", app.output);
  assert.is((await postJson(app.base, "/api/gerar-senha", {})).status, 200);
  assert.is(app.child.exitCode, null, "the process never exited");
  assert.match(app.output(), /"msg":"redis unavailable, reconnecting"/);
  assert.not.match(app.output(), /"level":(50|60)/, "no error/fatal log lines");
});

test("a Redis that hangs costs a request at most REDIS_COMMAND_TIMEOUT_MS, then 503", async () => {
  const redis = await startRedis();
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url, REDIS_COMMAND_TIMEOUT_MS: "300" });
  started.push(app);
  const direct = await redisClient(redis.url);
  await direct.sendCommand(["CLIENT", "PAUSE", "3000", "ALL"]);
  const generate = await postJson(app.base, "/api/gerar-senha", {});
  assert.is(generate.status, 503);
  assert.is((await fetch(`${app.base}/api/senhas`)).status, 503);
  await direct.sendCommand(["CLIENT", "UNPAUSE"]);
  direct.destroy();
  await waitFor(async () => (await postJson(app.base, "/api/gerar-senha", {})).status === 200, "writes to work again", app.output);
});

test("starts while Redis is down (not ready), becomes ready when Redis appears", async () => {
  const redis = await startRedis();
  started.push(redis);
  await redis.stop("SIGKILL");
  const app = await startProcess({ REDIS_URL: redis.url }, { waitReady: false });
  started.push(app);
  assert.is((await fetch(`${app.base}/readyz`)).status, 503);
  await redis.start();
  await waitFor(async () => (await fetch(`${app.base}/readyz`)).ok, "readyz 200", app.output);
});

test("uses REDIS_PASSWORD, and is not ready without it", async () => {
  const redis = await startRedis({ password: "pa55-word" });
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url, REDIS_PASSWORD: "pa55-word" });
  started.push(app);
  const { senha } = (await (await postJson(app.base, "/api/gerar-senha", {})).json()) as { senha: string };
  const direct = await redisClient(redis.url, "pa55-word");
  assert.equal(await direct.lRange("senhas", 0, -1), [senha]);
  direct.destroy();
  assert.not.match(app.output(), /pa55-word/, "the password is never logged");

  const anonymous = await startProcess({ REDIS_URL: redis.url }, { waitReady: false });
  started.push(anonymous);
  assert.is((await fetch(`${anonymous.base}/readyz`)).status, 503);
  assert.is((await postJson(anonymous.base, "/api/gerar-senha", {})).status, 503);
});

test("talks TLS to a rediss:// URL with REDIS_TLS_CA_FILE, and refuses a certificate it cannot verify", async () => {
  const redis = await startRedis({ tls: true, password: "tls-pa55" });
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url, REDIS_PASSWORD: "tls-pa55", REDIS_TLS_CA_FILE: redis.caFile! });
  started.push(app);
  assert.is((await postJson(app.base, "/api/gerar-senha", { tamanho: 9 })).status, 200);
  const list = (await (await fetch(`${app.base}/api/senhas`)).json()) as Array<{ senha: string }>;
  assert.is(list[0]!.senha.length, 9);

  const untrusting = await startProcess({ REDIS_URL: redis.url, REDIS_PASSWORD: "tls-pa55" }, { waitReady: false });
  started.push(untrusting);
  await waitFor(async () => /"msg":"redis unavailable, reconnecting"/.test(untrusting.output()), "the TLS failure to be logged");
  assert.match(untrusting.output(), /certificate/i);
  assert.is((await fetch(`${untrusting.base}/readyz`)).status, 503);
  assert.is((await postJson(untrusting.base, "/api/gerar-senha", {})).status, 503);
});

/** POST with node:http so the request is surely on the wire before we signal the server. */
function slowPost(base: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}/api/gerar-senha`, { method: "POST", headers: { "content-type": "application/json" } }, (res) => {
      let body = "";
      res.on("data", (chunk) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end("{}");
  });
}

test("SIGTERM: readiness fails first, in-flight requests finish, then the process exits 0", async () => {
  const redis = await startRedis();
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url, SHUTDOWN_DELAY_MS: "1500", REDIS_COMMAND_TIMEOUT_MS: "10000" });
  started.push(app);
  const direct = await redisClient(redis.url);
  // Hold writes in Redis so the next POST is still in flight when SIGTERM arrives.
  await direct.sendCommand(["CLIENT", "PAUSE", "2500", "WRITE"]);
  const inFlight = slowPost(app.base);
  await waitFor(async () => /cmd=evalsha\b/.test(String(await direct.sendCommand(["CLIENT", "LIST"]))), "the write to reach Redis");
  app.child.kill("SIGTERM");

  await waitFor(async () => (await fetch(`${app.base}/readyz`)).status === 503, "readyz 503 while draining");
  assert.equal(await (await fetch(`${app.base}/readyz`)).json(), { status: "not ready", redis: "up", draining: true });
  assert.is((await fetch(`${app.base}/healthz`)).status, 200, "still serving during the drain delay");

  const result = await inFlight;
  assert.is(result.status, 200, result.body);
  assert.is(await app.exited, 0, app.output());
  const { senha } = JSON.parse(result.body) as { senha: string };
  assert.equal(await direct.lRange("senhas", 0, 0), [senha], "the in-flight write landed");
  assert.not.ok(await fetch(`${app.base}/healthz`).then(() => true, () => false), "no longer listening");
  assert.match(app.output(), /shutting down: readiness now failing[\s\S]*shutdown complete/);
  direct.destroy();
});

test("SIGTERM: responses during the drain delay close their keep-alive connection", async () => {
  const redis = await startRedis();
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url, SHUTDOWN_DELAY_MS: "3000" });
  started.push(app);
  const before = await postJson(app.base, "/api/gerar-senha", {});
  assert.is(before.headers.get("connection"), "keep-alive", "keep-alive before the drain");
  app.child.kill("SIGTERM");
  await waitFor(async () => (await fetch(`${app.base}/readyz`)).status === 503, "readyz 503 while draining");
  const during = await postJson(app.base, "/api/gerar-senha", {});
  assert.is(during.status, 200, "still serving during the drain delay");
  assert.is(during.headers.get("connection"), "close");
  assert.is(await app.exited, 0, app.output());
});

test("SIGTERM while Redis is down still shuts down cleanly (exit 0)", async () => {
  const redis = await startRedis();
  started.push(redis);
  const app = await startProcess({ REDIS_URL: redis.url });
  started.push(app);
  await redis.stop("SIGKILL");
  await waitFor(async () => (await fetch(`${app.base}/readyz`)).status === 503, "readyz 503");
  app.child.kill("SIGTERM");
  assert.is(await app.exited, 0, app.output());
  assert.match(app.output(), /"msg":"shutdown complete"/);
});

test.run();
