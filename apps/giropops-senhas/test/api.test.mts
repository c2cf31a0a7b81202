// Every endpoint and every 4xx path, against a real redis-server.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { DIGITS, LETTERS, PUNCTUATION } from "../src/generator.mts";
import { OUTAGE_SERIES } from "../src/metrics.mts";
import { LIST_KEY } from "../src/store.mts";
import { postJson, redisClient, startInProcess } from "./harness.mts";
import { startRedis } from "./redis-server.mts";

const CAP = 12;
const redis = await startRedis();
const direct = await redisClient(redis.url);
const server = await startInProcess({ REDIS_URL: redis.url, SENHAS_LIST_CAP: String(CAP) });
const { base } = server;

test.after(async () => {
  await server.close();
  direct.destroy();
  await redis.dispose();
});
test.before.each(async () => {
  await direct.del(LIST_KEY);
});

async function expectError(response: Response, status: number, message: RegExp) {
  const text = await response.text();
  assert.is(response.status, status, text);
  assert.match(response.headers.get("content-type") ?? "", /^application\/json/);
  const body = JSON.parse(text);
  assert.is(body.statusCode, status);
  assert.match(body.message, message);
  assert.not.match(text, /at .*\.m?[jt]s:\d+/, "no stack trace");
}

test("POST /api/gerar-senha returns a password of the requested shape and stores it first in `senhas`", async () => {
  const response = await postJson(base, "/api/gerar-senha", { tamanho: 20, incluir_numeros: true, incluir_caracteres_especiais: true });
  assert.is(response.status, 200);
  const { senha, ...rest } = (await response.json()) as { senha: string };
  assert.equal(rest, {});
  assert.is(senha.length, 20);
  for (const set of [LETTERS, DIGITS, PUNCTUATION]) assert.ok([...senha].some((c: string) => set.includes(c)), senha);
  assert.equal(await direct.lRange(LIST_KEY, 0, -1), [senha]);
  assert.is(response.headers.get("cache-control"), "no-store", "a password is never cached");
  assert.is(response.headers.get("x-content-type-options"), "nosniff");
});

test("POST /api/gerar-senha defaults to 8 letters, with an empty object or no body at all", async () => {
  for (const init of [{ headers: { "content-type": "application/json" }, body: "{}" }, {}]) {
    const response = await fetch(`${base}/api/gerar-senha`, { method: "POST", ...init });
    assert.is(response.status, 200);
    const { senha } = (await response.json()) as { senha: string };
    assert.match(senha, /^[A-Za-z]{8}$/);
  }
});

test("GET /api/senhas returns the 10 most recent, newest first, with ids from 1", async () => {
  const made: string[] = [];
  for (let i = 0; i < 11; i++) made.push(((await (await postJson(base, "/api/gerar-senha", { tamanho: 10 })).json()) as { senha: string }).senha);
  const response = await fetch(`${base}/api/senhas`);
  assert.is(response.status, 200);
  const list = await response.json();
  assert.equal(list, made.reverse().slice(0, 10).map((senha, index) => ({ id: index + 1, senha })));
});

test("GET /api/senhas is an empty array when nothing was generated", async () => {
  assert.equal(await (await fetch(`${base}/api/senhas`)).json(), []);
});

test("the Redis list is capped at SENHAS_LIST_CAP", async () => {
  for (let i = 0; i < CAP * 2 + 3; i++) assert.is((await postJson(base, "/api/gerar-senha", {})).status, 200);
  assert.is(await direct.lLen(LIST_KEY), CAP);
});

test("400 for wrong types, naming the field", async () => {
  await expectError(await postJson(base, "/api/gerar-senha", { tamanho: "8" }), 400, /"tamanho" must be integer/);
  await expectError(await postJson(base, "/api/gerar-senha", { incluir_numeros: "yes" }), 400, /"incluir_numeros" must be boolean/);
  await expectError(await postJson(base, "/api/gerar-senha", { tamanho: null }), 400, /"tamanho" must be integer/);
  await expectError(await postJson(base, "/api/gerar-senha", [8]), 400, /body must be a JSON object/);
  await expectError(await postJson(base, "/api/gerar-senha", "8"), 400, /body must be a JSON object/);
});

test("400 for unknown fields", async () => {
  await expectError(await postJson(base, "/api/gerar-senha", { tamanho: 8, size: 9 }), 400, /unknown field "size"/);
});

