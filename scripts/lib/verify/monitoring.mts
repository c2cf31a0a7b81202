// Monitoring proven from the outside: Prometheus scrapes the app and has our
// alert rules loaded, Grafana has our dashboards. What "our" means is read from
// the repository (the rendered gitops/monitoring tree), never a list kept here.
import { existsSync, readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { renderKustomization } from "../argocd.mts";
import { secretValue, type KubeObject } from "../kube.mts";
import { APP_NAMESPACE, getJson, plural, resultOf, serviceProxy, type Check, type Verdict, type VerifyContext } from "./checks.mts";

export const TARGET_QUERY = `up{namespace="${APP_NAMESPACE}"}`;
/**
 * The governing Service prometheus-operator makes for every Prometheus. Its
 * port is named after the Prometheus' spec.portName (kube-prometheus-stack
 * 88.5.3 sets "http-web", the operator's default is "web"), so verify reads
 * the name from the Service instead of guessing it: prometheus-operator
 * v0.93.0, pkg/prometheus/common.go BuildStatefulSetService puts that port
 * first; pkg/prometheus/server/operator.go appends Thanos' "grpc" after it.
 */
const PROMETHEUS = { namespace: "monitoring", service: "prometheus-operated" };

type ServicePort = { name?: string; port?: number };

/** The port of the prometheus-operated Service that serves Prometheus' HTTP API. */
export function prometheusPort(service: { spec?: { ports?: ServicePort[] } } | undefined): string | undefined {
  const ports = (service?.spec?.ports ?? []).filter((p) => p.name !== "grpc");
  const port = ports[0];
  if (!port) return undefined;
  return port.name || (port.port ? String(port.port) : undefined);
}

// ---- what the repository declares -------------------------------------------------

/** Every directory under `dir` (itself included) that has a kustomization.yaml. */
export function kustomizationDirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found = existsSync(join(dir, "kustomization.yaml")) ? [dir] : [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) found.push(...kustomizationDirs(path));
  }
  return found;
}

/** The objects gitops/monitoring renders to (`kubectl kustomize` of each kustomization in it). */
export async function renderedMonitoring(ctx: Pick<VerifyContext, "runner" | "repoRoot">): Promise<KubeObject[]> {
  const objects: KubeObject[] = [];
  for (const dir of kustomizationDirs(join(ctx.repoRoot, "gitops", "monitoring"))) {
    objects.push(...(await renderKustomization(ctx.runner, ctx.repoRoot, relative(ctx.repoRoot, dir))));
  }
  return objects;
}

export function ruleGroupsIn(objects: KubeObject[]): string[] {
  return objects
    .filter((o) => o.kind === "PrometheusRule")
    .flatMap((o) => ((o.spec?.groups ?? []) as { name?: string }[]).map((g) => g.name).filter((n): n is string => Boolean(n)));
}

/** Titles of the dashboards in ConfigMaps labelled for the Grafana sidecar. */
export function dashboardTitlesIn(objects: KubeObject[]): string[] {
  const titles: string[] = [];
  for (const o of objects) {
    if (o.kind !== "ConfigMap" || o.metadata.labels?.grafana_dashboard === undefined) continue;
    for (const text of Object.values((o.data ?? {}) as Record<string, string>)) {
      try {
        const title = (JSON.parse(text) as { title?: unknown }).title;
        if (typeof title === "string") titles.push(title);
      } catch {
        // not a dashboard JSON: nothing to expect from it
      }
    }
  }
  return titles;
}

// ---- judges ----------------------------------------------------------------------

type Sample = { metric?: Record<string, string>; value?: [number, string] };
export type PromQueryAnswer = { status?: string; error?: string; data?: { resultType?: string; result?: Sample[] } };
export type PromRulesAnswer = { status?: string; error?: string; data?: { groups?: { name?: string; file?: string; rules?: unknown[] }[] } };

export function judgeTargets(answer: PromQueryAnswer): Verdict {
  const hint = "kubectl -n giropops-senhas get servicemonitor,svc,endpointslices; open https://prometheus.<domain>/targets (on OKE: kubectl -n monitoring port-forward svc/kube-prometheus-stack-prometheus 9090)";
  if (answer.status !== "success") return { ok: false, summary: `Prometheus query failed: ${answer.error ?? "no answer"}`, evidence: [], hint };
  const samples = answer.data?.result ?? [];
  const describe = (s: Sample) => `${s.metric?.job ?? "?"} ${s.metric?.pod ?? s.metric?.instance ?? "?"} up=${s.value?.[1] ?? "?"}`;
  const up = samples.filter((s) => s.value?.[1] === "1");
  const down = samples.filter((s) => s.value?.[1] !== "1");
  const evidence = [`${TARGET_QUERY}: ${plural(samples.length, "series", "series")}`, ...samples.map(describe)];
  if (samples.length === 0) return { ok: false, summary: "Prometheus has no target in namespace giropops-senhas", evidence, hint };
  if (up.length === 0) return { ok: false, summary: "every giropops-senhas target is down", evidence, hint };
  const extra = down.length > 0 ? ` (${down.length} down)` : "";
  return { ok: true, summary: `Prometheus scrapes ${plural(up.length, "app target")}${extra}`, evidence };
}

