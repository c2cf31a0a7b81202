// Where alerts reach a person: ntfy, Slack and a generic webhook, chosen in
// .env (ALERT_*). The URLs are secrets: bootstrap writes them into two day-0
// Secrets (never in git, never printed) that the configuration in git reads
// from files: monitoring/alert-destinations, mounted into Alertmanager
// (gitops/monitoring/application.yaml, receivers page and ticket with url_file
// and api_url_file), and argocd/argocd-notifications-secret, read by Argo CD
// notifications ($key references in gitops/argocd/patches/argocd-notifications-cm.yaml).
// A destination the user did not set is taken out of the receivers by the root
// Application's patches, so an unset one never fails a notification and with
// none set Alertmanager is a null receiver: bootstrap and status say so.
import type { Config } from "./config.mts";
import { githubRepo } from "./git.mts";
import { FIELD_MANAGER, type Kube, type KubeObject } from "./kube.mts";
import { opaqueSecret } from "./secrets.mts";

export type AlertConfig = Partial<Pick<Config, "alertNtfyUrl" | "alertNtfyToken" | "alertSlackWebhookUrl" | "alertWebhookUrl">>;
export type Destination = "ntfy" | "slack" | "webhook";
export const DESTINATIONS: readonly Destination[] = ["ntfy", "slack", "webhook"];
export const DESTINATION_ENV: Record<Destination, string> = { ntfy: "ALERT_NTFY_URL", slack: "ALERT_SLACK_WEBHOOK_URL", webhook: "ALERT_WEBHOOK_URL" };

/** Mounted by the Alertmanager pods at SECRET_DIR (alertmanagerSpec.secrets). */
export const ALERT_SECRET = { namespace: "monitoring", name: "alert-destinations" } as const;
export const SECRET_DIR = `/etc/alertmanager/secrets/${ALERT_SECRET.name}`;
/** Argo CD notifications read their secrets from this one Secret (its name is fixed upstream). */
export const NOTIFICATIONS_SECRET = { namespace: "argocd", name: "argocd-notifications-secret" } as const;

/** The keys of monitoring/alert-destinations, one file each under SECRET_DIR. */
export const ALERT_KEYS = { ntfyPage: "ntfy-page-url", ntfyTicket: "ntfy-ticket-url", slack: "slack-url", webhook: "webhook-url" } as const;

export function configuredDestinations(config: AlertConfig): Destination[] {
  return DESTINATIONS.filter((d) => ({ ntfy: config.alertNtfyUrl, slack: config.alertSlackWebhookUrl, webhook: config.alertWebhookUrl })[d] !== undefined);
}

/**
 * An ntfy topic URL Alertmanager can post its webhook JSON to: ntfy's built-in
 * "alertmanager" template turns it into a title and a message
 * (binwiederhier/ntfy server/templates/alertmanager.yml), `priority` sets the
 * phone's behaviour (5 = urgent), and a token travels as ntfy's `auth` query
 * parameter (base64url of the Authorization header, server/util.go
 * readAuthHeader), so the configuration needs no header that may be absent.
 */
export function ntfyUrl(topic: string, options: { alertmanager?: { priority: number }; token?: string }): string {
  const url = new URL(topic);
  const token = options.token;
  if (options.alertmanager) {
    url.searchParams.set("template", "alertmanager");
    url.searchParams.set("priority", String(options.alertmanager.priority));
  }
  if (token) url.searchParams.set("auth", Buffer.from(`Bearer ${token}`).toString("base64url"));
  return url.toString();
}

/** monitoring/alert-destinations: only the keys of the destinations set (it always exists: the pods mount it). */
export function alertSecretData(config: AlertConfig): Record<string, string> {
  const data: Record<string, string> = {};
  if (config.alertNtfyUrl) {
    data[ALERT_KEYS.ntfyPage] = ntfyUrl(config.alertNtfyUrl, { alertmanager: { priority: 5 }, token: config.alertNtfyToken });
    data[ALERT_KEYS.ntfyTicket] = ntfyUrl(config.alertNtfyUrl, { alertmanager: { priority: 3 }, token: config.alertNtfyToken });
  }
  if (config.alertSlackWebhookUrl) data[ALERT_KEYS.slack] = config.alertSlackWebhookUrl;
  if (config.alertWebhookUrl) data[ALERT_KEYS.webhook] = config.alertWebhookUrl;
  return data;
}

