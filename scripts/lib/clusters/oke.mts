// OKE on the OCI Always Free tier: OpenTofu in clusters/oke/tofu creates the
// VCN, a basic cluster and an arm64 A1.Flex node pool; the OCI CLI writes a
// kubeconfig of our own (clusters/oke/<name>.kubeconfig, git-ignored).
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import type { Config } from "../config.mts";
import { UserError } from "../errors.mts";
import { kubectlArgs } from "../kube.mts";
import type { ClusterContext, ClusterProvider } from "./types.mts";

export const TOFU_DIR = "clusters/oke/tofu";
const PLAN_FILE = "giropops.tfplan";

export const kubeconfigFile = (config: Config) => `clusters/oke/${config.clusterName}.kubeconfig`;
const contextName = (config: Config) => `oke-${config.clusterName}`;

/** -var flags: nothing secret goes here (OCI credentials stay in ~/.oci/config). */
export function tofuVars(config: Config): string[] {
  const vars: Record<string, string | number | undefined> = {
    region: config.ociRegion,
    compartment_ocid: config.ociCompartmentOcid,
    tenancy_ocid: config.ociTenancyOcid,
    oci_profile: config.ociProfile,
    cluster_name: config.clusterName,
    node_count: config.okeNodeCount,
    node_ocpus: config.okeNodeOcpus,
    node_memory_gb: config.okeNodeMemoryGb,
  };
  return Object.entries(vars).flatMap(([key, value]) => (value === undefined ? [] : ["-var", `${key}=${value}`]));
}

function tofu(context: ClusterContext, args: string[], options: { readOnly?: boolean; check?: boolean; echo?: boolean } = {}) {
  return context.runner.run("tofu", [`-chdir=${TOFU_DIR}`, ...args], {
    cwd: context.root,
    readOnly: options.readOnly,
    check: options.check,
    echo: options.echo ? (chunk) => context.ui.echo(chunk) : undefined,
    env: { TF_IN_AUTOMATION: "1" },
    fix: `run "tofu -chdir=${TOFU_DIR} ${args[0]}" yourself to see the whole output`,
  });
}

async function clusterId(context: ClusterContext): Promise<string | undefined> {
  const result = await tofu(context, ["output", "-json"], { readOnly: true, check: false });
  if (result.code !== 0 || !result.stdout.trim()) return undefined;
  try {
    const outputs = JSON.parse(result.stdout) as Record<string, { value?: unknown }>;
    const id = outputs.cluster_id?.value;
    return typeof id === "string" && id ? id : undefined;
  } catch {
    return undefined;
  }
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

export const oke: ClusterProvider = {
  kind: "oke",
  label: (config) => `OKE cluster ${config.clusterName} (${config.ociRegion ?? "no region"})`,
  tools: ["tofu", "oci", "kubectl"],
  hostPorts: () => [],
  // The Gateway is Degraded until Let's Encrypt issues its certificate, which
  // (HTTP-01) waits for your DNS to point at the new load balancer.
  degradedGraceMs: 15 * 60_000,
  target: (config, root) => ({ context: contextName(config), kubeconfigPath: join(root, kubeconfigFile(config)) }),
  async exists(context) {
    return (await clusterId(context)) !== undefined;
  },
  async ensure(context) {
    const { ui, yes, config } = context;
    await tofu(context, ["init", "-input=false"]);
    const plan = await tofu(context, ["plan", "-input=false", "-detailed-exitcode", `-out=${PLAN_FILE}`, ...tofuVars(config)], { check: false, echo: true });
    // -detailed-exitcode: 0 nothing to change, 2 changes planned, anything else failed.
    let outcome = `reused ${oke.label(config)} (no infrastructure changes)`;
    // Under --dry-run the plan is only printed: show the apply that would follow it.
    if (plan.code === 2 || context.runner.dryRun) {
      const go = yes || context.runner.dryRun || (await ui.confirm(`Apply this plan to create/update ${oke.label(config)}?`, "re-run with --yes to apply the plan without a prompt"));
      if (!go) throw new UserError("OpenTofu plan not applied: nothing was changed", { fix: "re-run and answer yes, or pass --yes" });
      await tofu(context, ["apply", "-input=false", PLAN_FILE], { echo: true });
      outcome = `${context.runner.dryRun ? "would apply" : "applied"} the OpenTofu plan for ${oke.label(config)}`;
    } else if (plan.code !== 0) {
      throw new UserError(`tofu plan failed in ${TOFU_DIR}`, { fix: "read the plan output above (OCI credentials: oci setup config; quotas: Always Free A1 limits)" });
    }
    const id = context.runner.dryRun ? "<cluster id from tofu output>" : await clusterId(context);
    if (!id) throw new UserError("OpenTofu did not output cluster_id", { fix: `run "tofu -chdir=${TOFU_DIR} output" and check the apply finished` });
    await writeKubeconfig(context, id);
    return outcome;
  },
  async remove(context) {
    const { ui, yes, config, root } = context;
    const id = await clusterId(context);
    if (!id) return `no ${oke.label(config)} in the OpenTofu state`;
    const go = yes || (await ui.confirm(`Destroy ${oke.label(config)} and its network? This cannot be undone.`, "re-run with --yes to destroy without a prompt"));
    if (!go) throw new UserError("teardown cancelled: nothing was deleted");
    const drained = await drainCloudResources(context, id);
    await tofu(context, ["destroy", "-input=false", "-auto-approve", ...tofuVars(config)], { echo: true });
    if (!context.runner.dryRun) rmSync(join(root, kubeconfigFile(config)), { force: true });
    return `${context.runner.dryRun ? "would destroy" : "destroyed"} ${oke.label(config)} (${drained})`;
  },
};
