// Alert destinations through the commands: bootstrap writes the URLs from
// .env into the two day-0 Secrets (never printing them), the root Application
// carries the patches that keep only those destinations, and bootstrap and
// status name where alerts go, or say that they go nowhere.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { status } from "../../scripts/status.mts";
import { ALERT_KEYS, ntfyUrl } from "../../scripts/lib/alerts.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { simulateArgoCd } from "../lib/fake-argocd.mts";
import { harness, REPO } from "../lib/cli-harness.mts";

const ARGS = ["--cluster", "kind", "--repo", REPO, "--revision", "main", "--timeout", "20s"];
const ENV = {
  ALERT_NTFY_URL: "https://ntfy.sh/giropops-x7q",
  ALERT_NTFY_TOKEN: "tk_abcdefghijklmnopqrstuvwxyz012",
  ALERT_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T000/B000/secretpart",
};

let kube: FakeKube;
let argo: { stop(): void };
test.before.each(async () => {
  kube = await startFakeKube({ context: "kind-giropops" });
  argo = simulateArgoCd(kube, [{ name: "monitoring", healthyAfter: 2 }]);
});
test.after.each(async () => {
  argo.stop();
  await kube.close();
});

const decoded = (secret: Record<string, any> | undefined) => Object.fromEntries(Object.entries(secret?.data ?? {}).map(([k, v]) => [k, Buffer.from(String(v), "base64").toString()]));

test("bootstrap writes the destinations into monitoring/alert-destinations and argocd/argocd-notifications-secret, and never prints them", async () => {
  const h = harness({ kube, env: ENV });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());
  const alerts = decoded(kube.get("Secret", "alert-destinations", "monitoring"));
  assert.equal(Object.keys(alerts).sort(), [ALERT_KEYS.ntfyPage, ALERT_KEYS.ntfyTicket, ALERT_KEYS.slack].sort());
  assert.is(alerts[ALERT_KEYS.slack], ENV.ALERT_SLACK_WEBHOOK_URL);
  // ntfy renders Alertmanager's JSON with its built-in template; the token rides in ?auth= (base64url of the header)
  const page = new URL(alerts[ALERT_KEYS.ntfyPage]!);
  assert.is(`${page.origin}${page.pathname}`, ENV.ALERT_NTFY_URL);
  assert.equal([page.searchParams.get("template"), page.searchParams.get("priority")], ["alertmanager", "5"]);
  assert.is(Buffer.from(page.searchParams.get("auth")!, "base64url").toString(), `Bearer ${ENV.ALERT_NTFY_TOKEN}`);
  assert.is(new URL(alerts[ALERT_KEYS.ntfyTicket]!).searchParams.get("priority"), "3");
  const notifications = decoded(kube.get("Secret", "argocd-notifications-secret", "argocd"));
  assert.equal(notifications, { "ntfy-url": ntfyUrl(ENV.ALERT_NTFY_URL, { token: ENV.ALERT_NTFY_TOKEN }), "slack-url": ENV.ALERT_SLACK_WEBHOOK_URL });
  const out = h.output();
  assert.match(out, /Alert destinations: alerts and Argo CD notifications go to ntfy, slack/);
  for (const value of [...Object.values(ENV), "secretpart", "tk_"]) assert.not.ok(out.includes(value), `printed ${value}`);

  // The root Application keeps ntfy and Slack, drops the webhook, and subscribes Argo CD's events to the two.
  const root = kube.get("Application", "root", "argocd")!;
  const patches = root.spec.source.kustomize.patches as { target: Record<string, string>; patch: string }[];
  const monitoring = JSON.parse(patches.find((p) => p.target.name === "monitoring")!.patch) as { op: string; path: string; value?: string }[];
  const removed = monitoring.filter((o) => o.op === "test" && o.path.includes("_configs/")).map((o) => o.value);
  assert.equal(removed, ["/etc/alertmanager/secrets/alert-destinations/webhook-url", "/etc/alertmanager/secrets/alert-destinations/webhook-url"]);
  const argocd = JSON.parse(patches.find((p) => p.target.name === "argocd")!.patch)[0].value.patches[0];
  assert.equal(JSON.parse(argocd.patch)[0].value, "- recipients: [ntfy, slack]\n  triggers: [on-sync-failed, on-health-degraded, on-rollback-synced]\n");

  // status names the destinations (from the Secret's keys, not its values)
  const s = harness({ kube });
  assert.is(await status([], s.deps), 0, s.output());
  assert.match(s.output(), /Alerts\n.*alerts and Argo CD notifications go to ntfy, slack/);
});

test("with no destination set, bootstrap warns and subscribes nobody; the Secret exists (Alertmanager mounts it) and is empty", async () => {
  const h = harness({ kube, env: {} });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());
  assert.equal(decoded(kube.get("Secret", "alert-destinations", "monitoring")), {});
  assert.match(h.output(), /alerts go nowhere: no destination set \(set ALERT_NTFY_URL, ALERT_SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL in \.env and re-run bootstrap\)/);
  const root = kube.get("Application", "root", "argocd")!;
  const argocd = root.spec.source.kustomize.patches.find((p: any) => p.target.name === "argocd");
  assert.is(JSON.parse(JSON.parse(argocd.patch)[0].value.patches[0].patch)[0].value, "[]\n");
});

test("a bad destination stops bootstrap before it touches the cluster, naming the variable only", async () => {
  const h = harness({ kube, env: { ALERT_SLACK_WEBHOOK_URL: "https://example.com/hooks/secretpart" } });
  assert.is.not(await bootstrap(ARGS, h.deps), 0);
  assert.match(h.output(), /ALERT_SLACK_WEBHOOK_URL=\(hidden\) must be a Slack incoming-webhook URL/);
  assert.not.ok(h.output().includes("secretpart"));
  assert.equal(kube.requests.filter((r) => r.method !== "GET"), []);
});

test.run();