/** The keys Argo CD notifications' services read as $ntfy-url, $slack-url and $webhook-url. */
export function notificationsSecretData(config: AlertConfig): Record<string, string> {
  const data: Record<string, string> = {};
  if (config.alertNtfyUrl) data["ntfy-url"] = ntfyUrl(config.alertNtfyUrl, { token: config.alertNtfyToken });
  if (config.alertSlackWebhookUrl) data["slack-url"] = config.alertSlackWebhookUrl;
  if (config.alertWebhookUrl) data["webhook-url"] = config.alertWebhookUrl;
  return data;
}


/**
 * Both Secrets as .env says now. Unlike the day-0 passwords they follow .env
 * on every run (server-side apply: a destination removed from .env leaves the
 * Secret too). The namespaces exist already: the day-0 passwords made
 * monitoring, the Argo CD install made argocd.
 */
export function alertSecrets(config: AlertConfig): KubeObject[] {
  return [opaqueSecret(ALERT_SECRET, alertSecretData(config)), opaqueSecret(NOTIFICATIONS_SECRET, notificationsSecretData(config))];
}

/**
 * The field manager of the alert Secrets, apart from the day-0 one: upstream
 * ships argocd-notifications-secret (empty) in Argo CD's install, so the
 * hand-over to Argo CD lets go of the day-0 manager's part of it; this one
 * keeps owning the destinations, so one removed from .env leaves the Secret.
 */
export const ALERTS_FIELD_MANAGER = `${FIELD_MANAGER}-alerts`;

export async function ensureAlertSecrets(kube: Kube, config: AlertConfig): Promise<string> {
  await kube.apply(alertSecrets(config), { fieldManager: ALERTS_FIELD_MANAGER });
  return alertsSummary(configuredDestinations(config));
}

/** One line for the bootstrap step and status. */
export function alertsSummary(destinations: Destination[]): string {
  if (destinations.length === 0) {
    return `alerts go nowhere: no destination set (set ${DESTINATIONS.map((d) => DESTINATION_ENV[d]).join(", ")} in .env and re-run bootstrap)`;
  }
  return `alerts and Argo CD notifications go to ${destinations.join(", ")}`;
}

/** What status reads: the destinations whose keys monitoring/alert-destinations holds (names only, never values). */
export async function destinationsInCluster(kube: Kube): Promise<Destination[] | undefined> {
  const stored = await kube.get("v1", "Secret", ALERT_SECRET.name, ALERT_SECRET.namespace);
  if (!stored) return undefined;
  const keys = new Set(Object.keys(stored.data ?? {}));
  return DESTINATIONS.filter((d) => (d === "ntfy" ? keys.has(ALERT_KEYS.ntfyPage) : keys.has(d === "slack" ? ALERT_KEYS.slack : ALERT_KEYS.webhook)));
}

// ---- the root Application's patches on the `monitoring` Application ---------

type KustomizePatch = { target: Record<string, string>; patch: string };
type Op = { op: "test" | "remove" | "replace"; path: string; value?: unknown };

const VALUES = "/spec/source/helm/valuesObject";
/** Where each destination sits in every notifying receiver of the values in git (the tests check these against the file). */
export const RECEIVER_LAYOUT = {
  receivers: ["page", "ticket"],
  ntfy: { list: "webhook_configs", index: 0, field: "url_file" },
  webhook: { list: "webhook_configs", index: 1, field: "url_file" },
  slack: { list: "slack_configs", index: 0, field: "api_url_file" },
} as const;

/** The file each receiver reads for a destination. */
export function destinationFile(receiver: string, destination: Destination): string {
  if (destination === "ntfy") return `${SECRET_DIR}/${receiver === "page" ? ALERT_KEYS.ntfyPage : ALERT_KEYS.ntfyTicket}`;
  return `${SECRET_DIR}/${destination === "slack" ? ALERT_KEYS.slack : ALERT_KEYS.webhook}`;
}

/**
 * JSON patch ops that take the unset destinations out of receivers page and
 * ticket (each op checked by a `test` of the file it reads, so a reordered
 * values file fails the sync instead of removing the wrong one). `receivers`
 * are the indices of page and ticket in alertmanager.config.receivers.
 */
