// The PrometheusRules, ServiceMonitors and HTTPRoutes of gitops/monitoring/config,
// as kustomize renders them for Argo CD.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PrometheusRule, ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { HTTPRoute } from "@kubernetes-models/gateway-api/gateway.networking.k8s.io/v1";
import { REPO_ROOT } from "../lib/render.mts";
import { andedThresholds } from "./promql.mts";
import { APP_RULE, CONFIG_DIR, RUNBOOK_BASE, anchorsOf, appSeries, readme, renderConfig, ruleProblems, rulesOf, unknownAppSeries } from "./monitoring.mts";

const rendered = renderConfig();
const rules = rulesOf(rendered);
const alerts = rules.filter((r) => r.alert);
const ofKind = (kind: string) => rendered.filter((r) => r.object.kind === kind);

test("the config renders the two PrometheusRules, the Argo CD ServiceMonitors and three HTTPRoutes, all in monitoring", () => {
  assert.equal(ofKind("PrometheusRule").map((r) => r.object.metadata.name).sort(), ["giropops-senhas", "workloads"]);
  assert.ok(ofKind("ServiceMonitor").length >= 3);
  assert.equal(ofKind("HTTPRoute").map((r) => r.object.metadata.name).sort(), ["alertmanager", "grafana", "prometheus"]);
  for (const r of rendered) assert.is(r.object.metadata?.namespace, "monitoring", `${r.object.kind}/${r.object.metadata?.name}`);
});

test("every rule expression parses with Prometheus' PromQL grammar", () => {
  assert.ok(rules.length >= 15, `only ${rules.length} rules found`);
  assert.equal(ruleProblems(rules), []);
});

test("the required alerts exist", () => {
  const names = new Set(alerts.map((a) => a.name));
  for (const name of [
    "GiropopsSenhasHighErrorRate",
    "GiropopsSenhasHighLatency",
    "GiropopsSenhasErrorBudgetBurnFast",
    "GiropopsSenhasErrorBudgetBurnSlow",
    "PodCrashLooping",
    "PodNotReady",
    "ContainerCPUHigh",
    "ContainerMemoryHigh",
  ]) {
    assert.ok(names.has(name), `missing alert ${name}`);
  }
});

test("every alert has a severity, a summary, a description and a runbook section that exists in the README", () => {
  const anchors = anchorsOf(readme());
  const missing: string[] = [];
  for (const a of alerts) {
    if (!["critical", "warning", "info"].includes(a.labels.severity ?? "")) missing.push(`${a.name}: severity must be critical, warning or info`);
    for (const key of ["summary", "description", "runbook_url"]) if (!a.annotations[key]?.trim()) missing.push(`${a.name}: no ${key} annotation`);
    const url = a.annotations.runbook_url ?? "";
    if (!url.startsWith(RUNBOOK_BASE)) missing.push(`${a.name}: runbook_url must start with ${RUNBOOK_BASE}`);
    else if (!anchors.has(url.slice(RUNBOOK_BASE.length))) missing.push(`${a.name}: README has no section #${url.slice(RUNBOOK_BASE.length)}`);
  }
  assert.equal(missing, []);
});

test("alert and recording rule names are unique", () => {
  const seen = new Map<string, number>();
  for (const r of rules) seen.set(r.name, (seen.get(r.name) ?? 0) + 1);
  assert.equal([...seen].filter(([, n]) => n > 1).map(([name]) => name), []);
});

test("the SLO records the error ratio over 5m, 30m, 1h, 2h, 6h, 1d and 3d plus the error budget left", () => {
  const recorded = new Map(rules.filter((r) => !r.alert).map((r) => [r.name, r.expr]));
  for (const window of ["5m", "30m", "1h", "2h", "6h", "1d", "3d"]) {
    const expr = recorded.get(`giropops:slo_errors_per_request:ratio_rate${window}`);
    assert.ok(expr, `no recording rule for the ${window} window`);
    // Every range in the rule is that window: a copy-paste slip would mix them.
    assert.equal([...new Set([...expr.matchAll(/\[(\w+)\]/g)].map((m) => m[1]))], [window], `ranges in the ${window} rule`);
  }
  assert.match(recorded.get("giropops:slo_error_budget_remaining:ratio3d") ?? "", /ratio_rate3d/);
});

