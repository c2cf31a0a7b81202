// The two Argo CD Applications of gitops/monitoring and the per-cluster patches
// on them: chart pin, sync settings, laptop sizing, no image overrides, Grafana's
// credentials from a Secret, and Prometheus selecting everything.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { parse as parseYaml, parseAllDocuments } from "yaml";
import { Application } from "@kubernetes-models/argo-cd/argoproj.io/v1alpha1";
import { CLUSTER_KINDS } from "../../scripts/lib/config.mts";
import { PLACEHOLDER_REPO, REPO_ROOT, SOURCE_LABEL } from "../lib/render.mts";

const CHART_APP = "gitops/monitoring/application.yaml";
const CONFIG_APP = "gitops/monitoring/config/application.yaml";
const read = (file: string): Record<string, any> => parseYaml(readFileSync(join(REPO_ROOT, file), "utf8"));
const chart = read(CHART_APP);
const config = read(CONFIG_APP);
const values = chart.spec.source.helm.valuesObject;
// Chart defaults read from kube-prometheus-stack and its subcharts at the pinned version.
const defaults: Record<string, any> = read("test/validate/chart-defaults.yaml");
const wave = (app: Record<string, any>) => Number(app.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0);

const at = (object: any, path: string): any => path.split(".").reduce((o, key) => o?.[key], object);

// Components the chart runs and where their resources live in the values.
// The config reloader runs twice (beside Prometheus and Alertmanager).
const SIZED: [path: string, copies: number][] = [
  ["prometheus.prometheusSpec.resources", 1],
  ["prometheusOperator.prometheusConfigReloader.resources", 2],
  ["alertmanager.alertmanagerSpec.resources", 1],
  ["grafana.resources", 1],
  ["grafana.sidecar.resources", 1],
  ["prometheusOperator.resources", 1],
  ["kube-state-metrics.resources", 1],
  ["prometheus-node-exporter.resources", 1],
];

function quantity(q: string | number): number {
  const match = /^(\d+(?:\.\d+)?)(m|Ki|Mi|Gi)?$/.exec(String(q));
  if (!match) throw new Error(`unreadable quantity ${q}`);
  const scale: Record<string, number> = { "": 1, m: 0.001, Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };
  return Number(match[1]) * scale[match[2] ?? ""]!;
}

/** Every `image:` map in the values, with where it is. */
function images(object: any, path = "valuesObject"): { path: string; image: Record<string, any> }[] {
  if (!object || typeof object !== "object") return [];
  return Object.entries(object).flatMap(([key, value]) =>
    key === "image" && value && typeof value === "object" && "repository" in value ? [{ path: `${path}.${key}`, image: value as Record<string, any> }] : images(value, `${path}.${key}`),
  );
}

test("the chart Application pins kube-prometheus-stack 88.5.3 from prometheus-community with inline values", () => {
  assert.is(chart.metadata.name, "monitoring");
  assert.is(chart.metadata.namespace, "argocd");
  assert.is(chart.spec.project, "platform");
  assert.equal(chart.spec.destination, { server: "https://kubernetes.default.svc", namespace: "monitoring" });
  assert.not.ok(chart.spec.sources, "single source (the root patches /spec/source)");
  assert.equal(
    [chart.spec.source.repoURL, chart.spec.source.chart, chart.spec.source.targetRevision],
    ["https://prometheus-community.github.io/helm-charts", "kube-prometheus-stack", "88.5.3"],
  );
  assert.type(values, "object");
  assert.not.ok(chart.spec.source.helm.values, "values as an object, not a string");
  assert.is(chart.spec.source.helm.releaseName, "kube-prometheus-stack", "the HTTPRoutes name this release's Services");
});

test("both Applications sync automatically with prune, self-heal and retries; the chart with server-side apply", () => {
  for (const app of [chart, config]) {
    assert.equal(app.spec.syncPolicy.automated, { prune: true, selfHeal: true }, app.metadata.name);
    assert.ok(app.spec.syncPolicy.retry?.limit > 0, `${app.metadata.name}: retry`);
    assert.ok(app.spec.revisionHistoryLimit >= 1, `${app.metadata.name}: history for rollbacks`);
    assert.ok(app.spec.syncPolicy.syncOptions.includes("CreateNamespace=true"), app.metadata.name);
  }
  assert.ok(chart.spec.syncPolicy.syncOptions.includes("ServerSideApply=true"), "the CRDs are too big for client-side apply");
  assert.ok(config.spec.syncPolicy.syncOptions.includes("SkipDryRunOnMissingResource=true"), "its CRDs come from the chart");
});

