// The rule groups the tree ships, handed to the real Prometheus engine:
// `promtool check rules` and `promtool test rules` (Debian's prometheus
// package, 2.42) over the spec.groups of every PrometheusRule as kustomize
// renders them. The cluster runs Prometheus 3.x: the unit tests below use only
// what both evaluate the same way (samples every minute, so a [5m] range holds
// 5 samples in 3.x's left-open window and 6 in 2.x's closed one, and a
// steady counter gives the same rate in both; no new 3.x functions).
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Rendered } from "../lib/render.mts";

export const PLACEHOLDER_RUNBOOK_BASE = "https://github.com/giropops/giropops-platform/blob/main";

export type Run = { code: number; output: string; stdout: string };

export function tool(command: string, args: string[], cwd?: string): Run {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.error) throw new Error(`${command}: ${result.error.message} (install Debian's ${/^(promtool|prometheus)$/.test(command) ? "prometheus" : "prometheus-alertmanager"} package: sudo apt-get install prometheus prometheus-alertmanager; .ci/run does)`);
  return { code: result.status ?? 1, output: `${result.stdout}${result.stderr}`, stdout: result.stdout };
}

/** One rule file per PrometheusRule, named after it, in a fresh directory. */
export function writeRuleFiles(rendered: Rendered[]): { dir: string; files: string[]; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "promtool-"));
  const files: string[] = [];
  for (const r of rendered.filter((x) => x.object.kind === "PrometheusRule")) {
    const file = `${r.object.metadata.name}.rules.yaml`;
    writeFileSync(join(dir, file), stringify({ groups: r.object.spec.groups }));
    files.push(file);
  }
  return { dir, files, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * A counter as promtool's expanding notation, one sample a minute, from a list
 * of phases [minutes, increase per minute]: [[300, 0], [60, 15]] is five hours
 * flat, then one hour rising by 15 a minute. `everyMinutes` spaces the samples
 * wider (for the day-long windows, where it keeps promtool fast).
 */
export function counter(phases: [number, number][], everyMinutes = 1): string {
  let value = 0;
  const parts: string[] = ["0"];
  for (const [minutes, perMinute] of phases) {
    const step = perMinute * everyMinutes;
    parts.push(`${value + step}+${step}x${minutes / everyMinutes - 1}`);
    value += perMinute * minutes;
  }
  return parts.join(" ");
}

export type Series = { series: string; values: string };
export type AlertCase = { eval_time: string; alertname: string; exp_alerts: { exp_labels?: Record<string, string>; exp_annotations?: Record<string, string> }[] };
export type PromqlCase = { expr: string; eval_time: string; exp_samples: { labels: string; value: number }[] };
export type UnitTest = { name: string; interval?: string; evaluationInterval?: string; input_series: Series[]; alert_rule_test?: AlertCase[]; promql_expr_test?: PromqlCase[] };

/** Runs one promtool unit-test group against the rendered rule files; returns promtool's output on failure. */
export function promtoolTest(rendered: Rendered[], test: UnitTest): Run {
  const rules = writeRuleFiles(rendered);
  try {
    const file = join(rules.dir, "unit.test.yaml");
    writeFileSync(
      file,
      stringify({
        rule_files: rules.files,
        evaluation_interval: test.evaluationInterval ?? "1m",
        tests: [{ name: test.name, interval: test.interval ?? "1m", external_labels: { runbook_base: PLACEHOLDER_RUNBOOK_BASE }, input_series: test.input_series, alert_rule_test: test.alert_rule_test, promql_expr_test: test.promql_expr_test }],
      }),
    );
    return tool("promtool", ["test", "rules", "unit.test.yaml"], rules.dir);
  } finally {
    rules.cleanup();
  }
}
