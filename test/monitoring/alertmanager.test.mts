// The Alertmanager configuration the chart renders from the project's values,
// checked by amtool (check-config, config routes test): which receiver every
// alert the tree ships reaches, Watchdog never paging, and a destination not
// set in .env leaving the receivers (with none set, every receiver is null).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { ALERT_KEYS, DESTINATIONS, RECEIVER_INDEX, RECEIVER_LAYOUT, SECRET_DIR, destinationFile, monitoringPatches, type Destination } from "../../scripts/lib/alerts.mts";
import { SAMPLE_REPO } from "../lib/render.mts";
import { ALL_DESTINATIONS, alertmanagerConfig, patchedMonitoringApplication, writeForTools } from "./alertmanager.mts";
import { renderConfig, rulesOf } from "./monitoring.mts";
import { tool } from "./promtool.mts";

const full = alertmanagerConfig(ALL_DESTINATIONS);
const none = alertmanagerConfig({});

function amtool(rendered: ReturnType<typeof alertmanagerConfig>, args: (file: string) => string[]) {
  const files = writeForTools(rendered);
  try {
    return tool("amtool", args(files.file));
  } finally {
    files.cleanup();
  }
}

/** `amtool config routes test`: the receivers an alert with these labels reaches. */
function routes(rendered: ReturnType<typeof alertmanagerConfig>, labels: Record<string, string>): string {
  const run = amtool(rendered, (file) => ["config", "routes", "test", `--config.file=${file}`, ...Object.entries(labels).map(([k, v]) => `${k}=${v}`)]);
  assert.is(run.code, 0, run.output);
  return run.stdout.trim();
}

const integrations = (receiver: Record<string, any>) => ({
  webhook: (receiver.webhook_configs ?? []).map((w: any) => w.url_file),
  slack: (receiver.slack_configs ?? []).map((s: any) => s.api_url_file),
});
const receiver = (rendered: ReturnType<typeof alertmanagerConfig>, name: string) => rendered.config.receivers.find((r: any) => r.name === name);

test("amtool check-config accepts the configuration with every destination set, and with none", () => {
  for (const [what, rendered] of [["all set", full], ["none set", none]] as const) {
    const run = amtool(rendered, (file) => ["check-config", file]);
    assert.is(run.code, 0, `${what}:\n${run.output}`);
    assert.match(run.output, /SUCCESS/, what);
    assert.match(run.output, /- 3 receivers/, what);
    // The template file is loaded, not skipped.
    assert.match(run.output, /- 1 templates\s+SUCCESS/, what);
  }
});

test("amtool check-config can fail: a route to a receiver that does not exist is rejected", () => {
  const broken = structuredClone(full);
  broken.config.route.routes[2].receiver = "pager";
  const run = amtool(broken, (file) => ["check-config", file]);
  assert.is.not(run.code, 0, run.output);
  assert.match(run.output, /undefined receiver "pager"/);
});

test("every alert the tree ships reaches page (critical) or ticket (warning), by amtool's routing", () => {
  const alerts = rulesOf(renderConfig()).filter((r) => r.alert);
  assert.ok(alerts.length >= 9);
  for (const a of alerts) {
    const expected = { critical: "page", warning: "ticket" }[a.labels.severity ?? ""];
    assert.ok(expected, `${a.name}: severity ${a.labels.severity}`);
    assert.is(routes(full, { alertname: a.name, ...a.labels }), expected, a.name);
  }
});

test("Watchdog and InfoInhibitor go nowhere, never to the page channel, whatever their severity; info goes nowhere", () => {
  for (const severity of ["none", "critical", "warning"]) assert.is(routes(full, { alertname: "Watchdog", severity }), "null", severity);
  assert.is(routes(full, { alertname: "InfoInhibitor", severity: "none" }), "null");
  assert.is(routes(full, { alertname: "KubeletTooManyPods", severity: "info" }), "null");
});

test("pages go out at once and repeat hourly; tickets group for 5 minutes and repeat daily", () => {
  const [watchdog, inhibitor, page, ticket] = full.config.route.routes;
  assert.equal([watchdog.receiver, inhibitor.receiver, page.receiver, ticket.receiver], ["null", "null", "page", "ticket"]);
  assert.equal([page.group_wait, page.repeat_interval], ["10s", "1h"]);
  assert.equal([ticket.group_wait, ticket.group_interval, ticket.repeat_interval], ["5m", "30m", "24h"]);
  assert.equal(full.config.route.group_by, ["alertname", "service", "namespace"]);
});

test("a critical alert of a service inhibits that service's warnings, and only that service's", () => {
  const rule = full.config.inhibit_rules[0];
  assert.equal(rule, { source_matchers: ['severity = "critical"', 'service =~ ".+"'], target_matchers: ['severity =~ "warning|info"'], equal: ["service"] });
});