test("the config comes after the chart that brings its CRDs, and the chart before the app's ServiceMonitor (wave < 1)", () => {
  assert.ok(wave(chart) < wave(config), `chart wave ${wave(chart)}, config wave ${wave(config)}`);
  assert.ok(wave(config) < 1);
});

test("monitoring-config is this repo's path with the placeholder repo and the source label bootstrap patches", () => {
  assert.is(config.metadata.name, "monitoring-config");
  assert.is(config.metadata.labels[SOURCE_LABEL], "git");
  assert.equal(config.spec.source, { repoURL: PLACEHOLDER_REPO, targetRevision: "main", path: "gitops/monitoring/config" });
  assert.equal(config.spec.destination, { server: "https://kubernetes.default.svc", namespace: "monitoring" });
  assert.is(config.spec.project, "platform");
});

test("both Applications validate against Argo CD's Application schema", () => {
  new Application(chart as any).validate();
  new Application(config as any).validate();
});

test("the values set no image: the chart's own pins apply and move with the chart (the defaults relied on are recorded)", () => {
  assert.equal(images(values), []);
  const recorded = defaults["kube-prometheus-stack"];
  assert.is(recorded.version, chart.spec.source.targetRevision, "defaults read at the pinned version");
  const repositories = Object.entries(recorded.defaults as Record<string, string>).filter(([path]) => path.endsWith("/image/repository"));
  assert.equal(repositories.map(([, r]) => r).sort(), [
    "grafana/grafana",
    "kiwigrid/k8s-sidecar",
    "kube-state-metrics/kube-state-metrics",
    "prometheus-operator/prometheus-config-reloader",
    "prometheus-operator/prometheus-operator",
    "prometheus/alertmanager",
    "prometheus/node-exporter",
    "prometheus/prometheus",
  ]);
});

test("every component has CPU and memory requests and limits, limits >= requests", () => {
  for (const [path] of SIZED) {
    const r = at(values, path);
    for (const kind of ["cpu", "memory"]) {
      assert.ok(r?.requests?.[kind] && r?.limits?.[kind], `${path}: ${kind} request and limit`);
      assert.ok(quantity(r.limits[kind]) >= quantity(r.requests[kind]), `${path}: ${kind} limit below request`);
    }
  }
});

test("the stack fits a laptop: at most 1.25 GiB of memory requested and 3.5 GiB of limits on one node", () => {
  const sum = (kind: "requests" | "limits") => SIZED.reduce((total, [path, copies]) => total + copies * quantity(at(values, path)[kind].memory), 0);
  assert.ok(sum("requests") <= 1.25 * 2 ** 30, `requests ${(sum("requests") / 2 ** 20).toFixed(0)} Mi`);
  assert.ok(sum("limits") <= 3.5 * 2 ** 30, `limits ${(sum("limits") / 2 ** 20).toFixed(0)} Mi`);
});

test("Prometheus keeps 3 days (the slowest SLO window) capped at 2 GB, and selects monitors and rules in all namespaces", () => {
  const spec = values.prometheus.prometheusSpec;
  assert.is(spec.retention, "3d");
  assert.is(spec.retentionSize, "2GB");
  for (const kind of ["serviceMonitor", "podMonitor", "rule", "probe", "scrapeConfig"]) {
    assert.is(spec[`${kind}SelectorNilUsesHelmValues`], false, `${kind}SelectorNilUsesHelmValues`);
    assert.not.ok(spec[`${kind}Selector`], `${kind}Selector left empty (= everything)`);
  }
});

test("the control-plane scrapes that bind to 127.0.0.1 (or are unreachable on OKE) are off", () => {
  for (const component of ["kubeControllerManager", "kubeScheduler", "kubeEtcd", "kubeProxy"]) assert.is(values[component]?.enabled, false, component);
});

