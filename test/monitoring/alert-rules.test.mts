// Every alert and SLO rule the tree ships, evaluated by the real Prometheus
// engine (`promtool check rules` / `promtool test rules`, see promtool.mts for
// what 2.42 and the cluster's 3.x evaluate alike): for each alert one case
// where it fires, with its labels and annotations, and one where healthy
// traffic keeps it silent; the burn-rate alerts just below and just above
// 14.4x, 6x, 3x and 1x, and the short window gating the long one.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderConfig } from "./monitoring.mts";
import { PLACEHOLDER_RUNBOOK_BASE, counter, promtoolTest, tool, writeRuleFiles, type AlertCase, type Series, type UnitTest } from "./promtool.mts";

const rendered = renderConfig();
const RUNBOOK = `${PLACEHOLDER_RUNBOOK_BASE}/gitops/monitoring/README.md#`;

function passes(unit: UnitTest): void {
  const run = promtoolTest(rendered, unit);
  assert.ok(run.code === 0 && /SUCCESS/.test(run.output), `promtool test rules failed for "${unit.name}":\n${run.output}`);
}

// ---- the app's traffic: 10 000 user requests a minute, e of them 5xx --------

const APP = 'namespace="giropops-senhas", job="giropops-senhas", method="POST", route="/api/senha"';
/** User traffic as two counters (200 and 500) from phases [minutes, 5xx per minute] at 10 000 requests a minute. */
function traffic(phases: [number, number][], everyMinutes = 1): Series[] {
  return [
    { series: `http_request_duration_seconds_count{${APP}, status_code="200"}`, values: counter(phases.map(([m, e]) => [m, 10_000 - e]), everyMinutes) },
    { series: `http_request_duration_seconds_count{${APP}, status_code="500"}`, values: counter(phases, everyMinutes) },
    // Probe traffic failing hard must not count: /healthz is not a user request.
    { series: `http_request_duration_seconds_count{namespace="giropops-senhas", job="giropops-senhas", method="GET", route="/healthz", status_code="503"}`, values: counter(phases.map(([m]) => [m, 5_000]), everyMinutes) },
  ];
}
/** The day-long windows (2h to 3d) sampled every 5 minutes: the same ratios, far fewer samples. */
const daily = (phases: [number, number][]) => ({ interval: "5m", evaluationInterval: "5m", input_series: traffic(phases, 5) });

const fired = (alertname: string, eval_time: string, labels: Record<string, string>, annotations: Record<string, string>): AlertCase => ({ eval_time, alertname, exp_alerts: [{ exp_labels: labels, exp_annotations: annotations }] });
const silent = (alertname: string, eval_time: string): AlertCase => ({ eval_time, alertname, exp_alerts: [] });

const fast = (percent: string): Record<string, string> => ({
  summary: "Giropops Senhas is burning its 99.9% error budget fast.",
  description: `${percent} of user requests are failing with 5xx. At this rate the monthly error budget is gone in about two days or less.`,
  runbook_url: `${RUNBOOK}giropopssenhaserrorbudgetburnfast`,
});
const slow = (percent: string): Record<string, string> => ({
  summary: "Giropops Senhas is slowly burning its 99.9% error budget.",
  description: `${percent} of user requests are failing with 5xx, enough to miss the 99.9% objective if it goes on. Not urgent; open a ticket.`,
  runbook_url: `${RUNBOOK}giropopssenhaserrorbudgetburnslow`,
});
const SLO = { severity: "critical", slo: "giropops-senhas-availability", service: "giropops-senhas" };
const SLO_TICKET = { severity: "warning", slo: "giropops-senhas-availability", service: "giropops-senhas" };

test("promtool check rules accepts every rule group the tree ships", () => {
  const rules = writeRuleFiles(rendered);
  try {
    assert.equal(rules.files.sort(), ["giropops-senhas.rules.yaml", "workloads.rules.yaml"]);
    const run = tool("promtool", ["check", "rules", ...rules.files], rules.dir);
    assert.is(run.code, 0, run.output);
    assert.match(run.output, /SUCCESS: \d+ rules found/);
  } finally {
    rules.cleanup();
  }
});

