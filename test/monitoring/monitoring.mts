// What the monitoring tests look at, read the way Argo CD gets it: the render
// of gitops/monitoring/config, the rules and dashboards inside it, the runbook
// anchors of gitops/monitoring/README.md and the series the app really exports.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT, kustomize, type Rendered } from "../lib/render.mts";
import { problems, selectors, expandGrafanaVariables } from "./promql.mts";

export const CONFIG_DIR = "gitops/monitoring/config";
export const README = "gitops/monitoring/README.md";
/** How every runbook_url starts: the external label the root Application sets to the deployed repository (scripts/lib/alerts.mts). */
export const RUNBOOK_BASE = "{{ $externalLabels.runbook_base }}/gitops/monitoring/README.md#";
/** The PrometheusRule whose expressions may only use the app's own series. */
export const APP_RULE = "giropops-senhas";
export const APP_DASHBOARD_UID = "giropops-senhas";
/** Labels Prometheus adds to every scraped series (target labels), not the app. */
export const TARGET_LABELS = new Set(["namespace", "job", "pod", "instance", "service", "endpoint", "container"]);
/** Series Prometheus itself makes. */
export const PROMETHEUS_SERIES = new Set(["up", "ALERTS", "ALERTS_FOR_STATE"]);

export type Rule = { group: string; name: string; expr: string; labels: Record<string, string>; annotations: Record<string, string>; alert: boolean; ruleObject: string; source: string };
export type Query = { dashboard: string; uid: string; panel: string; panelId: unknown; expr: string };

export function renderConfig(opts: { root?: string } = {}): Rendered[] {
  return kustomize(CONFIG_DIR, opts);
}

export function rulesOf(rendered: Rendered[]): Rule[] {
  return rendered
    .filter((r) => r.object.kind === "PrometheusRule")
    .flatMap((r) =>
      (r.object.spec?.groups ?? []).flatMap((g: any) =>
        (g.rules ?? []).map((rule: any) => ({
          group: String(g.name),
          name: String(rule.alert ?? rule.record),
          expr: String(rule.expr ?? ""),
          labels: rule.labels ?? {},
          annotations: rule.annotations ?? {},
          alert: rule.alert !== undefined,
          ruleObject: String(r.object.metadata?.name),
          source: r.source,
        })),
      ),
    );
}

/** Dashboards as Argo CD applies them: the JSON inside the generated ConfigMaps. */
export function dashboardsOf(rendered: Rendered[]): { configMap: Record<string, any>; file: string; json: Record<string, any> }[] {
  return rendered
    .filter((r) => r.object.kind === "ConfigMap" && r.object.metadata?.labels?.grafana_dashboard !== undefined)
    .flatMap((r) =>
      Object.entries(r.object.data ?? {}).map(([file, text]) => {
        let json: Record<string, any>;
        try {
          json = JSON.parse(String(text));
        } catch (error) {
          throw new Error(`${r.object.metadata.name}/${file} is not valid JSON: ${(error as Error).message}`);
        }
        return { configMap: r.object, file, json };
      }),
    );
}

/** Every panel, including those nested in collapsed rows. */
export function panelsOf(dashboard: Record<string, any>): Record<string, any>[] {
  return (dashboard.panels ?? []).flatMap((p: any) => [p, ...(p.panels ?? [])]);
}

export function queriesOf(dashboard: Record<string, any>): Query[] {
  const queries: Query[] = panelsOf(dashboard).flatMap((p) =>
    (p.targets ?? []).map((t: any) => ({ dashboard: dashboard.title, uid: dashboard.uid, panel: `"${p.title}" (id ${p.id}, ${t.refId})`, panelId: p.id, expr: String(t.expr ?? "") })),
  );
  for (const v of dashboard.templating?.list ?? []) {
    if (v.type !== "query") continue;
    const query = typeof v.query === "string" ? v.query : v.query?.query;
    // label_values(selector, label) is Grafana syntax: check the selector inside.
    const inner = /^label_values\((.*),\s*\w+\)$/.exec(String(query))?.[1] ?? String(query);
    queries.push({ dashboard: dashboard.title, uid: dashboard.uid, panel: `variable $${v.name}`, panelId: undefined, expr: inner });
  }
  return queries;
}

/** "Problem: where" lines for every expression that does not parse or misuses a function. */
export function promqlProblems(items: { where: string; expr: string }[]): string[] {
  return items.flatMap(({ where, expr }) => problems(expr).map((p) => `${where}: ${p}`));
}

export function ruleProblems(rules: Rule[]): string[] {
  return promqlProblems(rules.map((r) => ({ where: `${r.source} rule ${r.name} (group ${r.group})`, expr: r.expr })));
}

export function dashboardProblems(queries: Query[]): string[] {
  return promqlProblems(queries.map((q) => ({ where: `dashboard "${q.dashboard}" panel ${q.panel}`, expr: expandGrafanaVariables(q.expr) })));
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  let inFence = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) inFence = !inFence;
    const heading = !inFence && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) anchors.add(heading[1]!.toLowerCase().replace(/[^\p{L}\p{N}\s_-]/gu, "").replace(/\s/g, "-"));
  }
  return anchors;
}

export function readme(): string {
  return readFileSync(join(REPO_ROOT, README), "utf8");
}

/**
 * The series the app exports and the labels on each, from the exposition text
 * of the app's own metrics module (after one observation, since prom-client
 * prints labelled series only once they have a value).
 */
export async function appSeries(): Promise<Map<string, Set<string>>> {
  const { createMetrics } = await import("../../apps/giropops-senhas/src/metrics.mts");
  const metrics = createMetrics(() => true);
  metrics.requestDuration.observe({ method: "GET", route: "/", status_code: 200 }, 0.01);
  metrics.senhasGeradas.inc();
  const series = new Map<string, Set<string>>();
  for (const line of (await metrics.registry.metrics()).split("\n")) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!match) continue;
    const labels = series.get(match[1]!) ?? new Set<string>();
    for (const pair of (match[2] ?? "").matchAll(/([a-zA-Z_]\w*)="/g)) labels.add(pair[1]!);
    series.set(match[1]!, labels);
  }
  return series;
}

/** Selectors that name a series the app does not export, or a label it does not carry. */
export function unknownAppSeries(items: { where: string; expr: string }[], exported: Map<string, Set<string>>, recorded: Set<string>): string[] {
  const found: string[] = [];
  for (const { where, expr } of items) {
    for (const s of selectors(expr)) {
      if (s.metric === undefined) {
        found.push(`${where}: selector ${s.text} has no metric name`);
        continue;
      }
      if (recorded.has(s.metric) || PROMETHEUS_SERIES.has(s.metric)) continue;
      const labels = exported.get(s.metric);
      if (!labels) {
        found.push(`${where}: ${s.metric} is not exported by apps/giropops-senhas (src/metrics.mts)`);
        continue;
      }
      for (const label of s.labels) {
        if (!labels.has(label) && !TARGET_LABELS.has(label)) found.push(`${where}: ${s.metric} has no label "${label}" (it has ${[...labels].join(", ") || "none"})`);
      }
    }
  }
  return found;
}