test("burn-rate alerts page at 14.4x (1h and 5m) and 6x (6h and 30m), ticket at 3x (1d and 2h) and 1x (3d and 6h) of a 99.9% objective", () => {
  const budget = 1 - 0.999;
  const expected: Record<string, [number, string, string][]> = {
    GiropopsSenhasErrorBudgetBurnFast: [
      [14.4, "1h", "5m"],
      [6, "6h", "30m"],
    ],
    GiropopsSenhasErrorBudgetBurnSlow: [
      [3, "1d", "2h"],
      [1, "3d", "6h"],
    ],
  };
  for (const [name, pairs] of Object.entries(expected)) {
    const alert = alerts.find((a) => a.name === name);
    assert.ok(alert, name);
    const groups = andedThresholds(alert.expr);
    assert.is(groups.length, pairs.length, `${name}: ${groups.length} and-ed window pairs`);
    pairs.forEach(([factor, long, short], i) => {
      const group = groups[i]!;
      assert.equal(
        group.map((g) => g.series),
        [`giropops:slo_errors_per_request:ratio_rate${long}`, `giropops:slo_errors_per_request:ratio_rate${short}`],
        `${name}: windows of pair ${i + 1}`,
      );
      for (const g of group) assert.ok(Math.abs(g.threshold - factor * budget) < 1e-12, `${name}: ${g.series} > ${g.threshold}, expected ${factor} x ${budget}`);
    });
  }
  assert.is(alerts.find((a) => a.name === "GiropopsSenhasErrorBudgetBurnFast")?.labels.severity, "critical");
  assert.is(alerts.find((a) => a.name === "GiropopsSenhasErrorBudgetBurnSlow")?.labels.severity, "warning");
});

test("the app's rules use only series and labels the app exports (from apps/giropops-senhas/src/metrics.mts)", async () => {
  const exported = await appSeries();
  assert.ok(exported.has("http_request_duration_seconds_bucket") && exported.has("senha_gerada_total"), "the app's exposition changed shape");
  const appRules = rules.filter((r) => r.ruleObject === APP_RULE);
  assert.ok(appRules.length > 0);
  const recorded = new Set(rules.filter((r) => !r.alert).map((r) => r.name));
  assert.equal(unknownAppSeries(appRules.map((r) => ({ where: `rule ${r.name}`, expr: r.expr })), exported, recorded), []);
});

test("the high-error and latency thresholds are the ones the README promises (5% for 5m, p95 250 ms)", () => {
  const byName = new Map(alerts.map((a) => [a.name, a]));
  assert.match(byName.get("GiropopsSenhasHighErrorRate")!.expr, /ratio_rate5m > 0\.05\s*$/);
  assert.is(byName.get("GiropopsSenhasHighErrorRate")!.labels.severity, "critical");
  assert.match(byName.get("GiropopsSenhasHighLatency")!.expr, /p95_rate5m > 0\.25\s*$/);
  assert.match(byName.get("ContainerCPUHigh")!.expr, />\s*0\.8\s*$/);
  assert.match(byName.get("ContainerMemoryHigh")!.expr, />\s*0\.85\s*$/);
});

test("PrometheusRules, ServiceMonitors and HTTPRoutes validate against their CRD schemas", () => {
  for (const r of ofKind("PrometheusRule")) new PrometheusRule(r.object as any).validate();
  for (const r of ofKind("ServiceMonitor")) new ServiceMonitor(r.object as any).validate();
  for (const r of ofKind("HTTPRoute")) new HTTPRoute(r.object as any).validate();
});

test("the schema check is real: a rule without expr is rejected", () => {
  const bad = structuredClone(ofKind("PrometheusRule")[0]!.object);
  delete bad.spec.groups[0].rules[0].expr;
  assert.throws(() => new PrometheusRule(bad as any).validate());
});

test("Argo CD ServiceMonitors select the upstream metrics Services by name label, port metrics, in argocd", () => {
  const monitors = ofKind("ServiceMonitor").map((r) => r.object);
  const selected = monitors.map((m) => m.spec.selector.matchLabels["app.kubernetes.io/name"]).sort();
  assert.equal(selected, ["argocd-applicationset-controller", "argocd-metrics", "argocd-notifications-controller-metrics", "argocd-repo-server", "argocd-server-metrics"]);
  for (const m of monitors) {
    assert.equal(m.spec.namespaceSelector, { matchNames: ["argocd"] }, m.metadata.name);
    assert.equal(m.spec.endpoints.map((e: any) => e.port), ["metrics"], m.metadata.name);
  }
});