test("400 for tamanho outside 4..128 or not whole", async () => {
  for (const tamanho of [3, 129, 0, -1, 8.5, 1e9]) {
    await expectError(await postJson(base, "/api/gerar-senha", { tamanho }), 400, /"tamanho" must be (an integer between 4 and 128|integer)/);
  }
  assert.is((await postJson(base, "/api/gerar-senha", { tamanho: 128 })).status, 200);
  assert.is((await postJson(base, "/api/gerar-senha", { tamanho: 4 })).status, 200);
});

test("400 for malformed JSON", async () => {
  await expectError(await postJson(base, "/api/gerar-senha", '{"tamanho": 8'), 400, /not valid JSON/);
  await expectError(await postJson(base, "/api/gerar-senha", '{"__proto__": {"x": 1}}'), 400, /./);
});

test("413 for an oversized body", async () => {
  const body = JSON.stringify({ tamanho: 8, pad: "x".repeat(10_000) });
  await expectError(await postJson(base, "/api/gerar-senha", body), 413, /larger than 4096 bytes/);
});

test("415 for content types a route does not take", async () => {
  const send = (path: string, type: string, body: string) => fetch(base + path, { method: "POST", headers: { "content-type": type }, body });
  await expectError(await send("/api/gerar-senha", "text/plain", "{}"), 415, /unsupported content type "text\/plain"; send application\/json/);
  await expectError(await send("/api/gerar-senha", "application/x-www-form-urlencoded", "tamanho=8"), 415, /send application\/json/);
  const page = await send("/", "application/json", '{"tamanho": 8}');
  assert.is(page.status, 415);
  assert.match(await page.text(), /send application\/x-www-form-urlencoded/);
});

test("the store's content never reached Redis on any rejected request", async () => {
  await postJson(base, "/api/gerar-senha", { tamanho: 3 });
  await postJson(base, "/api/gerar-senha", { x: 1 });
  assert.is(await direct.lLen(LIST_KEY), 0);
});

test("GET / serves the page with strict security headers and CSP", async () => {
  const response = await fetch(`${base}/`);
  assert.is(response.status, 200);
  assert.match(response.headers.get("content-type") ?? "", /^text\/html/);
  const csp = response.headers.get("content-security-policy") ?? "";
  for (const directive of ["default-src 'self'", "script-src 'self'", "style-src 'self'", "frame-ancestors 'none'", "object-src 'none'", "base-uri 'none'", "form-action 'self'"]) {
    assert.ok(csp.includes(directive), `CSP has ${directive}: ${csp}`);
  }
  assert.not.match(csp, /unsafe-inline|unsafe-eval/);
  assert.is(response.headers.get("x-content-type-options"), "nosniff");
  assert.is(response.headers.get("x-frame-options"), "DENY");
  assert.is(response.headers.get("cache-control"), "no-store", "pages with passwords are never cached");
  assert.is(response.headers.get("referrer-policy"), "no-referrer");
  assert.is(response.headers.get("cross-origin-opener-policy"), "same-origin");
  const html = await response.text();
  assert.match(html, /<h1>Gerador de Senhas<\/h1>/);
  assert.not.match(html, /<script>|style=/, "no inline script or style");
  for (const asset of ["/static/styles.css", "/static/app.js", "/static/favicon.svg"]) {
    const response = await fetch(base + asset);
    assert.is(response.status, 200, asset);
    assert.is(response.headers.get("cache-control"), "public, max-age=3600", asset);
  }
  assert.is((await fetch(`${base}/static/../src/app.mts`)).status, 404);
});

test("the page escapes stored passwords (punctuation includes < > & \" ')", async () => {
  await direct.lPush(LIST_KEY, `<script>alert("x")</script>&'`);
  const html = await (await fetch(`${base}/`)).text();
  assert.ok(html.includes("&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;"));
  assert.not.ok(html.includes("<script>alert"));
});

test("POST / (form, no JavaScript) generates, stores and shows the password with the list", async () => {
  await postJson(base, "/api/gerar-senha", { tamanho: 6 });
  const response = await fetch(`${base}/`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "tamanho=12&incluir_numeros=on",
  });
  assert.is(response.status, 200);
  const html = await response.text();
  const [newest, older] = await direct.lRange(LIST_KEY, 0, -1);
  assert.is(newest!.length, 12);
  assert.match(newest!, /^[A-Za-z0-9]+$/);
  assert.ok(html.includes(`<output id="senha" class="senha">${newest}</output>`));
  assert.ok(html.includes(`<li><code>${older}</code></li>`));
  assert.match(html, /name="incluir_numeros" checked/);
  assert.match(html, /name="incluir_caracteres_especiais">/);
});