test("the error ratio is 0, not empty, when no 5xx has ever happened, and the budget is untouched; with no traffic there is no ratio", () => {
  passes({
    name: "no 5xx yet",
    input_series: [{ series: `http_request_duration_seconds_count{${APP}, status_code="200"}`, values: counter([[30, 100]]) }],
    promql_expr_test: [
      ...["5m", "30m", "1h"].map((w) => ({ expr: `giropops:slo_errors_per_request:ratio_rate${w}`, eval_time: "30m", exp_samples: [{ labels: `giropops:slo_errors_per_request:ratio_rate${w}`, value: 0 }] })),
      { expr: "giropops:slo_error_budget_remaining:ratio3d", eval_time: "30m", exp_samples: [{ labels: "giropops:slo_error_budget_remaining:ratio3d", value: 1 }] },
    ],
  });
  passes({
    name: "no traffic",
    input_series: [{ series: 'up{namespace="giropops-senhas", job="giropops-senhas"}', values: "1x30" }],
    promql_expr_test: [{ expr: "giropops:slo_errors_per_request:ratio_rate5m", eval_time: "30m", exp_samples: [] }],
  });
});

test("BurnFast pages at 14.5x over 1h and 5m, stays quiet at 14.3x", () => {
  // Five healthy hours keep the 6h window below 6x: only the 1h pair decides.
  passes({ name: "14.5x", input_series: traffic([[300, 0], [70, 145]]), alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnFast", "370m", SLO, fast("1.45%"))] });
  passes({ name: "14.3x", input_series: traffic([[300, 0], [70, 143]]), alert_rule_test: [silent("GiropopsSenhasErrorBudgetBurnFast", "370m")] });
});

// Every value an annotation shows is read where the window lies wholly inside
// one phase: promtool may evaluate the recording groups (interval 30s) just
// before or just after the alerting group at the same instant.
test("BurnFast: once errors stop, the 5m window silences the page while the 1h window is still above 14.4x", () => {
  passes({
    name: "90 minutes at 20x, then 10 healthy minutes",
    input_series: traffic([[300, 0], [90, 200], [10, 0]]),
    alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnFast", "390m", SLO, fast("2%")), silent("GiropopsSenhasErrorBudgetBurnFast", "400m")],
    // The long window alone would still page.
    promql_expr_test: [{ expr: "giropops:slo_errors_per_request:ratio_rate1h > bool 0.0144", eval_time: "400m", exp_samples: [{ labels: "{}", value: 1 }] }],
  });
});

test("BurnFast pages at 6.1x over 6h and 30m, stays quiet at 5.9x", () => {
  passes({ name: "6.1x", input_series: traffic([[360, 61]]), alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnFast", "360m", SLO, fast("0.61%"))] });
  passes({ name: "5.9x", input_series: traffic([[360, 59]]), alert_rule_test: [silent("GiropopsSenhasErrorBudgetBurnFast", "360m")] });
});

test("BurnFast: 35 healthy minutes after 6h at 10x, the 30m window silences the 6h one", () => {
  passes({
    name: "6h at 10x, then 35 healthy minutes",
    input_series: traffic([[360, 100], [35, 0]]),
    alert_rule_test: [silent("GiropopsSenhasErrorBudgetBurnFast", "395m")],
    // The long window alone would still page.
    promql_expr_test: [{ expr: "giropops:slo_errors_per_request:ratio_rate6h > bool 0.006", eval_time: "395m", exp_samples: [{ labels: "{}", value: 1 }] }],
  });
});

test("BurnSlow tickets at 3.1x over 1d and 2h, stays quiet at 2.9x", () => {
  // 49.5 healthy hours keep the 3d window below 1x: only the 1d pair decides.
  passes({ name: "3.1x", ...daily([[2850, 0], [1470, 31]]), alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnSlow", "4320m", SLO_TICKET, slow("0.31%"))] });
  passes({ name: "2.9x", ...daily([[2850, 0], [1470, 29]]), alert_rule_test: [silent("GiropopsSenhasErrorBudgetBurnSlow", "4320m")] });
});

test("BurnSlow tickets at 1.1x over 3d and 6h, stays quiet at 0.9x; 6 healthy hours silence it", () => {
  passes({ name: "1.1x", ...daily([[4320, 11]]), alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnSlow", "4320m", SLO_TICKET, slow("0.11%"))] });
  passes({ name: "0.9x", ...daily([[4320, 9]]), alert_rule_test: [silent("GiropopsSenhasErrorBudgetBurnSlow", "4320m")] });
  passes({
    name: "1d at 5x, then 6h10m healthy",
    ...daily([[2850, 0], [1470, 50], [370, 0]]),
    alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnSlow", "4320m", SLO_TICKET, slow("0.5%")), silent("GiropopsSenhasErrorBudgetBurnSlow", "4690m")],
  });
});

test("HighErrorRate pages after 5 minutes above 5% 5xx, not at 4%", () => {
  const annotations = {
    summary: "More than 5% of Giropops Senhas requests fail with 5xx.",
    description: "6% of user requests answered 5xx over the last 5 minutes.",
    runbook_url: `${RUNBOOK}giropopssenhashigherrorrate`,
  };
  passes({ name: "6%", input_series: traffic([[20, 600]]), alert_rule_test: [fired("GiropopsSenhasHighErrorRate", "20m", { severity: "critical", service: "giropops-senhas" }, annotations)] });
  passes({ name: "4%", input_series: traffic([[20, 400]]), alert_rule_test: [silent("GiropopsSenhasHighErrorRate", "20m")] });
});

test("HighLatency warns when a route's p95 stays above 250 ms for 10 minutes, not at 175 ms", () => {
  const buckets = (per: Record<string, number>): Series[] =>
    Object.entries(per).map(([le, n]) => ({ series: `http_request_duration_seconds_bucket{${APP}, status_code="200", le="${le}"}`, values: counter([[30, n]]) }));
  passes({
    name: "p95 484 ms",
    input_series: buckets({ "0.1": 10, "0.25": 20, "0.5": 100, "+Inf": 100 }),
    alert_rule_test: [
      fired("GiropopsSenhasHighLatency", "30m", { severity: "warning", service: "giropops-senhas", route: "/api/senha" }, {
        summary: "Giropops Senhas p95 latency on /api/senha is above 250 ms.",
        description: "p95 latency of /api/senha has been 484.4ms for 10 minutes.",
        runbook_url: `${RUNBOOK}giropopssenhashighlatency`,
      }),
    ],
  });
  passes({ name: "p95 175 ms", input_series: buckets({ "0.1": 90, "0.25": 100, "0.5": 100, "+Inf": 100 }), alert_rule_test: [silent("GiropopsSenhasHighLatency", "30m")] });
});

test("Down pages after 5 minutes with no target up or none scraped at all, not while one answers", () => {
  const annotations = {
    summary: "Prometheus cannot scrape any Giropops Senhas pod.",
    description: "No giropops-senhas target has answered /metrics for 5 minutes; the service is down or not scraped.",
    runbook_url: `${RUNBOOK}giropopssenhasdown`,
  };
  const up = (values: string): Series[] => [{ series: 'up{namespace="giropops-senhas", job="giropops-senhas", pod="a"}', values }];
  passes({ name: "target down", input_series: up("1x5 0x15"), alert_rule_test: [silent("GiropopsSenhasDown", "8m"), fired("GiropopsSenhasDown", "15m", { severity: "critical", service: "giropops-senhas" }, annotations)] });
  passes({ name: "not scraped", input_series: [{ series: 'up{namespace="other", job="other"}', values: "1x15" }], alert_rule_test: [fired("GiropopsSenhasDown", "15m", { severity: "critical", service: "giropops-senhas", namespace: "giropops-senhas", job: "giropops-senhas" }, annotations)] });
  passes({ name: "up", input_series: up("1x15"), alert_rule_test: [silent("GiropopsSenhasDown", "15m")] });
});

const POD = { namespace: "shop", pod: "web-1", container: "web" };
const podLabels = (extra: Record<string, string> = {}) => Object.entries({ ...POD, ...extra }).map(([k, v]) => `${k}="${v}"`).join(", ");

test("PodCrashLooping warns after 10 minutes in CrashLoopBackOff, not for a running container", () => {
  const waiting = (values: string): Series[] => [{ series: `kube_pod_container_status_waiting_reason{${podLabels({ reason: "CrashLoopBackOff" })}}`, values }];
  passes({
    name: "crash looping",
    input_series: waiting("1x20"),
    alert_rule_test: [
      fired("PodCrashLooping", "20m", { severity: "warning", reason: "CrashLoopBackOff", ...POD }, {
        summary: "Container web of shop/web-1 is crash looping.",
        description: "The container has been in CrashLoopBackOff for 10 minutes; Kubernetes keeps restarting it and it keeps exiting.",
        runbook_url: `${RUNBOOK}podcrashlooping`,
      }),
    ],
  });
  passes({ name: "running", input_series: waiting("0x20"), alert_rule_test: [silent("PodCrashLooping", "20m")] });
});

test("PodNotReady warns after 15 minutes for a live pod, never for a finished Job's pod", () => {
  const pod = (phase: string): Series[] => [
    { series: `kube_pod_status_ready{namespace="shop", pod="web-1", condition="false"}`, values: "1x20" },
    ...["Pending", "Running", "Succeeded", "Failed", "Unknown"].map((p) => ({ series: `kube_pod_status_phase{namespace="shop", pod="web-1", phase="${p}"}`, values: p === phase ? "1x20" : "0x20" })),
  ];
  passes({
    name: "running, not ready",
    input_series: pod("Running"),
    alert_rule_test: [
      silent("PodNotReady", "10m"),
      fired("PodNotReady", "20m", { severity: "warning", namespace: "shop", pod: "web-1" }, {
        summary: "Pod shop/web-1 has not been ready for 15 minutes.",
        description: "The pod is pending, failing its readiness probe or on an unreachable node, so its Service sends it no traffic.",
        runbook_url: `${RUNBOOK}podnotready`,
      }),
    ],
  });
  passes({ name: "succeeded", input_series: pod("Succeeded"), alert_rule_test: [silent("PodNotReady", "20m")] });
});

test("ContainerCPUHigh warns at 90% of the CPU limit for 5 minutes, not at 50%", () => {
  const cpu = (coresUsed: number): Series[] => [
    { series: `container_cpu_usage_seconds_total{${podLabels({ image: "web:1" })}}`, values: counter([[15, coresUsed * 60]]) },
    { series: `kube_pod_container_resource_limits{${podLabels({ resource: "cpu", unit: "core" })}}`, values: "1x15" },
  ];
  passes({
    name: "90%",
    input_series: cpu(0.9),
    alert_rule_test: [
      fired("ContainerCPUHigh", "15m", { severity: "warning", ...POD }, {
        summary: "Container web of shop/web-1 uses more than 80% of its CPU limit.",
        description: "CPU use has been 90% of the limit for 5 minutes; the container is being or will be throttled.",
        runbook_url: `${RUNBOOK}containercpuhigh`,
      }),
    ],
  });
  passes({ name: "50%", input_series: cpu(0.5), alert_rule_test: [silent("ContainerCPUHigh", "15m")] });
});

test("ContainerMemoryHigh warns at 90% of the memory limit for 5 minutes, not at 50%", () => {
  const limit = 1024 * 1024 * 1024;
  const memory = (share: number): Series[] => [
    { series: `container_memory_working_set_bytes{${podLabels({ image: "web:1" })}}`, values: `${share * limit}x15` },
    { series: `kube_pod_container_resource_limits{${podLabels({ resource: "memory", unit: "byte" })}}`, values: `${limit}x15` },
  ];
  passes({
    name: "90%",
    input_series: memory(0.9),
    alert_rule_test: [
      fired("ContainerMemoryHigh", "15m", { severity: "warning", ...POD }, {
        summary: "Container web of shop/web-1 uses more than 85% of its memory limit.",
        description: "Working set has been 90% of the limit for 5 minutes; at 100% the kernel kills the container (OOMKilled).",
        runbook_url: `${RUNBOOK}containermemoryhigh`,
      }),
    ],
  });
  passes({ name: "50%", input_series: memory(0.5), alert_rule_test: [silent("ContainerMemoryHigh", "15m")] });
});

test("the unit tests can fail: a burn-rate factor of 15 instead of 14.4 leaves 14.5x silent", () => {
  const broken = structuredClone(rendered);
  const rule = broken.find((r) => r.object.metadata?.name === "giropops-senhas")!;
  for (const group of rule.object.spec.groups) for (const r of group.rules) if (r.alert === "GiropopsSenhasErrorBudgetBurnFast") r.expr = String(r.expr).replaceAll("14.4 *", "15 *");
  const run = promtoolTest(broken, { name: "14.5x", input_series: traffic([[300, 0], [70, 145]]), alert_rule_test: [fired("GiropopsSenhasErrorBudgetBurnFast", "370m", SLO, fast("1.45%"))] });
  assert.is.not(run.code, 0, run.output);
  assert.match(run.output, /FAILED/);
});

test.run();