test("HTTPRoutes attach to the platform Gateway and reach the chart's Services", () => {
  const expected: Record<string, [string, number]> = {
    grafana: ["kube-prometheus-stack-grafana", 80],
    prometheus: ["kube-prometheus-stack-prometheus", 9090],
    alertmanager: ["kube-prometheus-stack-alertmanager", 9093],
  };
  for (const r of ofKind("HTTPRoute")) {
    const route = r.object;
    const [service, port] = expected[route.metadata.name]!;
    assert.equal(route.spec.parentRefs, [{ name: "platform", namespace: "traefik", sectionName: "websecure" }]);
    assert.equal(route.spec.hostnames, [`${route.metadata.name}.localhost`]);
    assert.equal(route.spec.rules[0].backendRefs, [{ name: service, port }]);
  }
});

// ---- break something: the checks must notice ------------------------------

function brokenCopy(edit: (text: string) => string): string {
  const root = mkdtempSync(join(tmpdir(), "monitoring-rules-"));
  cpSync(join(REPO_ROOT, CONFIG_DIR), join(root, CONFIG_DIR), { recursive: true });
  const file = join(root, CONFIG_DIR, "rules/giropops-senhas.yaml");
  const before = readFileSync(file, "utf8");
  const after = edit(before);
  assert.is.not(after, before, "the edit changed nothing");
  writeFileSync(file, after);
  return root;
}

test("a PromQL syntax error in a copy of the rules is reported with the rule's name", () => {
  const root = brokenCopy((t) => t.replace("expr: giropops:slo_errors_per_request:ratio_rate5m > 0.05", "expr: sum(giropops:slo_errors_per_request:ratio_rate5m > 0.05"));
  try {
    const found = ruleProblems(rulesOf(renderConfig({ root })));
    assert.is(found.length, 1, found.join("\n"));
    assert.match(found[0]!, /rule GiropopsSenhasHighErrorRate .*syntax error/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("rate() over an instant vector and an unknown function are reported", () => {
  const root = brokenCopy((t) =>
    t
      .replace('rate(http_request_duration_seconds_count{namespace="giropops-senhas"}[5m])', 'rate(http_request_duration_seconds_count{namespace="giropops-senhas"})')
      .replace("histogram_quantile(0.95,", "histogram_quantil(0.95,"),
  );
  try {
    const found = ruleProblems(rulesOf(renderConfig({ root })));
    assert.ok(found.some((p) => /giropops:http_requests:rate5m .*rate\(\) needs a range vector/.test(p)), found.join("\n"));
    assert.ok(found.some((p) => /giropops:http_request_duration_seconds:p95_rate5m .*syntax error/.test(p)), found.join("\n"));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a metric the app does not export, or a wrong burn-rate factor, is caught", async () => {
  const root = brokenCopy((t) => t.replace("rate(http_request_duration_seconds_count{namespace=\"giropops-senhas\"}[5m])", "rate(http_requests_total{namespace=\"giropops-senhas\"}[5m])").replace("> (6 * (1 - 0.999))", "> (5 * (1 - 0.999))"));
  try {
    const copy = rulesOf(renderConfig({ root }));
    const recorded = new Set(copy.filter((r) => !r.alert).map((r) => r.name));
    const unknown = unknownAppSeries(copy.map((r) => ({ where: `rule ${r.name}`, expr: r.expr })), await appSeries(), recorded);
    assert.ok(unknown.some((p) => /http_requests_total is not exported/.test(p)), unknown.join("\n"));
    const fast = copy.find((r) => r.name === "GiropopsSenhasErrorBudgetBurnFast")!;
    assert.ok(andedThresholds(fast.expr).flat().some((g) => Math.abs(g.threshold - 0.005) < 1e-12));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("an alert without runbook section is caught by the anchor check", () => {
  const anchors = anchorsOf("# Title\n\n## Runbooks\n\n### PodCrashLooping\n\n```sh\n# not a heading\n```\n");
  assert.ok(anchors.has("podcrashlooping"));
  assert.not.ok(anchors.has("podnotready"));
  assert.not.ok(anchors.has("not-a-heading"));
});

test.run();
