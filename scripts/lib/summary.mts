// The summary bootstrap ends with and status prints: every Application, the
// URL of each UI and how to read each login (the command, never the value).
import { homedir } from "node:os";
import type { Config } from "./config.mts";
import { APPLICATION, ARGOCD_NAMESPACE, ROOT_APP, appState } from "./argocd.mts";
import { UserError } from "./errors.mts";
import { kubectl, type Kube, type KubeObject, type KubeTarget } from "./kube.mts";
import { runWith } from "./runtime.mts";
import { localCaPath, usesLocalCa } from "./tls.mts";
import { table, type Ui } from "./ui.mts";

export type Endpoint = {
  name: string;
  host: string;
  url: string;
  login: string;
  /** Not published through the gateway: the command that serves it on `url`. */
  portForward?: string;
};

/** The command that prints one key of a Secret (a person runs it; we never read the value). */
export function secretCommand(target: KubeTarget, namespace: string, name: string, key: string): string {
  const jsonpath = `jsonpath={.data.${key.replaceAll(".", "\\.")}}`;
  return `${kubectl(target, "-n", namespace, "get", "secret", name, "-o", jsonpath)} | base64 -d`;
}

export function endpoints(config: Pick<Config, "cluster" | "domain">, target: KubeTarget): Endpoint[] {
  // Every UI is HTTPS through the gateway (a local CA on kind/minikube, Let's Encrypt on OKE).
  const url = (host: string) => `https://${host}.${config.domain}`;
  // OKE is public and Prometheus/Alertmanager have no login: port-forward only there.
  const unpublished = (host: string, service: string, port: number): Pick<Endpoint, "url" | "portForward"> =>
    config.cluster === "oke"
      ? { url: `http://localhost:${port}`, portForward: kubectl(target, "-n", "monitoring", "port-forward", `svc/${service}`, String(port)) }
      : { url: url(host) };
  return [
    { name: "Argo CD", host: "argocd", url: url("argocd"), login: `user admin, password: ${secretCommand(target, ARGOCD_NAMESPACE, "argocd-initial-admin-secret", "password")}` },
    { name: "Grafana", host: "grafana", url: url("grafana"), login: `user admin, password: ${secretCommand(target, "monitoring", "grafana-admin", "admin-password")}` },
    { name: "Prometheus", host: "prometheus", ...unpublished("prometheus", "kube-prometheus-stack-prometheus", 9090), login: "no login" },
    { name: "Alertmanager", host: "alertmanager", ...unpublished("alertmanager", "kube-prometheus-stack-alertmanager", 9093), login: "no login" },
    { name: "Giropops Senhas", host: "senhas", url: url("senhas"), login: "no login" },
    { name: "Locust", host: "locust", url: url("locust"), login: "no login" },
  ];
}

/** Every Application in argocd (root first); a UserError when Argo CD is not there. */
export async function listApplications(kube: Kube): Promise<KubeObject[]> {
  await kube.version();
  if (!(await kube.get("apiextensions.k8s.io/v1", "CustomResourceDefinition", "applications.argoproj.io"))) {
    throw new UserError(`Argo CD is not installed on context "${kube.target.context}"`, { fix: `run ${runWith()} scripts/bootstrap.mts (with the same --cluster and --name)` });
  }
  const apps = await kube.list({ ...APPLICATION, namespace: ARGOCD_NAMESPACE });
  return apps.sort((a, b) => (a.metadata.name === ROOT_APP ? -1 : b.metadata.name === ROOT_APP ? 1 : a.metadata.name.localeCompare(b.metadata.name)));
}

export function printSummary(ui: Ui, config: Pick<Config, "cluster" | "domain" | "clusterName">, target: KubeTarget, apps: KubeObject[], options: { home?: string; alerts?: string } = {}): void {
  ui.section(`Applications (context ${target.context})`);
  const rows = apps.map(appState).map((s) => [s.name, s.sync, s.health, s.revision]);
  ui.line(rows.length ? table(["NAME", "SYNC", "HEALTH", "REVISION"], rows) : "(none yet: the root Application has not synced)");
  ui.section("URLs");
  const list = endpoints(config, target);
  ui.line(table(["", "URL"], list.map((e) => [e.name, e.url])));
  for (const e of list.filter((e) => e.portForward)) ui.line(`${e.name} is not public: run ${e.portForward}, then open ${e.url}`);
  if (config.cluster === "oke") {
    // The cloud controller gives the Traefik Service a network load balancer; DNS is ours to point.
    const address = kubectl(target, "-n", "traefik", "get", "svc", "traefik", "-o", "jsonpath={.status.loadBalancer.ingress[0].ip}");
    ui.line(`DNS: point ${list.filter((e) => !e.portForward).map((e) => `${e.host}.${config.domain}`).join(", ")} (or *.${config.domain}) at the load balancer's address: ${address}`);
  }
  if (usesLocalCa(config.cluster)) {
    const ca = localCaPath(options.home ?? homedir(), config);
    ui.line(`Certificates come from this cluster's local CA: trust ${ca} (README: "Trusting the local CA"), or curl --cacert ${ca} ${list[0]!.url}`);
  }
  ui.section("Logins");
  for (const e of list.filter((e) => e.login !== "no login")) ui.line(`${e.name}: ${e.login}`);
  const open = list.filter((e) => e.login === "no login").map((e) => e.name);
  ui.line(`${open.slice(0, -1).join(", ")} and ${open.at(-1)} need no login.`);
  if (options.alerts) {
    ui.section("Alerts");
    ui.line(options.alerts);
  }
  ui.section("Next");
  ui.line(`kubectl commands: add --context ${target.context}${target.kubeconfigPath ? ` --kubeconfig ${target.kubeconfigPath}` : ""} (bootstrap never changes your current context)`);
  ui.line(`status again: ${runWith()} scripts/status.mts` + (config.cluster !== "kind" ? ` --cluster ${config.cluster}` : "") + (config.clusterName !== "giropops" ? ` --name ${config.clusterName}` : ""));
}