export function removalOps(configured: Destination[], receiverIndex: Record<string, number>): Op[] {
  const ops: Op[] = [];
  for (const receiver of RECEIVER_LAYOUT.receivers) {
    const base = `${VALUES}/alertmanager/config/receivers/${receiverIndex[receiver]}`;
    ops.push({ op: "test", path: `${base}/name`, value: receiver });
    // Highest index first, so earlier removals do not shift later ones.
    const unset = DESTINATIONS.filter((d) => !configured.includes(d)).sort((a, b) => RECEIVER_LAYOUT[b].index - RECEIVER_LAYOUT[a].index);
    for (const d of unset) {
      const { list, index, field } = RECEIVER_LAYOUT[d];
      ops.push({ op: "test", path: `${base}/${list}/${index}/${field}`, value: destinationFile(receiver, d) });
      ops.push({ op: "remove", path: `${base}/${list}/${index}` });
    }
  }
  return ops;
}

/** Indices of page and ticket among the receivers in gitops/monitoring/application.yaml. */
export const RECEIVER_INDEX = { page: 1, ticket: 2 } as const;

/** The external label alert annotations build their runbook link from (gitops/monitoring/config/rules). */
export function runbookBase(repoUrl: string, revision: string): string {
  const repo = githubRepo(repoUrl);
  if (repo) return `https://github.com/${repo.owner}/${repo.repo}/blob/${revision}`;
  // Gitea, Forgejo and GitLab (which redirects to /-/blob/) all serve files at /blob/<rev>/.
  const ssh = !/^https?:\/\//.test(repoUrl);
  const path = repoUrl
    .trim()
    .replace(/^(https?|ssh|git):\/\//, "")
    .replace(/^[^@/]+@/, "")
    // git@host:owner/repo, and an ssh port, which the web server does not use
    .replace(/^([^/:]+):(\d+\/)?/, (_, host: string, port?: string) => (ssh || !port ? `${host}/` : `${host}:${port}`))
    .replace(/\.git$/, "")
    .replace(/\/$/, "");
  return `https://${path}/blob/${revision}`;
}

/** The root Application's patch on `monitoring`: runbook links follow the repository, unset destinations leave the receivers. */
export function monitoringPatches(repoUrl: string, revision: string, config: AlertConfig): KustomizePatch[] {
  const ops: Op[] = [
    { op: "replace", path: `${VALUES}/prometheus/prometheusSpec/externalLabels/runbook_base`, value: runbookBase(repoUrl, revision) },
    ...removalOps(configuredDestinations(config), RECEIVER_INDEX),
  ];
  return [{ target: { group: "argoproj.io", kind: "Application", name: "monitoring" }, patch: JSON.stringify(ops) }];
}

/**
 * The root Application's patch on `argocd`: argocd-notifications-cm's
 * subscriptions name only the destinations set (git lists all three). With
 * none set, nobody is subscribed and the controller sends nothing.
 */
export function notificationsPatches(config: AlertConfig & { domain?: string }): KustomizePatch[] {
  const recipients = configuredDestinations(config);
  const subscriptions = recipients.length ? `- recipients: [${recipients.join(", ")}]\n  triggers: [${NOTIFICATION_TRIGGERS.join(", ")}]\n` : "[]\n";
  const ops: Op[] = [{ op: "replace", path: "/data/subscriptions", value: subscriptions }];
  // git links the messages to https://argocd.localhost; on OKE they link to the cluster's own domain.
  if (config.domain && config.domain !== "localhost") ops.push({ op: "replace", path: "/data/context", value: `argocdUrl: https://argocd.${config.domain}\n` });
  const inner = [{ target: { kind: "ConfigMap", name: "argocd-notifications-cm" }, patch: JSON.stringify(ops) }];
  return [{ target: { group: "argoproj.io", kind: "Application", name: "argocd" }, patch: JSON.stringify([{ op: "add", path: "/spec/source/kustomize", value: { patches: inner } }]) }];
}

/** The triggers of gitops/argocd/patches/argocd-notifications-cm.yaml every subscription gets. */
export const NOTIFICATION_TRIGGERS = ["on-sync-failed", "on-health-degraded", "on-rollback-synced"] as const;
