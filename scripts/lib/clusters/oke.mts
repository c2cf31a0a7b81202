// OKE on the OCI Always Free tier: OpenTofu in clusters/oke/tofu creates the
// VCN, a basic cluster and an arm64 A1.Flex node pool; the OCI CLI writes a
// kubeconfig of our own (clusters/oke/<name>.kubeconfig, git-ignored).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Config } from "../config.mts";
import { UserError } from "../errors.mts";
import { kubectlArgs, type Kube } from "../kube.mts";
import { NOT_FOUND, lastLine } from "../runner.mts";
import { endpoints } from "../summary.mts";
import type { Ui } from "../ui.mts";
import type { ClusterContext, ClusterProvider } from "./types.mts";

export const TOFU_DIR = "clusters/oke/tofu";
const PLAN_FILE = "giropops.tfplan";
/**
 * The variables bootstrap and teardown pass to OpenTofu, written where tofu
 * reads them on its own (*.auto.tfvars.json, git-ignored): a hint such as
 * "tofu -chdir=clusters/oke/tofu destroy" works as printed. Nothing secret goes
 * here (OCI credentials stay in ~/.oci/config).
 */
export const TFVARS_FILE = `${TOFU_DIR}/giropops.auto.tfvars.json`;

export const kubeconfigFile = (config: Config) => `clusters/oke/${config.clusterName}.kubeconfig`;
const contextName = (config: Config) => `oke-${config.clusterName}`;

/** The OpenTofu variables for this configuration (variables.tf), unset ones left out. */
export function tofuVars(config: Config): Record<string, unknown> {
  const vars: Record<string, unknown> = {
    region: config.ociRegion,
    compartment_ocid: config.ociCompartmentOcid,
    tenancy_ocid: config.ociTenancyOcid,
    oci_profile: config.ociProfile,
    cluster_name: config.clusterName,
    kubernetes_version: config.okeKubernetesVersion,
    node_count: config.okeNodeCount,
    node_ocpus: config.okeNodeOcpus,
    node_memory_gb: config.okeNodeMemoryGb,
    free_tier: { ocpus: config.okeFreeOcpus, memory_gb: config.okeFreeMemoryGb },
    api_allowed_cidrs: config.okeApiAllowedCidrs,
  };
  return Object.fromEntries(Object.entries(vars).filter(([, value]) => value !== undefined));
}

/** Writes TFVARS_FILE (or, under --dry-run, says what it would write). */
function writeTfvars(context: ClusterContext): void {
  const text = `${JSON.stringify(tofuVars(context.config), null, 2)}\n`;
  if (context.runner.dryRun) return context.ui.info(`would write ${TFVARS_FILE}: ${JSON.stringify(tofuVars(context.config))}`);
  mkdirSync(join(context.root, TOFU_DIR), { recursive: true });
  writeFileSync(join(context.root, TFVARS_FILE), text);
}

function tofu(context: ClusterContext, args: string[], options: { readOnly?: boolean; check?: boolean; echo?: boolean } = {}) {
  return context.runner.run("tofu", [`-chdir=${TOFU_DIR}`, ...args], {
    cwd: context.root,
    readOnly: options.readOnly,
    check: options.check,
    echo: options.echo ? (chunk) => context.ui.echo(chunk) : undefined,
    env: { TF_IN_AUTOMATION: "1" },
    fix: `run "tofu -chdir=${TOFU_DIR} ${args[0]}" yourself to see the whole output (it reads ${TFVARS_FILE})`,
  });
}

type TofuOutputs = { clusterId?: string; nodePoolId?: string; resources: boolean };