test("Grafana reads its admin login from the grafana-admin Secret; no password is written in the values", () => {
  assert.equal(values.grafana.admin, { existingSecret: "grafana-admin" });
  // The keys bootstrap writes are the chart's defaults.
  const recorded = defaults["kube-prometheus-stack"].defaults;
  assert.is(recorded["grafana/admin/userKey"], "admin-user");
  assert.is(recorded["grafana/admin/passwordKey"], "admin-password");
  const text = JSON.stringify(values);
  assert.not.match(text, /"adminPassword"/);
  assert.not.match(text, /"password"\s*:/i);
});

test("the Grafana sidecar loads dashboards labelled grafana_dashboard=1 from every namespace", () => {
  // The chart's defaults (recorded with their source), so the values leave them alone.
  assert.is(values.grafana.sidecar.dashboards, undefined);
  const recorded = defaults["kube-prometheus-stack"].defaults;
  assert.equal(
    ["enabled", "label", "labelValue", "searchNamespace", "provider/allowUiUpdates"].map((k) => recorded[`grafana/sidecar/dashboards/${k}`]),
    [true, "grafana_dashboard", "1", "ALL", false],
  );
  const kustomization = read("gitops/monitoring/config/kustomization.yaml");
  assert.equal(kustomization.generatorOptions, { disableNameSuffixHash: true, labels: { grafana_dashboard: "1" } });
});

test("the operator runs without the admission webhook and hence without its TLS certificate", () => {
  // With the webhook off nothing creates the certificate Secret the TLS listener mounts.
  assert.is(values.prometheusOperator.admissionWebhooks.enabled, false);
  assert.is(values.prometheusOperator.tls.enabled, false);
});

test("our rules replace the chart's KubePodCrashLooping and KubePodNotReady instead of doubling them", () => {
  assert.equal(values.defaultRules.disabled, { KubePodCrashLooping: true, KubePodNotReady: true });
});

// ---- per-cluster patches -----------------------------------------------------

const PATCHED_CLUSTERS = ["oke"];

/** The two Applications with clusters/<name>/patches/monitoring.yaml applied by kustomize, as the cluster root does. */
function patched(cluster: string, patchText?: string): Record<string, any>[] {
  const root = mkdtempSync(join(tmpdir(), "monitoring-patch-"));
  try {
    const patch = `clusters/${cluster}/patches/monitoring.yaml`;
    for (const file of [CHART_APP, CONFIG_APP, patch]) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      cpSync(join(REPO_ROOT, file), join(root, file));
    }
    if (patchText) writeFileSync(join(root, patch), patchText);
    writeFileSync(join(root, "kustomization.yaml"), JSON.stringify({ resources: [CHART_APP, CONFIG_APP], patches: [{ path: patch }] }));
    const result = spawnSync("kubectl", ["kustomize", root], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`kustomize with ${patch}: ${result.stderr.trim().split("\n").pop()}`);
    return parseAllDocuments(result.stdout).map((d) => d.toJS());
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

test("only OKE patches monitoring; kind and minikube run the base as is", () => {
  for (const cluster of CLUSTER_KINDS) {
    assert.is(existsSync(join(REPO_ROOT, `clusters/${cluster}/patches/monitoring.yaml`)), PATCHED_CLUSTERS.includes(cluster), cluster);
  }
});

test("the OKE patch applies to the monitoring Application and keeps the rest of the values", () => {
  const [app, cfg] = patched("oke");
  assert.is(app!.metadata.name, "monitoring");
  new Application(app as any).validate();
  const spec = app!.spec.source.helm.valuesObject.prometheus.prometheusSpec;
  assert.is(spec.retention, "7d");
  assert.ok(quantity(spec.resources.limits.memory) > quantity(values.prometheus.prometheusSpec.resources.limits.memory));
  // A merge, not a replacement: untouched values survive.
  assert.is(spec.serviceMonitorSelectorNilUsesHelmValues, false);
  assert.equal(app!.spec.source.helm.valuesObject.grafana.admin, values.grafana.admin);
  assert.equal(cfg, config);
});

test("a patch aimed at an Application that does not exist is an error, not a silent no-op", () => {
  assert.throws(() => patched("oke", "apiVersion: argoproj.io/v1alpha1\nkind: Application\nmetadata: { name: monitorin, namespace: argocd }\nspec: { project: x }\n"), /kustomize with clusters\/oke/);
});

test.run();
