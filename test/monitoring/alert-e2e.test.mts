// End to end on this machine, all real: Giropops Senhas (its server process)
// on a real redis-server under a bounded load, Debian's Prometheus scraping
// its /metrics with the project's recording and alerting rules, Debian's
// Alertmanager with the project's configuration (only the webhook destination
// set, pointed at a receiver this test runs on loopback). Redis stops: the
// fast-burn page must reach the webhook; Redis is back: it must resolve.
//
// Prometheus here is 2.42 and Alertmanager 0.25 (the cluster runs 3.x and
// 0.34): the rules use nothing the two Prometheus versions evaluate
// differently (or vector(0), rate, and, humanizePercentage, $externalLabels),
// and the webhook's url_file is read as url for 0.25 (alertmanager.mts). What
// the test changes, and why: scrape and evaluation every second and the
// recording groups' `interval: 30s` set to 1s, so the cluster's 30s cadence
// does not make this test minutes long. The routing, group_wait 10s and
// group_interval 1m of the page route are the project's own.
//
// Time the rules promise: BurnFast has no `for`, so it fires at the first
// evaluation that sees both windows above 14.4x; Alertmanager sends the page
// after the route's group_wait (10s). Here: within 10s + a few scrape and
// evaluation seconds; on the cluster add up to 30s scrape + 30s evaluation.
// The outage lasts until 2% of the test's requests have failed (14.4x is
// 1.44%): both windows hold only this test's minute or two of traffic, so
// the page resolves once the ratio is below 6x too (the 6h/30m pair, 0.6%),
// when healthy requests outnumber the failed ones about 170 to 1, at the
// route's next group_interval.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { freePort, startRedis } from "../../apps/giropops-senhas/test/redis-server.mts";
import { startProcess, waitFor } from "../../apps/giropops-senhas/test/harness.mts";
import { alertmanagerConfig, writeForTools } from "./alertmanager.mts";
import { renderConfig } from "./monitoring.mts";
import { PLACEHOLDER_RUNBOOK_BASE, tool } from "./promtool.mts";

type Notification = { receiver: string; status: string; alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[]; at: number };

function daemon(command: string, args: string[]): { child: ChildProcess; output: () => string; stop: () => Promise<void> } {
  const child = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout!.on("data", (c) => (output += c));
  child.stderr!.on("data", (c) => (output += c));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  return { child, output: () => output, stop: async () => (child.exitCode === null && child.signalCode === null ? (child.kill("SIGTERM"), exited) : undefined) };
}

// Missing engines are named with the package to install, not a spawn error.
for (const binary of ["prometheus", "prometheus-alertmanager"]) tool(binary, ["--version"]);