/** What the state holds: the outputs, and whether any resource exists at all (a failed first apply leaves the VCN). */
async function tofuState(context: ClusterContext, options: { strict?: boolean } = {}): Promise<TofuOutputs> {
  const output = await tofu(context, ["output", "-json"], { readOnly: true, check: false });
  // Teardown must not report "nothing to delete" when it could not look.
  const couldNotCheck = (result: { code: number; stderr: string }, command: string) =>
    new UserError(`could not check the OpenTofu state in ${TOFU_DIR}: ${result.code === NOT_FOUND ? "tofu is not installed" : `tofu ${command} failed (${lastLine(result.stderr) || `exit code ${result.code}`})`}`, {
      fix: `${result.code === NOT_FOUND ? "install OpenTofu (https://opentofu.org/docs/intro/install/)" : `run "tofu -chdir=${TOFU_DIR} ${command}" to see the whole error (another tofu run holding the state: wait for it)`}, then re-run teardown`,
    });
  if (options.strict && output.code !== 0) throw couldNotCheck(output, "output -json");
  let outputs: Record<string, { value?: unknown }> = {};
  try {
    if (output.code === 0 && output.stdout.trim()) outputs = JSON.parse(output.stdout);
  } catch {
    // no state yet
  }
  const text = (key: string) => (typeof outputs[key]?.value === "string" && outputs[key]!.value ? (outputs[key]!.value as string) : undefined);
  const clusterId = text("cluster_id");
  if (clusterId) return { clusterId, nodePoolId: text("node_pool_id"), resources: true };
  const list = await tofu(context, ["state", "list"], { readOnly: true, check: false });
  if (options.strict && list.code !== 0) throw couldNotCheck(list, "state list");
  return { resources: list.code === 0 && list.stdout.trim() !== "" };
}

const clusterId = async (context: ClusterContext) => (await tofuState(context)).clusterId;

/** OCI's words when an A1 shape has no free hosts ("Out of capacity" / "Out of host capacity", as oke-free's README quotes them). */
const OUT_OF_CAPACITY = /out of (host )?capacity/i;
const CAPACITY_FIX = "Always Free A1 capacity comes and goes: re-run bootstrap later (it resumes), or upgrade the account to Pay As You Go (Always Free resources stay free and get capacity first); A1 Always Free exists only in your home region";

function outOfCapacity(region: string | undefined): UserError {
  return new UserError(`OCI is out of host capacity for VM.Standard.A1.Flex in ${region ?? "your region"} (every availability domain was tried)`, { fix: CAPACITY_FIX });
}

type KubeconfigFile = {
  contexts?: { name: string; context?: { user?: string } }[];
  users?: { name: string; user?: { exec?: { args?: string[] } } }[];
  "current-context"?: string;
};

/** The value after `flag` in the token command of our context's user (`oci ce cluster generate-token …`). */
function tokenArg(kubeconfig: KubeconfigFile | null, context: string, flag: string): string | undefined {
  const user = kubeconfig?.contexts?.find((c) => c.name === context)?.context?.user;
  const args = kubeconfig?.users?.find((u) => u.name === user)?.user?.exec?.args ?? [];
  const at = args.indexOf(flag);
  return at >= 0 ? args[at + 1] : undefined;
}

/**
 * The OCI CLI writes the kubeconfig (exec auth with `oci ce cluster generate-token`);
 * we name its context. --with-auth-context (oci-cli 3.52.0) puts --profile into
 * that token command: without it every kubectl call signs with [DEFAULT]. A file
 * for another cluster (same name, recreated) or another profile is rewritten.
 */
async function writeKubeconfig(context: ClusterContext, id: string): Promise<void> {
  const { config, root, runner } = context;
  const file = join(root, kubeconfigFile(config));
  if (existsSync(file) && !runner.dryRun) {
    const current = parse(readFileSync(file, "utf8")) as KubeconfigFile | null;
    const name = contextName(config);
    if (tokenArg(current, name, "--cluster-id") === id && tokenArg(current, name, "--profile") === config.ociProfile) return;
    rmSync(file);
  }
  await runner.run("oci", [
    "ce", "cluster", "create-kubeconfig",
    "--cluster-id", id,
    "--file", file,
    "--region", config.ociRegion ?? "",
    "--token-version", "2.0.0",
    "--kube-endpoint", "PUBLIC_ENDPOINT",
    "--with-auth-context",
    "--profile", config.ociProfile,
  ], { fix: "check the OCI CLI works: oci ce cluster get --cluster-id " + id });
  const written = runner.dryRun ? undefined : (parse(readFileSync(file, "utf8")) as KubeconfigFile | null)?.["current-context"];
  await runner.run("kubectl", ["config", "rename-context", written ?? "<context written by oci>", contextName(config), "--kubeconfig", file]);
}

type OciNode = { name?: string; "lifecycle-state"?: string; "lifecycle-details"?: string; "node-error"?: { code?: string; message?: string } | null };
type OciNodePool = { "lifecycle-state"?: string; "lifecycle-details"?: string; nodes?: OciNode[] };

const NODE_POLL_MS = 15_000;

