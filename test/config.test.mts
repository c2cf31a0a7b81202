import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { OKE_FREE_TIER, loadConfig } from "../scripts/lib/config.mts";
import { renderCluster } from "./lib/render.mts";
import { tofuVars } from "../scripts/lib/clusters/oke.mts";
import { cpuMilli } from "./validate/validate.mts";
import { UserError } from "../scripts/lib/errors.mts";

function envFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "giropops-config-"));
  const path = join(dir, ".env");
  writeFileSync(path, text);
  return path;
}

function problemsOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.instance(error, UserError);
    return (error as UserError).message;
  }
  throw new assert.Assertion({ message: "expected a UserError", generated: false, operator: "throws", expects: "UserError", actual: "nothing" });
}

test("defaults give a kind cluster named giropops on localhost", () => {
  const config = loadConfig({ env: {} });
  assert.is(config.cluster, "kind");
  assert.is(config.clusterName, "giropops");
  assert.is(config.domain, "localhost");
  assert.is(config.timeoutSeconds, 1200);
});

test(".env values are read, the environment beats .env, and flags beat both", () => {
  const path = envFile("CLUSTER=minikube\nCLUSTER_NAME=from-file\nBOOTSTRAP_TIMEOUT=15m\n");
  const fromFile = loadConfig({ envFile: path, env: {} });
  assert.is(fromFile.cluster, "minikube");
  assert.is(fromFile.timeoutSeconds, 900);
  const fromEnv = loadConfig({ envFile: path, env: { CLUSTER_NAME: "from-env" } });
  assert.is(fromEnv.clusterName, "from-env");
  const fromFlag = loadConfig({ envFile: path, env: { CLUSTER_NAME: "from-env" }, overrides: { clusterName: "from-flag" } });
  assert.is(fromFlag.clusterName, "from-flag");
});

test("every bad variable is reported at once, secrets are not echoed", () => {
  const path = envFile("CLUSTER=docker\nOKE_NODE_COUNT=9\nGIT_REPO_URL=not a url\nGRAFANA_ADMIN_PASSWORD=short\n");
  const message = problemsOf(() => loadConfig({ envFile: path, env: {} }));
  assert.match(message, /CLUSTER="docker" must be one of kind, minikube, oke/);
  assert.match(message, /OKE_NODE_COUNT="9" must be a whole number from 1 to 4/);
  assert.match(message, /GIT_REPO_URL="not a url" must be a git URL/);
  assert.match(message, /GRAFANA_ADMIN_PASSWORD=\(hidden\)/);
  assert.not.match(message, /short/);
});

test("oke requires its region, compartment and domain", () => {
  const message = problemsOf(() => loadConfig({ env: { CLUSTER: "oke" } }));
  assert.match(message, /OCI_REGION is required for --cluster oke/);
  assert.match(message, /OCI_COMPARTMENT_OCID is required/);
  assert.match(message, /PLATFORM_DOMAIN is required/);
});