test("with every destination set, page and ticket post to ntfy, the webhook and Slack, each reading its URL from the mounted Secret", () => {
  assert.equal(integrations(receiver(full, "page")), { webhook: [`${SECRET_DIR}/${ALERT_KEYS.ntfyPage}`, `${SECRET_DIR}/${ALERT_KEYS.webhook}`], slack: [`${SECRET_DIR}/${ALERT_KEYS.slack}`] });
  assert.equal(integrations(receiver(full, "ticket")), { webhook: [`${SECRET_DIR}/${ALERT_KEYS.ntfyTicket}`, `${SECRET_DIR}/${ALERT_KEYS.webhook}`], slack: [`${SECRET_DIR}/${ALERT_KEYS.slack}`] });
  // the layout alerts.mts patches by position is the one in git
  for (const name of RECEIVER_LAYOUT.receivers) {
    assert.is(full.config.receivers[RECEIVER_INDEX[name]].name, name);
    for (const d of DESTINATIONS) {
      const { list, index, field } = RECEIVER_LAYOUT[d];
      assert.is(full.config.receivers[RECEIVER_INDEX[name]][list][index][field], destinationFile(name, d), `${name} ${d}`);
    }
  }
  // No URL in git: every integration reads a file.
  for (const r of full.config.receivers) {
    for (const w of r.webhook_configs ?? []) assert.equal(Object.keys(w).filter((k) => k === "url"), [], r.name);
    for (const s of r.slack_configs ?? []) assert.is(s.api_url, undefined, r.name);
  }
  const app = patchedMonitoringApplication(ALL_DESTINATIONS);
  assert.equal(app.spec.source.helm.valuesObject.alertmanager.alertmanagerSpec.secrets, ["alert-destinations"]);
  assert.is(app.spec.source.helm.valuesObject.alertmanager.tplConfig, false);
});

test("each destination alone leaves only itself in page and ticket; none set leaves null receivers", () => {
  for (const d of DESTINATIONS) {
    const only: Record<Destination, Partial<typeof ALL_DESTINATIONS>> = {
      ntfy: { alertNtfyUrl: ALL_DESTINATIONS.alertNtfyUrl },
      slack: { alertSlackWebhookUrl: ALL_DESTINATIONS.alertSlackWebhookUrl },
      webhook: { alertWebhookUrl: ALL_DESTINATIONS.alertWebhookUrl },
    };
    const rendered = alertmanagerConfig(only[d]);
    for (const name of ["page", "ticket"]) {
      const got = integrations(receiver(rendered, name));
      assert.equal(got, { webhook: d === "slack" ? [] : [destinationFile(name, d)], slack: d === "slack" ? [destinationFile(name, d)] : [] }, `${d}: ${name}`);
    }
    const run = amtool(rendered, (file) => ["check-config", file]);
    assert.is(run.code, 0, `${d}:\n${run.output}`);
  }
  for (const name of ["page", "ticket"]) assert.equal(integrations(receiver(none, name)), { webhook: [], slack: [] }, name);
});

test("the patch fails the sync rather than remove the wrong integration when the values are reordered", () => {
  const [patch] = monitoringPatches(SAMPLE_REPO.url, SAMPLE_REPO.revision, {});
  const ops = JSON.parse(patch!.patch) as { op: string; path: string; value?: string }[];
  // every remove is preceded by a test of the file that integration reads
  ops.forEach((op, i) => {
    if (op.op === "remove") {
      assert.is(ops[i - 1]!.op, "test");
      assert.ok(ops[i - 1]!.path.startsWith(op.path + "/"), op.path);
    }
  });
  // ntfy and the webhook swapped in page: the test op on ntfy's file fails the render.
  const swapped = (text: string) => {
    const ntfy = "url_file: /etc/alertmanager/secrets/alert-destinations/ntfy-page-url";
    const hook = "url_file: /etc/alertmanager/secrets/alert-destinations/webhook-url";
    const first = text.indexOf(hook);
    return text.replace(ntfy, "SWAP").replace(text.slice(first, first + hook.length), ntfy).replace("SWAP", hook);
  };
  assert.throws(() => patchedMonitoringApplication({ alertSlackWebhookUrl: ALL_DESTINATIONS.alertSlackWebhookUrl, alertWebhookUrl: ALL_DESTINATIONS.alertWebhookUrl }, SAMPLE_REPO, swapped), /test|ntfy-page-url/);
});

test("runbook links follow the repository Argo CD deploys", () => {
  const labels = (repo: { url: string; revision: string }) => patchedMonitoringApplication({}, repo).spec.source.helm.valuesObject.prometheus.prometheusSpec.externalLabels;
  assert.equal(labels(SAMPLE_REPO), { runbook_base: "https://github.com/example-user/giropops-platform/blob/main" });
  assert.equal(labels({ url: "git@github.com:Me/fork.git", revision: "dev" }), { runbook_base: "https://github.com/Me/fork/blob/dev" });
  assert.equal(labels({ url: "ssh://git@git.example.com/me/fork.git", revision: "main" }), { runbook_base: "https://git.example.com/me/fork/blob/main" });
});

test.run();