test("POST / with a bad form answers 400 with the page and a readable message", async () => {
  const send = (body: string) =>
    fetch(`${base}/`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body });
  for (const [body, message] of [
    ["tamanho=2", /O tamanho deve ser um número inteiro de 4 a 128\./],
    ["tamanho=abc", /O tamanho deve ser um número inteiro de 4 a 128\./],
    ["tamanho=8&admin=1", /unknown field &quot;admin&quot;/],
    ["tamanho=8&incluir_numeros=yes", /&quot;incluir_numeros&quot; must be &quot;on&quot; when present/],
  ] as const) {
    const response = await send(body);
    assert.is(response.status, 400, body);
    const html = await response.text();
    assert.match(html, /role="alert"/);
    assert.match(html, message);
  }
  assert.is(await direct.lLen(LIST_KEY), 0);
});

test("/healthz and /readyz answer 200 while Redis is up; unknown routes 404 JSON", async () => {
  assert.equal(await (await fetch(`${base}/healthz`)).json(), { status: "ok" });
  const ready = await fetch(`${base}/readyz`);
  assert.is(ready.status, 200);
  assert.equal(await ready.json(), { status: "ready", redis: "up", draining: false });
  const missing = await fetch(`${base}/nope`);
  assert.is(missing.status, 404);
  assert.equal(await missing.json(), { statusCode: 404, error: "Not Found", message: "no route GET /nope" });
});

test("/metrics exports the 503s a Redis outage produces as 0 before any happened (rate() ignores a series' first value)", async () => {
  const text = await (await fetch(`${base}/metrics`)).text();
  for (const { method, route } of OUTAGE_SERIES) {
    const escaped = route.replaceAll("/", "\\/");
    assert.match(text, new RegExp(`^http_request_duration_seconds_count\\{method="${method}",route="${escaped}",status_code="503"\\} 0$`, "m"), `${method} ${route}`);
  }
});

test("/metrics exposes senha_gerada_total, RED histogram by route and status, process metrics", async () => {
  const counter = async () => Number((await (await fetch(`${base}/metrics`)).text()).match(/^senha_gerada_total (\d+)/m)?.[1]);
  const before = await counter();
  await postJson(base, "/api/gerar-senha", {});
  await fetch(`${base}/`, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded" }, body: "tamanho=8" });
  await postJson(base, "/api/gerar-senha", { tamanho: 1 });
  assert.is(await counter(), before + 2, "only successful generations count");
  const response = await fetch(`${base}/metrics`);
  assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/);
  const text = await response.text();
  assert.match(text, /^# TYPE senha_gerada_total counter$/m);
  assert.match(text, /^# TYPE http_request_duration_seconds histogram$/m);
  assert.match(text, /^http_request_duration_seconds_count\{method="POST",route="\/api\/gerar-senha",status_code="200"\} \d+$/m);
  assert.match(text, /^http_request_duration_seconds_count\{method="POST",route="\/api\/gerar-senha",status_code="400"\} \d+$/m);
  assert.match(text, /^http_request_duration_seconds_bucket\{le="0\.005",method="POST",route="\/",status_code="200"\} \d+$/m);
  await fetch(`${base}/does-not-exist-${Date.now()}`);
  assert.match(await (await fetch(`${base}/metrics`)).text(), /route="unmatched",status_code="404"/, "unknown paths share one label value");
  for (const name of ["process_cpu_user_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_seconds", "nodejs_heap_size_used_bytes", "giropops_redis_up 1"]) {
    assert.ok(text.includes(name), name);
  }
});

test("every response carries a request id (kept from x-request-id when sane) that the JSON access log repeats", async () => {
  const kept = await fetch(`${base}/api/senhas`, { headers: { "x-request-id": "trace-abc.123" } });
  assert.is(kept.headers.get("x-request-id"), "trace-abc.123");
  const replaced = await fetch(`${base}/api/senhas`, { headers: { "x-request-id": "bad id\twith spaces" } });
  assert.match(replaced.headers.get("x-request-id") ?? "", /^[0-9a-f-]{36}$/);
  const line = server.logs.find((entry) => entry.reqId === "trace-abc.123");
  assert.ok(line, "access log line with the request id");
  assert.equal({ method: line!.method, url: line!.url, statusCode: line!.statusCode, msg: line!.msg, level: line!.level }, { method: "GET", url: "/api/senhas", statusCode: 200, msg: "request", level: 30 });
  assert.type(line!.ms, "number");
});

test.run();