test("a command that never reads the domain (teardown) does not require it; the other problems still come at once", () => {
  const message = problemsOf(() => loadConfig({ env: { CLUSTER: "oke" }, unused: ["domain"] }));
  assert.match(message, /OCI_REGION is required for --cluster oke\n\s+- OCI_COMPARTMENT_OCID is required/);
  assert.not.match(message, /PLATFORM_DOMAIN/);
  const config = loadConfig({ env: { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa" }, unused: ["domain"] });
  assert.is(config.domain, undefined);
  assert.match(problemsOf(() => loadConfig({ env: { CLUSTER: "oke", PLATFORM_DOMAIN: "Not A Domain" }, unused: ["domain"] })), /PLATFORM_DOMAIN="Not A Domain" must be a DNS name/, "a bad value is still reported");
});

// How many running containers each `resources.requests` block in chart values
// stands for on OKE: a number, "node" (a DaemonSet: one per node), or the path
// of the replicas value (absent = 1). Jobs and init containers count 0 (an init
// container's request is below its pod's). A new block must be classified here.
const CHART_BLOCKS: Record<string, number | "node" | string> = {
  "cert-manager": 1,
  "cert-manager.cainjector": 1,
  "cert-manager.webhook": 1,
  "cert-manager.startupapicheck": 0,
  falco: "node",
  "falco.falcoctl.artifact.follow": "node",
  "falco.falcoctl.artifact.install": 0,
  "falco.falcosidekick": "falco.falcosidekick.replicaCount",
  "kyverno.admissionController.container": "kyverno.admissionController.replicas",
  "kyverno.admissionController.initContainer": 0,
  "kyverno.backgroundController": "kyverno.backgroundController.replicas",
  "kyverno.cleanupController": "kyverno.cleanupController.replicas",
  "kyverno.reportsController": "kyverno.reportsController.replicas",
  "metrics-server": 1,
  "monitoring.alertmanager.alertmanagerSpec": 1,
  "monitoring.grafana": 1,
  // the dashboards and datasources sidecars
  "monitoring.grafana.sidecar": 2,
  "monitoring.kube-state-metrics": 1,
  "monitoring.prometheus.prometheusSpec": 1,
  "monitoring.prometheus-node-exporter": "node",
  "monitoring.prometheusOperator": 1,
  // the config reloader in the Prometheus and Alertmanager pods
  "monitoring.prometheusOperator.prometheusConfigReloader": 2,
  "sealed-secrets": 1,
  "traefik": "traefik.deployment.replicas",
};

/** CPU allocatable per 1-OCPU A1 node (one core; the kubelet's reservation leaves about this much, clusters/oke/README.md). */
const OKE_ALLOCATABLE_MILLI_PER_NODE = 850;
/**
 * OKE's own pods, by what their upstream manifests request (OKE installs its
 * builds of these; their manifests are not public):
 *   flannel     DaemonSet 100m  flannel-io/flannel Documentation/kube-flannel.yml (v0.28.9+)
 *   CoreDNS     100m x 2        coredns/deployment kubernetes/coredns.yaml.sed (1 replica by
 *                               default, OKE's autoscaler runs at least 2: counted as 2)
 *   csi-oci-node DaemonSet 0    oracle/oci-cloud-controller-manager v1.35.0
 *                               manifests/container-storage-interface/oci-csi-node-driver.yaml (no requests)
 *   kube-proxy, proxymux-client 0  (no requests in kubeadm's kube-proxy; proxymux has no public manifest:
 *                               the margin below the budget is for it; check with kubectl describe nodes)
 */
const OKE_SYSTEM = [
  { name: "flannel", milli: 100, perNode: true },
  { name: "coredns", milli: 100, replicas: 2 },
  { name: "csi-oci-node", milli: 0, perNode: true },
  { name: "kube-proxy", milli: 0, perNode: true },
] as const;

test("OKE: the platform's CPU requests, replicas and DaemonSets counted, fit the Always Free node pool", () => {
  const config = loadConfig({ env: { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa", PLATFORM_DOMAIN: "example.com" } });
  assert.is(config.okeNodeCount * config.okeNodeOcpus, OKE_FREE_TIER.ocpus, "the default pool is the whole 2-OCPU allowance");
  const nodes = config.okeNodeCount;
  const counted: string[] = [];
  let total = 0;
  const add = (label: string, milli: number, copies: number) => {
    total += milli * copies;
    counted.push(`${label} ${milli}m x${copies}`);
  };
  const oke = renderCluster("oke");
  const at = (values: unknown, path: string[]) => path.reduce<any>((v, key) => v?.[key], values);
  for (const { object: app } of oke.root) {
    if (app.kind !== "Application" || !app.spec?.source?.chart) continue;
    const values = app.spec.source.helm?.valuesObject ?? {};
    const walk = (v: any, path: string[]) => {
      if (!v || typeof v !== "object" || Array.isArray(v)) return;
      if (v.resources?.requests) {
        const block = [app.metadata.name, ...path].join(".");
        const rule = CHART_BLOCKS[block];
        assert.ok(rule !== undefined, `classify ${block} in CHART_BLOCKS (how many containers run it)`);
        const copies = typeof rule === "number" ? rule : rule === "node" ? nodes : Number(at(values, rule!.split(".").slice(1)) ?? 1);
        add(block, cpuMilli(v.resources.requests.cpu), copies);
      }
      for (const [key, child] of Object.entries(v)) if (key !== "resources") walk(child, [...path, key]);
    };
    walk(values, []);
  }
  // What the repository's own manifests run, and Argo CD (installed from upstream, sized by our patch).
  const argocd = parseAllDocuments(readFileSync(join(import.meta.dirname, "../gitops/argocd/patches/resources.yaml"), "utf8")).map((d) => d.toJS());
  for (const o of [...oke.all.map((r) => r.object), ...argocd]) {
    if (!["Deployment", "StatefulSet", "DaemonSet"].includes(o?.kind)) continue;
    const copies = o.kind === "DaemonSet" ? nodes : Number(o.spec?.replicas ?? 1);
    const cpu = (o.spec?.template?.spec?.containers ?? []).reduce((sum: number, c: any) => sum + cpuMilli(c.resources?.requests?.cpu), 0);
    add(`${o.kind}/${o.metadata.name}`, cpu, copies);
  }
  assert.ok(counted.some((c) => c.startsWith("Deployment/argocd-server")), "Argo CD counted");
  const system = OKE_SYSTEM.reduce((sum, pod) => sum + pod.milli * ("perNode" in pod ? nodes : pod.replicas), 0);
  const budget = nodes * config.okeNodeOcpus * OKE_ALLOCATABLE_MILLI_PER_NODE - system;
  assert.is(budget, 1300, "2 x 850m allocatable, less 400m for OKE's own pods");
  assert.ok(total <= budget, `OKE requests ${total}m CPU > ${budget}m (allocatable less OKE's own ${system}m):\n  ${counted.join("\n  ")}`);
});

test(".env.example says what an empty OCI_TENANCY_OCID does: OpenTofu uses the compartment (nothing reads ~/.oci/config for it)", () => {
  const lines = readFileSync(join(import.meta.dirname, "../.env.example"), "utf8").split("\n");
  const at = lines.indexOf("# OCI_TENANCY_OCID=");
  let start = at;
  while (start > 0 && !/^# [A-Z_]+=/.test(lines[start - 1]!) && lines[start - 1]!.startsWith("#")) start--;
  const comment = lines.slice(start, at).join(" ");
  assert.not.match(comment, /\.oci\/config/);
  assert.match(comment, /OCI_COMPARTMENT_OCID/);
  // …which is what the code does: no variable when unset, and the module falls back to the compartment.
  const env = { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa", PLATFORM_DOMAIN: "example.com" };
  assert.not.ok("tenancy_ocid" in tofuVars(loadConfig({ env })));
  assert.is(tofuVars(loadConfig({ env: { ...env, OCI_TENANCY_OCID: "ocid1.tenancy.oc1..aaaa" } })).tenancy_ocid, "ocid1.tenancy.oc1..aaaa");
  const tf = readFileSync(join(import.meta.dirname, "../clusters/oke/tofu/cluster.tf"), "utf8");
  assert.match(tf, /coalesce\(var\.tenancy_ocid, var\.compartment_ocid\)/);
});

test("git URLs in https and ssh forms are accepted", () => {
  for (const url of ["https://github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@github.com/o/r"]) {
    assert.is(loadConfig({ env: { GIT_REPO_URL: url } }).gitRepoUrl, url);
  }
});

test("command-line flags are validated like variables and named by flag", () => {
  const flags = { cluster: { flag: "--cluster", value: "minikube" }, timeoutSeconds: { flag: "--timeout", value: "15m" } };
  const config = loadConfig({ env: { CLUSTER: "oke" }, flags });
  assert.is(config.cluster, "minikube", "a flag beats the environment");
  assert.is(config.timeoutSeconds, 900);
  const message = problemsOf(() => loadConfig({ env: {}, flags: { clusterName: { flag: "--name", value: "Not OK" } } }));
  assert.match(message, /--name "Not OK" must be lower-case letters/);
  assert.not.match(message, /CLUSTER_NAME=/);
});

test("an OKE node pool must fit the Always Free A1 allowance", () => {
  const env = { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa", PLATFORM_DOMAIN: "example.com" };
  assert.is(loadConfig({ env }).okeNodeCount, 2, "the defaults fit: 2 x 1 OCPU x 6 GB");
  const message = problemsOf(() => loadConfig({ env: { ...env, OKE_NODE_COUNT: "3", OKE_NODE_MEMORY_GB: "6" } }));
  assert.match(message, /OKE_NODE_COUNT × OKE_NODE_OCPUS = 3 OCPUs exceeds the Always Free 2 OCPUs/);
  assert.match(message, /OKE_NODE_COUNT × OKE_NODE_MEMORY_GB = 18 GB exceeds the Always Free 12 GB/);
});

test("OKE settings: Kubernetes version, API CIDRs and the free-tier cap come from .env, validated, with one default each", () => {
  const env = { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa", PLATFORM_DOMAIN: "example.com" };
  const defaults = loadConfig({ env });
  assert.is(defaults.okeKubernetesVersion, "v1.34.1");
  assert.equal(defaults.okeApiAllowedCidrs, ["0.0.0.0/0"]);
  assert.equal([defaults.okeFreeOcpus, defaults.okeFreeMemoryGb], [OKE_FREE_TIER.ocpus, OKE_FREE_TIER.memoryGb]);
  const set = loadConfig({ env: { ...env, OKE_KUBERNETES_VERSION: "v1.35.0", OKE_API_ALLOWED_CIDRS: "203.0.113.7/32, 198.51.100.0/24", OKE_FREE_OCPUS: "4", OKE_FREE_MEMORY_GB: "24", OKE_NODE_OCPUS: "2", OKE_NODE_MEMORY_GB: "12" } });
  assert.equal(tofuVars(set).api_allowed_cidrs, ["203.0.113.7/32", "198.51.100.0/24"]);
  assert.is(tofuVars(set).kubernetes_version, "v1.35.0");
  assert.equal(tofuVars(set).free_tier, { ocpus: 4, memory_gb: 24 }, "OpenTofu's precondition checks the same cap");
  const message = problemsOf(() => loadConfig({ env: { ...env, OKE_KUBERNETES_VERSION: "1.34", OKE_API_ALLOWED_CIDRS: "my laptop", OKE_NODE_OCPUS: "2" } }));
  assert.match(message, /OKE_KUBERNETES_VERSION="1\.34" must be an OKE Kubernetes version such as v1\.34\.1/);
  assert.match(message, /OKE_API_ALLOWED_CIDRS="my laptop" must be IPv4 CIDRs/);
  assert.match(message, /4 OCPUs exceeds the Always Free 2 OCPUs \(OKE_FREE_OCPUS\)/);
  // The cap and the version are written once: OpenTofu has no defaults of its own for them.
  const variables = readFileSync(join(import.meta.dirname, "../clusters/oke/tofu/variables.tf"), "utf8");
  for (const name of ["kubernetes_version", "free_tier"]) {
    const body = variables.slice(variables.indexOf(`variable "${name}"`)).split("\n}")[0]!;
    assert.not.match(body, /default\s*=/, `${name} has a default in variables.tf`);
  }
  // .env.example documents each.
  const example = readFileSync(join(import.meta.dirname, "../.env.example"), "utf8");
  for (const name of ["OKE_KUBERNETES_VERSION", "OKE_API_ALLOWED_CIDRS", "OKE_FREE_OCPUS", "OKE_FREE_MEMORY_GB"]) assert.match(example, new RegExp(`^# ${name}=`, "m"), name);
});

test("a Redis password with a quote or backslash is refused (Redis reads it from a quoted config line)", () => {
  const message = problemsOf(() => loadConfig({ env: { REDIS_PASSWORD: 'abc"defghijkl' } }));
  assert.match(message, /REDIS_PASSWORD=\(hidden\) must be at least 12 characters with no spaces, " or \\/);
  assert.is(loadConfig({ env: { REDIS_PASSWORD: "Abcdefgh-1234_x" } }).redisPassword, "Abcdefgh-1234_x");
});

test("alert destinations: good values are read; a bad one gets one line naming the variable, never its value", () => {
  const good = {
    ALERT_NTFY_URL: "https://ntfy.sh/giropops-x7q",
    ALERT_NTFY_TOKEN: "tk_abcdefghijklmnopqrstuvwxyz012",
    ALERT_SLACK_WEBHOOK_URL: "https://hooks.slack.com/services/T000/B000/secretpart",
    ALERT_WEBHOOK_URL: "http://receiver.example.com:8080/hook",
  };
  const config = loadConfig({ env: good });
  assert.equal([config.alertNtfyUrl, config.alertNtfyToken, config.alertSlackWebhookUrl, config.alertWebhookUrl], Object.values(good));
  assert.is(loadConfig({ env: {} }).alertNtfyUrl, undefined);
  const message = problemsOf(() =>
    loadConfig({ env: { ALERT_NTFY_URL: "https://ntfy.sh/topic?secret=1", ALERT_SLACK_WEBHOOK_URL: "https://example.com/services/secretpart", ALERT_WEBHOOK_URL: "ftp://x/secretpart" } }),
  );
  const lines = message.split("\n").filter((l) => l.startsWith("  - "));
  assert.equal(lines, [
    "  - ALERT_NTFY_URL=(hidden) must be an ntfy topic URL such as https://ntfy.sh/my-unguessable-topic (no query string)",
    "  - ALERT_SLACK_WEBHOOK_URL=(hidden) must be a Slack incoming-webhook URL (https://hooks.slack.com/services/…)",
    "  - ALERT_WEBHOOK_URL=(hidden) must be an http(s) URL that accepts Alertmanager's webhook JSON",
  ]);
  assert.not.match(message, /secret/);
  assert.match(problemsOf(() => loadConfig({ env: { ALERT_NTFY_TOKEN: good.ALERT_NTFY_TOKEN } })), /ALERT_NTFY_TOKEN is set but ALERT_NTFY_URL is not/);
  assert.match(problemsOf(() => loadConfig({ env: { ALERT_NTFY_URL: good.ALERT_NTFY_URL, ALERT_NTFY_TOKEN: "password" } })), /ALERT_NTFY_TOKEN=\(hidden\) must be an ntfy access token/);
  const example = readFileSync(join(import.meta.dirname, "../.env.example"), "utf8");
  for (const name of Object.keys(good)) assert.match(example, new RegExp(`^# ${name}=`, "m"), name);
});

test.run();
