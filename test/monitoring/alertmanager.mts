// The Alertmanager configuration as the cluster gets it: the `monitoring`
// Application after the root Application's patches (rendered by kubectl
// kustomize, as Argo CD does), its alertmanager.config merged over the chart's
// default the way Helm merges values, written out with its template files.
//
// Debian's amtool and alertmanager are 0.25; the cluster runs 0.34. 0.25
// knows Slack's api_url_file but not webhook_configs' url_file (added in
// v0.26.0, prometheus/alertmanager#3223), so the copy handed to the 0.25 tools
// reads each url_file as a plain `url` (file://-free: the path under a
// placeholder host). Everything else, routing, inhibition and templates, is
// checked as written. That each url_file is a file of the mounted Secret is
// checked separately (alertmanager.test.mts).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse as parseYaml, parseAllDocuments, stringify } from "yaml";
import { monitoringPatches, type AlertConfig } from "../../scripts/lib/alerts.mts";
import { REPO_ROOT, SAMPLE_REPO } from "../lib/render.mts";

export const APPLICATION_FILE = "gitops/monitoring/application.yaml";
const CHART_DEFAULT = join(import.meta.dirname, "fixtures/chart-alertmanager-config.yaml");

/** Every destination set (sample values of the right shape; nothing is ever sent to them). */
export const ALL_DESTINATIONS: AlertConfig = {
  alertNtfyUrl: "https://ntfy.example.com/giropops-test",
  alertNtfyToken: "tk_abcdefghijklmnopqrstuvwxyz012",
  alertSlackWebhookUrl: "https://hooks.slack.com/services/T000/B000/XXXX",
  alertWebhookUrl: "https://hooks.example.com/alerts",
};

/** The `monitoring` Application after the root Application's patches for `config`, rendered by kubectl kustomize. */
export function patchedMonitoringApplication(config: AlertConfig, repo = SAMPLE_REPO, edit: (text: string) => string = (text) => text): Record<string, any> {
  const dir = mkdtempSync(join(tmpdir(), "monitoring-app-"));
  try {
    writeFileSync(join(dir, "application.yaml"), edit(readFileSync(join(REPO_ROOT, APPLICATION_FILE), "utf8")));
    writeFileSync(join(dir, "kustomization.yaml"), stringify({ resources: ["application.yaml"], patches: monitoringPatches(repo.url, repo.revision, config) }));
    const run = spawnSync("kubectl", ["kustomize", dir], { encoding: "utf8" });
    if (run.status !== 0) throw new Error(`kubectl kustomize: ${run.stderr}`);
    return parseAllDocuments(run.stdout)[0]!.toJS();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Helm's values merge: maps key by key, everything else (lists included) replaced. */
export function helmMerge(base: unknown, over: unknown): unknown {
  const isMap = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);
  if (!isMap(base) || !isMap(over)) return over === undefined ? base : over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = helmMerge(base[k], v);
  return out;
}

export type RenderedAlertmanager = { config: Record<string, any>; templateFiles: Record<string, string> };

/** alertmanager.yaml as the chart writes it into its Secret (tplConfig false: toYaml of the merged map). */
export function alertmanagerConfig(config: AlertConfig, repo = SAMPLE_REPO): RenderedAlertmanager {
  const app = patchedMonitoringApplication(config, repo);
  const values = app.spec.source.helm.valuesObject.alertmanager;
  const chartDefault = parseYaml(readFileSync(CHART_DEFAULT, "utf8")).config;
  return { config: helmMerge(chartDefault, values.config) as Record<string, any>, templateFiles: values.templateFiles ?? {} };
}

/** A directory with alertmanager.yaml and the template files, in the form the 0.25 tools read (see above). */
export function writeForTools(rendered: RenderedAlertmanager, webhookUrlFor: (file: string) => string = (file) => `http://secret-file.invalid${file}`): { dir: string; file: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), "alertmanager-"));
  const config = structuredClone(rendered.config);
  for (const receiver of config.receivers ?? []) {
    for (const hook of receiver.webhook_configs ?? []) {
      if (hook.url_file) {
        hook.url = webhookUrlFor(hook.url_file);
        delete hook.url_file;
      }
    }
  }
  // The chart mounts the template files beside the config at /etc/alertmanager/config.
  config.templates = (config.templates ?? []).map((t: string) => t.replace("/etc/alertmanager/config", dir));
  for (const [name, text] of Object.entries(rendered.templateFiles)) writeFileSync(join(dir, name), text);
  const file = join(dir, "alertmanager.yaml");
  writeFileSync(file, stringify(config));
  return { dir, file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}
