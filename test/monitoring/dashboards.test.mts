// Grafana dashboards as code: the JSON inside the ConfigMaps kustomize generates
// from gitops/monitoring/config/dashboards, which the Grafana sidecar loads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/render.mts";
import { expandGrafanaVariables } from "./promql.mts";
import { APP_DASHBOARD_UID, CONFIG_DIR, appSeries, dashboardProblems, dashboardsOf, panelsOf, queriesOf, renderConfig, rulesOf, unknownAppSeries } from "./monitoring.mts";

const rendered = renderConfig();
const dashboards = dashboardsOf(rendered);
const DASHBOARD_FILES = readdirSync(join(REPO_ROOT, CONFIG_DIR, "dashboards")).filter((f) => f.endsWith(".json"));

/** Panel problems of one dashboard: duplicate ids, missing datasource, missing queries. */
function panelProblems(dashboard: Record<string, any>): string[] {
  const found: string[] = [];
  const seen = new Set<unknown>();
  for (const p of panelsOf(dashboard)) {
    const where = `dashboard "${dashboard.title}" panel "${p.title}"`;
    if (typeof p.id !== "number") found.push(`${where}: no numeric id`);
    else if (seen.has(p.id)) found.push(`${where}: id ${p.id} used twice`);
    seen.add(p.id);
    if (p.type === "row") continue;
    if (!p.datasource?.uid || !p.datasource?.type) found.push(`${where}: no datasource`);
    if (!Array.isArray(p.targets) || p.targets.length === 0) found.push(`${where}: no query`);
    for (const t of p.targets ?? []) if (!t.datasource?.uid) found.push(`${where} ${t.refId}: query without datasource`);
    const g = p.gridPos ?? {};
    if (![g.h, g.w, g.x, g.y].every(Number.isInteger) || g.x + g.w > 24) found.push(`${where}: gridPos must fit the 24-column grid`);
  }
  return found;
}

test("every dashboard JSON file becomes a ConfigMap labelled grafana_dashboard=1, without a name hash", () => {
  assert.equal(dashboards.map((d) => d.file).sort(), DASHBOARD_FILES.sort());
  for (const { configMap } of dashboards) {
    assert.is(configMap.metadata.labels.grafana_dashboard, "1", configMap.metadata.name);
    assert.match(configMap.metadata.name, /^dashboard-[a-z-]+$/, "stable name (disableNameSuffixHash)");
    assert.is(configMap.metadata.namespace, "monitoring");
  }
});

test("the app RED/SLO dashboard and the platform overview are there", () => {
  assert.equal(dashboards.map((d) => d.json.uid).sort(), ["giropops-senhas", "platform-overview"]);
});

test("dashboards are Grafana 11+ dashboards with a unique uid and the Prometheus datasource variable", () => {
  const uids = new Set<string>();
  for (const { json, file } of dashboards) {
    assert.ok(json.schemaVersion >= 39, `${file}: schemaVersion ${json.schemaVersion}`);
    assert.type(json.title, "string");
    assert.match(json.uid, /^[a-z0-9-]{1,40}$/, `${file}: uid`);
    assert.not.ok(uids.has(json.uid), `${file}: uid ${json.uid} used twice`);
    uids.add(json.uid);
    assert.not.ok("id" in json && json.id !== null, `${file}: a fixed numeric id clashes between Grafana instances`);
    const ds = json.templating.list.find((v: any) => v.name === "datasource");
    assert.equal([ds?.type, ds?.query], ["datasource", "prometheus"], `${file}: datasource variable`);
  }
});

test("panel ids are unique, every panel has a datasource, queries and a place on the grid", () => {
  assert.equal(dashboards.flatMap((d) => panelProblems(d.json)), []);
});

test("every query parses as PromQL (Grafana's $__ variables expanded), naming the panel otherwise", () => {
  const queries = dashboards.flatMap((d) => queriesOf(d.json));
  assert.ok(queries.length >= 20, `only ${queries.length} queries`);
  assert.equal(dashboardProblems(queries), []);
});

test("the app dashboard queries only series the app exports or the SLO rules record", async () => {
  const app = dashboards.find((d) => d.json.uid === APP_DASHBOARD_UID)!.json;
  const recorded = new Set(rulesOf(rendered).filter((r) => !r.alert).map((r) => r.name));
  const items = queriesOf(app).map((q) => ({ where: `panel ${q.panel}`, expr: expandGrafanaVariables(q.expr) }));
  assert.equal(unknownAppSeries(items, await appSeries(), recorded), []);
});

test("the platform overview covers nodes, pods not ready, Argo CD, Kyverno and Falco", () => {
  const overview = dashboards.find((d) => d.json.uid === "platform-overview")!.json;
  const text = queriesOf(overview).map((q) => q.expr).join("\n");
  for (const series of ["node_cpu_seconds_total", "node_memory_MemAvailable_bytes", "kube_pod_status_ready", "argocd_app_info", "kyverno_validating_policy_results_total", "falcosecurity_falcosidekick_falco_events_total"]) {
    assert.ok(text.includes(series), `no panel queries ${series}`);
  }
  assert.match(text, /argocd_app_info\{health_status/);
  assert.match(text, /sum by \(rule, priority\)/);
});

// ---- break something: the checks must notice ------------------------------

function withBrokenDashboard(edit: (d: Record<string, any>) => void, check: (problems: string[]) => void): void {
  const root = mkdtempSync(join(tmpdir(), "monitoring-dashboards-"));
  try {
    cpSync(join(REPO_ROOT, CONFIG_DIR), join(root, CONFIG_DIR), { recursive: true });
    const file = join(root, CONFIG_DIR, "dashboards/giropops-senhas.json");
    const json = JSON.parse(readFileSync(file, "utf8"));
    edit(json);
    writeFileSync(file, JSON.stringify(json));
    const broken = dashboardsOf(renderConfig({ root })).find((d) => d.json.uid === APP_DASHBOARD_UID)!.json;
    check([...panelProblems(broken), ...dashboardProblems(queriesOf(broken))]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("a bad PromQL query in a copy of a dashboard is reported with its panel", () => {
  withBrokenDashboard(
    (d) => {
      const panel = d.panels.find((p: any) => p.title === "Requests per second by route");
      panel.targets[0].expr = "sum by (route (rate(http_request_duration_seconds_count[$__rate_interval]))";
    },
    (problems) => {
      assert.is(problems.length, 1, problems.join("\n"));
      assert.match(problems[0]!, /panel "Requests per second by route" \(id \d+, A\): syntax error/);
    },
  );
});

test("a duplicate panel id and a panel without datasource are reported", () => {
  withBrokenDashboard(
    (d) => {
      const [first, second] = d.panels.filter((p: any) => p.type !== "row");
      second.id = first.id;
      delete second.datasource;
    },
    (problems) => {
      assert.ok(problems.some((p) => /used twice/.test(p)), problems.join("\n"));
      assert.ok(problems.some((p) => /no datasource/.test(p)), problems.join("\n"));
    },
  );
});

test("a dashboard that is not valid JSON fails the render with the file named", () => {
  const root = mkdtempSync(join(tmpdir(), "monitoring-dashboards-"));
  try {
    cpSync(join(REPO_ROOT, CONFIG_DIR), join(root, CONFIG_DIR), { recursive: true });
    writeFileSync(join(root, CONFIG_DIR, "dashboards/platform-overview.json"), '{"title": "x",}');
    assert.throws(() => dashboardsOf(renderConfig({ root })), /platform-overview\.json is not valid JSON/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