test("Redis stops: the fast-burn page reaches the webhook with summary, value and runbook; Redis back: it resolves", async () => {
  const dir = mkdtempSync(join(tmpdir(), "alert-e2e-"));
  const notifications: Notification[] = [];
  const hook = createServer((req, res) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      notifications.push({ ...JSON.parse(body), at: Date.now() });
      res.end();
    });
  });
  await new Promise<void>((resolve) => hook.listen(0, "127.0.0.1", resolve));
  const hookUrl = `http://127.0.0.1:${(hook.address() as { port: number }).port}/hook`;

  const redis = await startRedis();
  const app = await startProcess({ REDIS_URL: redis.url, LOG_LEVEL: "silent" });
  const amPort = await freePort();
  const promPort = await freePort();
  const am = writeForTools(alertmanagerConfig({ alertWebhookUrl: hookUrl }), () => hookUrl);
  const alertmanager = daemon("prometheus-alertmanager", [`--config.file=${am.file}`, `--storage.path=${join(dir, "am")}`, `--web.listen-address=127.0.0.1:${amPort}`, "--cluster.listen-address="]);

  const rule = renderConfig().find((r) => r.object.kind === "PrometheusRule" && r.object.metadata.name === "giropops-senhas")!;
  const groups = structuredClone(rule.object.spec.groups).map((g: Record<string, unknown>) => ({ ...g, ...(g.interval ? { interval: "1s" } : {}) }));
  writeFileSync(join(dir, "rules.yaml"), stringify({ groups }));
  writeFileSync(
    join(dir, "prometheus.yml"),
    stringify({
      global: { scrape_interval: "1s", evaluation_interval: "1s", external_labels: { runbook_base: PLACEHOLDER_RUNBOOK_BASE } },
      rule_files: [join(dir, "rules.yaml")],
      alerting: { alertmanagers: [{ static_configs: [{ targets: [`127.0.0.1:${amPort}`] }] }] },
      // job and namespace as the cluster's ServiceMonitor gives them
      scrape_configs: [{ job_name: "giropops-senhas", static_configs: [{ targets: [new URL(app.base).host], labels: { namespace: "giropops-senhas" } }] }],
    }),
  );
  const prometheus = daemon("prometheus", [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "tsdb")}`, `--web.listen-address=127.0.0.1:${promPort}`]);

  let loading = true;
  let sent = 0;
  let failed = 0;
  const load = Promise.all(
    Array.from({ length: 4 }, async () => {
      // No cap on the count: the page resolves only while healthy traffic dilutes the failures.
      while (loading) {
        sent++;
        await fetch(`${app.base}/api/gerar-senha`, { method: "POST", headers: { "content-type": "application/json" }, body: '{"tamanho":12}' })
          .then((r) => ((failed += r.status >= 500 ? 1 : 0), r.arrayBuffer()))
          .catch(() => undefined);
      }
    }),
  );
  const query = async (expr: string) => ((await (await fetch(`http://127.0.0.1:${promPort}/api/v1/query?query=${encodeURIComponent(expr)}`)).json()) as { data: { result: { value: [number, string] }[] } }).data.result;
  const logs = () => `--- prometheus\n${prometheus.output().slice(-3000)}\n--- alertmanager\n${alertmanager.output().slice(-3000)}`;
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${amPort}/-/ready`)).ok, "alertmanager ready", logs);
    await waitFor(async () => (await fetch(`http://127.0.0.1:${promPort}/-/ready`)).ok, "prometheus ready", logs);
    // Healthy traffic first: the ratio is 0 (not empty), nothing fires.
    await waitFor(async () => (await query("giropops:slo_errors_per_request:ratio_rate5m")).some((r) => r.value[1] === "0"), "a healthy ratio of 0", logs, 30_000);
    await new Promise((r) => setTimeout(r, 5_000));
    assert.equal(await query('ALERTS{alertname="GiropopsSenhasErrorBudgetBurnFast"}'), []);

    const stopped = Date.now();
    await redis.stop("SIGKILL");
    await waitFor(async () => (await fetch(`${app.base}/readyz`)).status === 503, "the app to notice Redis is gone");
    // Down until 2% of all requests so far have failed (14.4x the budget is
    // 1.44%): a fixed outage gives too few 503s when a loaded machine serves
    // little traffic, and a longer one makes the page slow to resolve.
    await waitFor(async () => failed / sent > 0.02, "2% of the requests to fail", logs, 60_000);
    await redis.start();
    await waitFor(async () => (await fetch(`${app.base}/readyz`)).ok, "the app back on Redis", () => "", 30_000);

    // Generous: on a loaded machine (CI runs two test files at once) scrapes and
    // evaluations slip; how fast a page goes out is the routing's group_wait,
    // checked by the amtool tests, not a number to time here.
    await waitFor(async () => notifications.some((n) => n.status === "firing"), "the page at the webhook", logs, 120_000);
    const page = notifications.find((n) => n.status === "firing")!;
    assert.ok(page.at > stopped, "the page came after Redis stopped");
    assert.is(page.receiver, "page");
    const alert = page.alerts.find((a) => a.labels.alertname === "GiropopsSenhasErrorBudgetBurnFast");
    assert.ok(alert, JSON.stringify(page));
    assert.is(alert.labels.severity, "critical");
    assert.is(alert.labels.service, "giropops-senhas");
    assert.is(alert.annotations.summary, "Giropops Senhas is burning its 99.9% error budget fast.");
    assert.match(alert.annotations.description!, /^\d+(\.\d+)?% of user requests are failing with 5xx\./);
    assert.is(alert.annotations.runbook_url, `${PLACEHOLDER_RUNBOOK_BASE}/gitops/monitoring/README.md#giropopssenhaserrorbudgetburnfast`);
    // Only the page: no warning reached the webhook through the ticket route meanwhile.
    assert.equal([...new Set(notifications.map((n) => n.receiver))], ["page"]);

    await waitFor(async () => notifications.some((n) => n.status === "resolved" && n.alerts.some((a) => a.labels.alertname === "GiropopsSenhasErrorBudgetBurnFast")), "the page to resolve", () => `${failed} of ${sent} requests failed\n${logs()}`, 240_000);
  } finally {
    loading = false;
    await load;
    await prometheus.stop();
    await alertmanager.stop();
    am.cleanup();
    await app.stop();
    await redis.dispose();
    await new Promise((resolve) => hook.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