/**
 * OpenTofu counts a node pool as created once its work request ends, even as
 * NEEDS_ATTENTION with nodes that never came up (out of capacity): wait until
 * the OCI API reports every node ACTIVE, stop early with OCI's reason when a
 * node failed, then until Kubernetes has them Ready, before Argo CD is installed.
 */
async function waitForNodes(context: ClusterContext, poolId: string): Promise<void> {
  const { config, runner, ui, root } = context;
  const deadline = Date.now() + config.timeoutSeconds * 1000;
  const fix = `look at the node pool in the OCI console (Developer Services → Kubernetes Clusters → ${config.clusterName} → Node pools), then re-run bootstrap`;
  for (;;) {
    const result = await runner.run("oci", ["ce", "node-pool", "get", "--node-pool-id", poolId, "--region", config.ociRegion ?? "", "--profile", config.ociProfile], { readOnly: true, fix });
    let pool: OciNodePool = {};
    try {
      pool = (JSON.parse(result.stdout) as { data?: OciNodePool }).data ?? {};
    } catch {
      throw new UserError(`oci ce node-pool get answered something other than JSON`, { fix });
    }
    const nodes = pool.nodes ?? [];
    const reasons = [pool["lifecycle-details"], ...nodes.flatMap((n) => [n["node-error"]?.message, n["lifecycle-details"]])].filter((r): r is string => Boolean(r));
    if (reasons.some((r) => OUT_OF_CAPACITY.test(r))) throw outOfCapacity(config.ociRegion);
    const failed = nodes.filter((n) => ["FAILING", "INACTIVE", "DELETED"].includes(n["lifecycle-state"] ?? ""));
    if (pool["lifecycle-state"] === "FAILED" || failed.length > 0) {
      throw new UserError(`the node pool is ${pool["lifecycle-state"]}${reasons.length ? `: ${[...new Set(reasons)].join("; ")}` : ""}`, { fix });
    }
    const active = nodes.filter((n) => n["lifecycle-state"] === "ACTIVE").length;
    if (active >= config.okeNodeCount) break;
    if (Date.now() > deadline) {
      throw new UserError(`${active} of ${config.okeNodeCount} nodes ACTIVE after ${config.timeoutSeconds}s (node pool ${pool["lifecycle-state"] ?? "unknown"})`, { fix });
    }
    await new Promise((resolve) => setTimeout(resolve, context.pollMs ?? NODE_POLL_MS));
  }
  const target = oke.target(config, root);
  await runner.run("kubectl", kubectlArgs(target, "wait", "--for=condition=Ready", "nodes", "--all", `--timeout=${Math.max(60, Math.round((deadline - Date.now()) / 1000))}s`), {
    cwd: root,
    readOnly: true,
    fix: `kubectl --kubeconfig ${target.kubeconfigPath} get nodes; then re-run bootstrap`,
  });
  ui.info(`${config.okeNodeCount} node(s) ACTIVE in OCI and Ready in Kubernetes`);
}

const DRAIN_TIMEOUT = "10m";
const CONSOLE_FIX = "delete what is left in the OCI console (Networking → Load balancers → Network load balancers; Storage → Block volumes), then re-run teardown";

/**
 * What `tofu destroy` cannot remove: the network load balancer the cloud
 * controller made for each LoadBalancer Service, and the block volume behind
 * each PVC. Both live in our subnet, so destroy would leave them billing and
 * then fail on the subnet. Argo CD is stopped first so it recreates nothing.
 * Returns a note for the step line.
 */
