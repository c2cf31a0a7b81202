// The Falco events dashboard (gitops/falco/dashboards): shipped as a ConfigMap
// Grafana's sidecar loads, every query valid PromQL over the series Falcosidekick
// 2.34.1 really exports (names and labels read from its stats_prometheus.go).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { kustomize } from "./lib/admission.mts";
import { problems, selectors } from "../monitoring/promql.mts";

const SERIES: Record<string, string[]> = {
  falcosecurity_falcosidekick_falco_events_total: ["hostname", "rule", "priority", "priority_raw", "source", "k8s_ns_name", "k8s_pod_name"],
  falcosecurity_falcosidekick_outputs_total: ["destination", "status"],
  falcosecurity_falcosidekick_inputs_total: ["source", "status"],
};

const configMap = kustomize("gitops/falco").find((o) => o.kind === "ConfigMap" && o.metadata.labels?.grafana_dashboard === "1");
const dashboard = JSON.parse(configMap?.data?.["falco-events.json"] ?? "null");
const queries: { panel: string; expr: string }[] = (dashboard?.panels ?? []).flatMap((p: any) =>
  (p.targets ?? []).map((t: any) => ({ panel: p.title, expr: String(t.expr) })),
);

test("a dashboard ConfigMap labelled for Grafana's sidecar", () => {
  assert.ok(configMap, "no ConfigMap with grafana_dashboard: \"1\" in gitops/falco");
  assert.is(dashboard.uid, "falco-events");
  assert.ok(queries.length >= 4);
  const ids = dashboard.panels.map((p: any) => p.id);
  assert.is(new Set(ids).size, ids.length, "panel ids are unique");
});

test("every query parses and selects only series Falcosidekick exports, by their labels", () => {
  for (const { panel, expr } of queries) {
    assert.equal(problems(expr), [], `${panel}: ${expr}`);
    for (const s of selectors(expr)) {
      assert.ok(s.metric && s.metric in SERIES, `${panel}: unknown series ${s.metric}`);
      for (const label of s.labels) assert.ok(SERIES[s.metric!]!.includes(label), `${panel}: ${s.metric} has no label ${label}`);
    }
    for (const [, by] of expr.matchAll(/by \(([^)]*)\)/g))
      for (const label of by!.split(",").map((l) => l.trim()))
        assert.ok(Object.values(SERIES).some((labels) => labels.includes(label)), `${panel}: groups by unknown label ${label}`);
  }
});

test.run();