export function judgeRules(answer: PromRulesAnswer, expected: string[]): Verdict {
  const hint = "kubectl -n monitoring get prometheusrules; kubectl -n monitoring logs statefulset/prometheus-kube-prometheus-stack-prometheus -c config-reloader --tail=30";
  if (answer.status !== "success") return { ok: false, summary: `Prometheus rules API failed: ${answer.error ?? "no answer"}`, evidence: [], hint };
  if (expected.length === 0) return { ok: false, summary: "no PrometheusRule groups found in gitops/monitoring to look for", evidence: [], hint: "kubectl kustomize gitops/monitoring/config" };
  const loaded = new Set((answer.data?.groups ?? []).map((g) => g.name));
  const missing = expected.filter((name) => !loaded.has(name));
  const evidence = [`rule groups loaded: ${loaded.size}; from git: ${expected.length}`, ...expected.map((name) => `${loaded.has(name) ? "loaded " : "MISSING"} ${name}`)];
  if (missing.length > 0) return { ok: false, summary: `${plural(missing.length, "rule group")} from git not loaded: ${missing.join(", ")}`, evidence, hint };
  return { ok: true, summary: `all ${plural(expected.length, "rule group")} from gitops/monitoring loaded`, evidence };
}

export type GrafanaSearchHit = { title?: string; uid?: string; type?: string };

export function judgeDashboards(status: number, hits: GrafanaSearchHit[] | undefined, expected: string[]): Verdict {
  const hint = "kubectl -n monitoring get configmaps -l grafana_dashboard; kubectl -n monitoring logs deploy/kube-prometheus-stack-grafana -c grafana-sc-dashboard --tail=30";
  if (status === 401 || status === 403) return { ok: false, summary: `Grafana refused the admin login from Secret monitoring/grafana-admin (HTTP ${status})`, evidence: [], hint: "kubectl -n monitoring rollout restart deploy/kube-prometheus-stack-grafana (the password is read at first start)" };
  if (status !== 200 || !Array.isArray(hits)) return { ok: false, summary: `Grafana search answered HTTP ${status}`, evidence: [], hint };
  const titles = new Set(hits.filter((h) => h.type === undefined || h.type === "dash-db").map((h) => h.title));
  const missing = expected.filter((title) => !titles.has(title));
  const evidence = [`Grafana dashboards: ${titles.size}`, ...expected.map((t) => `${titles.has(t) ? "found  " : "MISSING"} ${t}`)];
  if (expected.length === 0) {
    return titles.size > 0
      ? { ok: true, summary: `Grafana has ${plural(titles.size, "dashboard")} (none declared in git to match)`, evidence }
      : { ok: false, summary: "Grafana has no dashboards", evidence, hint };
  }
  if (missing.length > 0) return { ok: false, summary: `Grafana lacks ${missing.join(", ")}`, evidence, hint };
  return { ok: true, summary: `Grafana has all ${plural(expected.length, "dashboard")} from gitops/monitoring`, evidence };
}

/** Two verdicts as one: both must pass. */
export function both(a: Verdict, b: Verdict): Verdict {
  const ok = a.ok && b.ok;
  const verdict: Verdict = { ok, summary: ok ? `${a.summary}; ${b.summary}` : [a, b].filter((v) => !v.ok).map((v) => v.summary).join("; "), evidence: [...a.evidence, ...b.evidence] };
  const hint = [a, b].filter((v) => !v.ok && v.hint).map((v) => v.hint).join("; ");
  if (hint) verdict.hint = hint;
  return verdict;
}

// ---- checks -------------------------------------------------------------------------


export const prometheusCheck: Check = {
  name: "prometheus",
  title: "Prometheus scrapes the app and has the platform rules loaded",
  hint: "kubectl -n monitoring get pods,svc",
  async run(ctx) {
    const service = await getJson<{ spec?: { ports?: ServicePort[] } }>(ctx.kube, `/api/v1/namespaces/${PROMETHEUS.namespace}/services/${PROMETHEUS.service}`);
    const port = prometheusPort(service);
    if (!port) return resultOf("prometheus", { ok: false, summary: `Service ${PROMETHEUS.namespace}/${PROMETHEUS.service} has no HTTP port`, evidence: [], hint: `kubectl -n ${PROMETHEUS.namespace} get svc ${PROMETHEUS.service} -o yaml; kubectl -n monitoring get prometheus -o yaml` });
    const prom = (path: string) => serviceProxy(PROMETHEUS.namespace, PROMETHEUS.service, port, path);
    const targets = await getJson<PromQueryAnswer>(ctx.kube, prom("/api/v1/query"), { query: TARGET_QUERY });
    const rules = await getJson<PromRulesAnswer>(ctx.kube, prom("/api/v1/rules"));
    const expected = ruleGroupsIn(await renderedMonitoring(ctx));
    return resultOf("prometheus", both(judgeTargets(targets), judgeRules(rules, expected)));
  },
};

export const grafanaCheck: Check = {
  name: "grafana",
  title: "Grafana has the dashboards from gitops/monitoring",
  hint: "kubectl -n monitoring get secret grafana-admin; kubectl -n monitoring get pods -l app.kubernetes.io/name=grafana",
  async run(ctx) {
    const secret = await getJson<{ data?: Record<string, string> }>(ctx.kube, "/api/v1/namespaces/monitoring/secrets/grafana-admin");
    const decode = (key: string) => secretValue(secret, key) ?? "";
    // Kept in this scope only: never printed, never in evidence.
    const authorization = `Basic ${Buffer.from(`${decode("admin-user")}:${decode("admin-password")}`).toString("base64")}`;
    const url = `${ctx.url("grafana")}/api/search?type=dash-db&limit=500`;
    const response = await ctx.http(url, { headers: { authorization, accept: "application/json" } });
    let hits: GrafanaSearchHit[] | undefined;
    try {
      hits = JSON.parse(response.text) as GrafanaSearchHit[];
    } catch {
      hits = undefined;
    }
    const expected = dashboardTitlesIn(await renderedMonitoring(ctx));
    const verdict = judgeDashboards(response.status, hits, expected);
    verdict.evidence.unshift(`GET ${url} (admin from Secret monitoring/grafana-admin) → ${response.status}`);
    return resultOf("grafana", verdict);
  },
};