async function drainCloudResources(context: ClusterContext, id: string): Promise<string> {
  const { config, root, runner, ui } = context;
  const target = oke.target(config, root);
  if (!existsSync(target.kubeconfigPath ?? "")) await writeKubeconfig(context, id).catch(() => undefined);
  const run = (args: string[], options: { readOnly?: boolean; check?: boolean } = {}) =>
    runner.run("kubectl", kubectlArgs(target, ...args), { cwd: root, fix: CONSOLE_FIX, ...options });
  const reachable = existsSync(target.kubeconfigPath ?? "") && (await run(["get", "--raw", "/readyz", "--request-timeout=20s"], { readOnly: true, check: false })).code === 0;
  if (!reachable) {
    ui.warn(`Cannot reach ${oke.label(config)}: load balancers and block volumes are not deleted first; if "tofu destroy" stops on the subnet or VCN, ${CONSOLE_FIX}.`);
    return "cluster unreachable: skipped deleting load balancers and volumes";
  }
  // Without the application controller nothing syncs the Services and PVCs back.
  await run(["-n", "argocd", "scale", "statefulset", "argocd-application-controller", "--replicas=0"], { check: false });
  await run(["-n", "argocd", "wait", "--for=delete", "pod", "-l", "app.kubernetes.io/name=argocd-application-controller", `--timeout=${DRAIN_TIMEOUT}`], { check: false });

  const rows = async (args: string[]) => (await run(args, { readOnly: true })).stdout.split("\n").map((line) => line.trim()).filter(Boolean);
  const services = await rows(["get", "services", "--all-namespaces", "-o", `jsonpath={range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.namespace}{" "}{.metadata.name}{"\\n"}{end}`]);
  // --wait returns once the cloud controller has deleted the load balancer (its finalizer).
  for (const row of services) {
    const [namespace = "", name = ""] = row.split(" ");
    await run(["-n", namespace, "delete", "service", name, "--ignore-not-found", "--wait", `--timeout=${DRAIN_TIMEOUT}`]);
  }
  const claims = await rows(["get", "persistentvolumeclaims", "--all-namespaces", "-o", `jsonpath={range .items[*]}{.metadata.namespace}{" "}{.spec.volumeName}{"\\n"}{end}`]);
  const namespaces = [...new Set(claims.map((row) => row.split(" ")[0] ?? ""))];
  const volumes = claims.map((row) => row.split(" ")[1]).filter((name): name is string => Boolean(name));
  for (const namespace of namespaces) {
    // A claim in use is only deleted after its pods: remove the workloads (and their pods) first.
    await run(["-n", namespace, "delete", "statefulsets,deployments", "--all", "--cascade=foreground", "--wait", `--timeout=${DRAIN_TIMEOUT}`]);
    await run(["-n", namespace, "delete", "persistentvolumeclaims", "--all", "--wait", `--timeout=${DRAIN_TIMEOUT}`]);
  }
  // The CSI driver deletes the block volume when the PersistentVolume goes (reclaim policy Delete).
  if (volumes.length > 0) await run(["wait", "--for=delete", ...volumes.map((v) => `persistentvolume/${v}`), `--timeout=${DRAIN_TIMEOUT}`]);
  return `${runner.dryRun ? "would delete" : "deleted"} ${services.length} load balancer(s) and ${claims.length} volume claim(s) first`;
}

/** The Traefik Service the cloud controller gives a network load balancer (clusters/oke/patches/gateway.yaml). */
const GATEWAY_SERVICE = { namespace: "traefik", name: "traefik" } as const;
const ADDRESS_POLL_MS = 10_000;

/** The DNS records the published hostnames need, one line each, for an address. */
export function dnsRecords(config: Pick<Config, "cluster" | "domain">, address: string, target: Parameters<typeof endpoints>[1]): string[] {
  const hosts = endpoints(config, target).filter((e) => !e.portForward).map((e) => `${e.host}.${config.domain}`);
  return [...hosts.map((host) => `${host}  A  ${address}`), `(or one wildcard record: *.${config.domain}  A  ${address})`];
}

/**
 * HTTP-01 cannot succeed until DNS points at the load balancer, whose address
 * only exists once the cloud controller made it (and changes after a
 * teardown): print it, with the records to create, the moment it appears.
 */
function announceLoadBalancer(kube: Kube, ui: Ui, config: Config, pollMs = ADDRESS_POLL_MS): () => void {
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const poll = async () => {
    if (stopped) return;
    const service = await kube.get("v1", "Service", GATEWAY_SERVICE.name, GATEWAY_SERVICE.namespace).catch(() => undefined);
    const address = (service?.status?.loadBalancer?.ingress as { ip?: string }[] | undefined)?.find((i) => i.ip)?.ip;
    if (stopped) return;
    if (address) {
      ui.warn(`The load balancer's address is ${address}. Create these DNS records now; Let's Encrypt (HTTP-01) reaches every hostname through them before it issues the certificate, and bootstrap keeps waiting meanwhile:`);
      for (const line of dnsRecords(config, address, kube.target)) ui.info(line);
      return;
    }
    timer = setTimeout(poll, pollMs);
  };
  void poll();
  return () => {
    stopped = true;
    if (timer) clearTimeout(timer);
  };
}

