// The SLO and RED rules against the real app: start Giropops Senhas on a real
// redis-server (the app's own test harness), send user and probe traffic, make
// it answer 503 by killing Redis, scrape /metrics, and evaluate the rules'
// selectors on what was scraped.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { startInProcess, waitFor } from "../../apps/giropops-senhas/test/harness.mts";
import { startRedis } from "../../apps/giropops-senhas/test/redis-server.mts";
import { findAll, parse } from "./promql.mts";
import { APP_DASHBOARD_UID, TARGET_LABELS, dashboardsOf, queriesOf, renderConfig, rulesOf, unknownAppSeries } from "./monitoring.mts";
import { expandGrafanaVariables } from "./promql.mts";

type Sample = { name: string; labels: Record<string, string>; value: number };

function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

type Matcher = { label: string; op: string; value: string };

/** The label matchers of every selector of `metric` in an expression. */
function matchersOf(expr: string, metric: string): Matcher[][] {
  return findAll(parse(expr), "VectorSelector")
    .filter((v) => v.children.find((c) => c.name === "Identifier")?.text === metric)
    .map((v) =>
      findAll(v, "UnquotedLabelMatcher").map((m) => ({
        label: m.children[0]!.text,
        op: m.children[1]!.text,
        value: JSON.parse(m.children[2]!.text) as string,
      })),
    );
}

/** Prometheus semantics: regexes are fully anchored; target labels are added by the scrape, so they match here. */
function matches(sample: Sample, matchers: Matcher[]): boolean {
  return matchers.every(({ label, op, value }) => {
    if (TARGET_LABELS.has(label) && !(label in sample.labels)) return true;
    const actual = sample.labels[label] ?? "";
    const regex = new RegExp(`^(?:${value})$`);
    return { "=": actual === value, "!=": actual !== value, "=~": regex.test(actual), "!~": !regex.test(actual) }[op] ?? false;
  });
}

const redis = await startRedis();
const app = await startInProcess({ REDIS_URL: redis.url, LOG_LEVEL: "silent" });
let scraped: Sample[] = [];

try {
  const post = (body: unknown) => fetch(`${app.base}/api/gerar-senha`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) });
  for (let i = 0; i < 3; i++) assert.is((await post({ tamanho: 12 })).status, 200);
  await fetch(`${app.base}/`);
  await fetch(`${app.base}/api/senhas`);
  await fetch(`${app.base}/healthz`);
  await fetch(`${app.base}/metrics`);
  await fetch(`${app.base}/no-such-page`);
  await redis.stop("SIGKILL");
  await waitFor(async () => (await fetch(`${app.base}/readyz`)).status === 503, "readyz 503 without Redis");
  assert.is((await post({ tamanho: 12 })).status, 503);
  scraped = parseExposition(await (await fetch(`${app.base}/metrics`)).text());
} finally {
  await app.close();
  await redis.dispose();
}

const rendered = renderConfig();
const rules = rulesOf(rendered);
const recorded = new Set(rules.filter((r) => !r.alert).map((r) => r.name));
const slo5m = rules.find((r) => r.name === "giropops:slo_errors_per_request:ratio_rate5m")!.expr;
const [errorSelector, totalSelector] = matchersOf(slo5m, "http_request_duration_seconds_count");
const counts = scraped.filter((s) => s.name === "http_request_duration_seconds_count");
const describe = (s: Sample) => `${s.labels.method} ${s.labels.route} ${s.labels.status_code}`;

test("the scrape carries the histogram with route, method and status_code, and the password counter", () => {
  assert.ok(counts.length >= 6, counts.map(describe).join(", "));
  for (const s of counts) assert.equal(Object.keys(s.labels).sort(), ["method", "route", "status_code"]);
  assert.ok(scraped.some((s) => s.name === "http_request_duration_seconds_bucket" && s.labels.le === "0.25"), "a 250 ms bucket for the latency alert");
  assert.is(scraped.find((s) => s.name === "senha_gerada_total")?.value, 3);
});

test("every series the app rules and the app dashboard use is in the real scrape", () => {
  const series = new Map<string, Set<string>>();
  for (const s of scraped) series.set(s.name, new Set([...(series.get(s.name) ?? []), ...Object.keys(s.labels)]));
  const items = [
    ...rules.filter((r) => r.ruleObject === "giropops-senhas").map((r) => ({ where: `rule ${r.name}`, expr: r.expr })),
    ...queriesOf(dashboardsOf(rendered).find((d) => d.json.uid === APP_DASHBOARD_UID)!.json).map((q) => ({ where: `panel ${q.panel}`, expr: expandGrafanaVariables(q.expr) })),
  ];
  assert.equal(unknownAppSeries(items, series, recorded), []);
});

test("the SLO's error selector matches exactly the 503 a user got, not the probes' 503 or the 404", () => {
  assert.ok(errorSelector && totalSelector, "the 5m SLO rule has an error and a total selector");
  const errors = counts.filter((s) => matches(s, errorSelector));
  // The outage series exist from the start at 0 (metrics.mts OUTAGE_SERIES); only the one that happened counts.
  assert.equal(errors.filter((s) => s.value > 0).map(describe), ["POST /api/gerar-senha 503"]);
  assert.equal(errors.filter((s) => s.value === 0).map(describe).sort(), ["GET / 503", "GET /api/senhas 503", "POST / 503"]);
  assert.ok(counts.some((s) => s.labels.route === "/readyz" && s.labels.status_code === "503"), "the probe did see 503s");
});

test("the SLO's total counts user routes (including 404s) and leaves out /healthz, /readyz and /metrics", () => {
  const total = counts.filter((s) => matches(s, totalSelector!)).map((s) => s.labels.route);
  assert.ok(total.includes("/api/gerar-senha") && total.includes("/") && total.includes("/api/senhas"), total.join(", "));
  assert.ok(total.includes("unmatched"), "404s are user requests too");
  for (const probe of ["/healthz", "/readyz", "/metrics"]) {
    assert.ok(counts.some((s) => s.labels.route === probe), `the app records ${probe} under that route name`);
    assert.not.ok(total.includes(probe), `${probe} counted as user traffic`);
  }
});

test.run();