export const oke: ClusterProvider = {
  kind: "oke",
  label: (config) => `OKE cluster ${config.clusterName} (${config.ociRegion ?? "no region"})`,
  tools: ["tofu", "oci", "kubectl"],
  hostPorts: () => [],
  // The Gateway is Degraded until Let's Encrypt issues its certificate, which
  // (HTTP-01) waits for your DNS to point at the new load balancer: traefik
  // gets the whole timeout, everything else the usual grace.
  degradedGraceMs: 15 * 60_000,
  patientApps: ["traefik"],
  duringSync: announceLoadBalancer,
  target: (config, root) => ({ context: contextName(config), kubeconfigPath: join(root, kubeconfigFile(config)) }),
  async exists(context) {
    return (await clusterId(context)) !== undefined;
  },
  async ensure(context) {
    const { ui, yes, config } = context;
    writeTfvars(context);
    await tofu(context, ["init", "-input=false"]);
    const plan = await tofu(context, ["plan", "-input=false", "-detailed-exitcode", `-out=${PLAN_FILE}`], { check: false, echo: true });
    // -detailed-exitcode: 0 nothing to change, 2 changes planned, anything else failed.
    let outcome = `reused ${oke.label(config)} (no infrastructure changes)`;
    // Under --dry-run the plan is only printed: show the apply that would follow it.
    if (plan.code === 2 || context.runner.dryRun) {
      const go = yes || context.runner.dryRun || (await ui.confirm(`Apply this plan to create/update ${oke.label(config)}?`, "re-run with --yes to apply the plan without a prompt"));
      if (!go) throw new UserError("OpenTofu plan not applied: nothing was changed", { fix: "re-run and answer yes, or pass --yes" });
      const apply = await tofu(context, ["apply", "-input=false", PLAN_FILE], { echo: true, check: false });
      // A node pool whose work request failed is deleted again by OKE; the apply reports why.
      if (OUT_OF_CAPACITY.test(`${apply.stdout}\n${apply.stderr}`)) throw outOfCapacity(config.ociRegion);
      if (apply.code !== 0) throw new UserError(`tofu apply failed in ${TOFU_DIR}`, { fix: "read the output above, then re-run bootstrap: OpenTofu keeps what it created and plans the rest" });
      outcome = `${context.runner.dryRun ? "would apply" : "applied"} the OpenTofu plan for ${oke.label(config)}`;
    } else if (plan.code !== 0) {
      throw new UserError(`tofu plan failed in ${TOFU_DIR}`, { fix: "read the plan output above (OCI credentials: oci setup config; quotas: Always Free A1 limits; a Kubernetes version OKE no longer offers: OKE_KUBERNETES_VERSION)" });
    }
    if (context.runner.dryRun) {
      await writeKubeconfig(context, "<cluster id from tofu output>");
      ui.info(`would wait until the node pool's ${config.okeNodeCount} nodes are ACTIVE and Ready`);
      return outcome;
    }
    const state = await tofuState(context);
    if (!state.clusterId) throw new UserError("OpenTofu did not output cluster_id", { fix: `run "tofu -chdir=${TOFU_DIR} output" and check the apply finished` });
    await writeKubeconfig(context, state.clusterId);
    if (state.nodePoolId) await waitForNodes(context, state.nodePoolId);
    return outcome;
  },
  async remove(context) {
    const { ui, yes, config, root } = context;
    const state = await tofuState(context, { strict: true });
    if (!state.resources) return `no ${oke.label(config)} in the OpenTofu state`;
    const what = state.clusterId ? `${oke.label(config)} and its network` : `what a failed first apply left of ${oke.label(config)} (network, no cluster)`;
    const go = yes || (await ui.confirm(`Destroy ${what}? This cannot be undone.`, "re-run with --yes to destroy without a prompt"));
    if (!go) throw new UserError("teardown cancelled: nothing was deleted");
    const drained = state.clusterId ? await drainCloudResources(context, state.clusterId) : "no cluster: nothing to drain";
    writeTfvars(context);
    await tofu(context, ["destroy", "-input=false", "-auto-approve"], { echo: true });
    if (!context.runner.dryRun) rmSync(join(root, kubeconfigFile(config)), { force: true });
    return `${context.runner.dryRun ? "would destroy" : "destroyed"} ${oke.label(config)} (${drained})`;
  },
};
