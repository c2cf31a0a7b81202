// A recording Runner and a simulated workstation behind it: git, docker,
// kind, minikube, tofu and oci answer from a small state object, so tests
// assert exactly which commands a bootstrap runs. `kubectl kustomize` and
// `kubectl config` run for real (kubectl is installed here).
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { NOT_FOUND, createRunner, failure, formatCommand, type RunOptions, type RunResult, type Runner } from "../../scripts/lib/runner.mts";

export type Reply = Partial<RunResult> | undefined;
export type Handler = (args: string[], options: RunOptions) => Reply | Promise<Reply>;

export type RecordingRunner = Runner & {
  /** Every command line run, in order. */
  calls: string[];
};

export function recordingRunner(handlers: Record<string, Handler>): RecordingRunner {
  const calls: string[] = [];
  return {
    dryRun: false,
    calls,
    async run(command, args, options = {}) {
      calls.push(formatCommand(command, args));
      const handler = handlers[command];
      const reply: RunResult = handler
        ? { code: 0, stdout: "", stderr: "", ...(await handler(args, options)) }
        : { code: NOT_FOUND, stdout: "", stderr: `${command}: command not found` };
      if (reply.stdout && options.echo) options.echo(reply.stdout);
      if (reply.code !== 0 && options.check !== false) throw failure(command, args, reply, options.fix);
      return reply;
    },
  };
}

export type Machine = {
  /** Version output per tool; false = not installed. */
  tools: Record<"docker" | "kind" | "minikube" | "kubectl" | "tofu" | "oci" | "git", string | false>;
  docker: "running" | "stopped" | "denied";
  dockerCpus: number;
  dockerMemoryGiB: number;
  kindClusters: Set<string>;
  /** kind clusters whose node container is stopped (after a reboot). */
  stoppedKindNodes?: Set<string>;
  minikubeProfiles: Map<string, string>;
  /** The remote as git ls-remote sees it, or why it cannot be read. */
  remote: { refs: Record<string, string> } | { error: string };
  origin: string;
  branch: string;
  /** Commits on the local branch the remote lacks. */
  ahead: number;
  dirty: boolean;
  tofuApplied: boolean;
  /** What `docker version --format {{.Server.Os}}/{{.Server.Arch}}` prints; false: a Docker before 28 (no `image save --platform`). */
  dockerPlatform: string;
  dockerSavePlatform: boolean;
  /** ID of the locally built app image, and the images each minikube profile holds. */
  localImageId: string;
  minikubeImages: Map<string, { id: string; repoTags: string[] }[]>;
  /** The API server URL the OKE kubeconfig points at (`oci ce cluster create-kubeconfig` writes it). */
  okeServer?: string;
  /** The OCID `tofu output` gives for the cluster (a new one after a destroy and apply). */
  okeClusterId: string;
  /** The nodes `oci ce node-pool get` lists, in the shape of its JSON (see okeNodePool). */
  okeNodes: { state: string; details?: string; error?: string }[];
  /** The node pool's own state (ACTIVE, NEEDS_ATTENTION, FAILED…). */
  okeNodePoolState: string;
  /** Files whose committed content (what `git show REV:PATH` prints) differs from the working tree. */
  committed?: Record<string, string>;
  /** What `tofu output` / `tofu state list` print when they cannot read the state (exit 1). */
  tofuStateError?: string;
  /** A failed first apply: the network is in the state, the cluster is not. */
  tofuNetworkOnly?: boolean;
  /** What `tofu apply` prints when it fails (unset: it succeeds). */
  tofuApplyError?: string;
};

export const OKE_CLUSTER_ID = "ocid1.cluster.oc1.sa-saopaulo-1.aaaaaaaaqxm3tc4fkyb7c123";
export const OKE_NODE_POOL_ID = "ocid1.nodepool.oc1.sa-saopaulo-1.aaaaaaaafh3ba5rpx2lc7p4q";
export const REMOTE_SHA = "4b825dc642cb6eb9a060e54bf8d69288fbee4904";

export function healthyMachine(overrides: Partial<Machine> = {}): Machine {
  return {
    tools: {
      docker: "Docker version 28.2.2, build e6534b4",
      kind: "kind v0.32.0 go1.24.3 linux/amd64",
      minikube: "v1.37.0",
      kubectl: "Client Version: v1.35.2",
      tofu: "OpenTofu v1.10.6\non linux_amd64",
      oci: "3.71.0",
      git: "git version 2.47.3",
    },
    docker: "running",
    dockerCpus: 8,
    dockerMemoryGiB: 16,
    kindClusters: new Set(),
    minikubeProfiles: new Map(),
    dockerPlatform: "linux/amd64",
    dockerSavePlatform: true,
    remote: { refs: { main: REMOTE_SHA } },
    origin: "https://github.com/giropops/giropops-platform.git",
    branch: "main",
    ahead: 0,
    dirty: false,
    tofuApplied: false,
    localImageId: "1f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a79881f2e3d4c5b6a7988",
    minikubeImages: new Map(),
    okeClusterId: OKE_CLUSTER_ID,
    okeNodes: [{ state: "ACTIVE" }, { state: "ACTIVE" }],
    okeNodePoolState: "ACTIVE",
    ...overrides,
  };
}

const real = createRunner();

/** A runner that behaves like a workstation in state `m` (and changes it as commands would). */
export function machineRunner(m: Machine): RecordingRunner {
  const version = (tool: keyof Machine["tools"]): Handler => () => {
    const output = m.tools[tool];
    return output === false ? { code: NOT_FOUND, stderr: `${tool}: command not found` } : { stdout: `${output}\n` };
  };
  const installed = (tool: keyof Machine["tools"], handler: Handler): Handler => (args, options) =>
    m.tools[tool] === false ? { code: NOT_FOUND, stderr: `${tool}: command not found` } : handler(args, options);
  return recordingRunner({
    git: installed("git", (args, options) => {
      const [sub, ...rest] = args;
      if (sub === "--version") return version("git")(args, {});
      if (sub === "remote") return { stdout: `${m.origin}\n` };
      if (sub === "rev-parse" && rest[0] === "--verify") {
        // The remote-tracking branch as last fetched: what the remote had (the fake fetched it).
        const sha = "refs" in m.remote ? m.remote.refs[rest.at(-1)!.replace("refs/remotes/origin/", "")] : undefined;
        return sha ? { stdout: `${sha}\n` } : { code: 1 };
      }
      if (sub === "rev-parse") return { stdout: `${m.branch}\n` };
      if (sub === "ls-remote") {
        if ("error" in m.remote) return { code: 128, stderr: `fatal: ${m.remote.error}` };
        const refs = m.remote.refs;
        return { stdout: Object.entries(refs).filter(([name]) => name === rest[1]).map(([name, sha]) => `${sha}\trefs/heads/${name}\n`).join("") };
      }
      if (sub === "cat-file") return { code: 0 };
      if (sub === "show") {
        // `git show REV:PATH`: the file as committed; a clean checkout unless the machine says otherwise.
        const [rev, path] = [rest[0]!.slice(0, rest[0]!.indexOf(":")), rest[0]!.slice(rest[0]!.indexOf(":") + 1)];
        const committed = m.committed?.[path] ?? (options.cwd && existsSync(join(options.cwd, path)) ? readFileSync(join(options.cwd, path), "utf8") : undefined);
        return committed === undefined ? { code: 128, stderr: `fatal: path '${path}' does not exist in '${rev}'\n` } : { stdout: committed };
      }
      if (sub === "rev-list") return { stdout: `${m.ahead}\n` };
      if (sub === "status") return { stdout: m.dirty ? " M README.md\n" : "" };
      return undefined;
    }),
    docker: installed("docker", (args) => {
      if (args[0] === "--version") return version("docker")(args, {});
      if (args[0] === "info") {
        if (m.docker === "denied") return { code: 1, stderr: "permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock" };
        if (m.docker === "stopped") return { code: 1, stderr: "Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?" };
        return { stdout: JSON.stringify({ NCPU: m.dockerCpus, MemTotal: m.dockerMemoryGiB * 1024 ** 3 }) };
      }
      if (args[0] === "image" && args[1] === "inspect") return { stdout: `sha256:${m.localImageId}\n` };
      if (args[0] === "version") return { stdout: `${m.dockerPlatform}\n` };
      if (args[0] === "image" && args[1] === "save" && args.includes("--platform") && m.dockerSavePlatform === false) return { code: 125, stderr: "unknown flag: --platform\nSee 'docker image save --help'." };
      if (args[0] === "inspect") return { stdout: m.stoppedKindNodes?.has(args.at(-1)!) ? "false\n" : "true\n" };
      if (args[0] === "start") m.stoppedKindNodes?.delete(args[1]!);
      return undefined; // docker build
    }),
    kind: installed("kind", (args) => {
      if (args[0] === "version") return version("kind")(args, {});
      // kind v0.32.0 lists clusters with `docker ps -a` (pkg/cluster/internal/providers/docker/provider.go
      // ListClusters wraps its failure as "failed to list clusters"); with none it logs "No kind clusters found."
      if (args[0] === "get") {
        if (m.docker !== "running") return { code: 1, stderr: `ERROR: failed to list clusters: command "docker ps -a --filter label=io.x-k8s.kind.cluster --format '{{.Label "io.x-k8s.kind.cluster"}}'" failed with error: exit status 1\n` };
        return m.kindClusters.size ? { stdout: [...m.kindClusters].map((c) => `${c}\n`).join("") } : { stderr: "No kind clusters found.\n" };
      }
      if (args[0] === "create") m.kindClusters.add(args[args.indexOf("--name") + 1]!);
      if (args[0] === "delete") m.kindClusters.delete(args[args.indexOf("--name") + 1]!);
      return undefined;
    }),
    minikube: installed("minikube", (args) => {
      if (args[0] === "version") return version("minikube")(args, {});
      const profile = args.find((a) => a.startsWith("--profile="))?.slice("--profile=".length);
      if (args[0] === "profile") {
        // --output=json with no profiles: {"invalid":[],"valid":[]}, exit 0 (cmd/minikube/cmd/config/profile_list.go printProfilesJSON).
        const profiles = [...m.minikubeProfiles].map(([Name, Status]) => ({ Name, Status }));
        return { stdout: JSON.stringify({ invalid: profiles.filter((p) => p.Status === "Invalid"), valid: profiles.filter((p) => p.Status !== "Invalid") }) };
      }
      if (args[0] === "start" && profile) m.minikubeProfiles.set(profile, "Running");
      if (args[0] === "image" && args[1] === "ls" && profile) return { stdout: JSON.stringify(m.minikubeImages.get(profile) ?? []) };
      if (args[0] === "image" && args[1] === "load" && profile) m.minikubeImages.set(profile, [{ id: m.localImageId.slice(0, 13), repoTags: [args[2]!] }]);
      if (args[0] === "delete" && profile) m.minikubeProfiles.delete(profile);
      return undefined;
    }),
    kubectl: installed("kubectl", (args, options) => {
      if (args[0] === "version") return version("kubectl")(args, {});
      if (args[0] === "kustomize" || args[0] === "config") return real.run("kubectl", args, { ...options, check: false });
      return undefined;
    }),
    tofu: installed("tofu", (args) => {
      const [, sub] = args; // args[0] is -chdir=…
      if (args[0] === "version") return version("tofu")(args, {});
      // `tofu output -json` with no state prints {}; `tofu state list` one address per line.
      if (m.tofuStateError && (sub === "output" || sub === "state")) return { code: 1, stderr: m.tofuStateError };
      if (sub === "output") return m.tofuApplied ? { stdout: JSON.stringify({ cluster_id: { value: m.okeClusterId }, node_pool_id: { value: OKE_NODE_POOL_ID } }) } : { stdout: "{}" };
      if (sub === "state" && args[2] === "list") {
        const network = ["oci_core_vcn.this", "oci_core_internet_gateway.this", 'oci_core_subnet.this["api"]'];
        return { stdout: m.tofuApplied ? [...network, "oci_containerengine_cluster.this", "oci_containerengine_node_pool.free"].join("\n") + "\n" : m.tofuNetworkOnly ? network.join("\n") + "\n" : "" };
      }
      if (sub === "plan") return { code: m.tofuApplied ? 0 : 2, stdout: m.tofuApplied ? "No changes." : "Plan: 14 to add, 0 to change, 0 to destroy.\n" };
      if (sub === "apply") {
        if (m.tofuApplyError) return { code: 1, stderr: m.tofuApplyError };
        m.tofuApplied = true;
      }
      if (sub === "destroy") m.tofuApplied = m.tofuNetworkOnly = false;
      return undefined;
    }),
    oci: installed("oci", (args) => {
      if (args[0] === "--version") return version("oci")(args, {});
      if (args[0] === "ce" && args[1] === "node-pool" && args[2] === "get") return { stdout: JSON.stringify({ data: okeNodePool(m), etag: "fake" }) };
      if (args[2] === "create-kubeconfig") writeFileSync(args[args.indexOf("--file") + 1]!, okeKubeconfig(args, m.okeServer ?? "https://127.0.0.1:9"));
      return undefined;
    }),
  });
}

const flag = (args: string[], name: string) => (args.includes(name) ? args[args.indexOf(name) + 1] : undefined);

/**
 * What `oci ce cluster create-kubeconfig` writes: the kubeconfig the OKE API
 * returns (one cluster, context and user named after the cluster OCID's last 11
 * characters, as terraform-oci-oke's examples/istio-mc/templates.tf names them;
 * the user an exec plugin running `oci ce cluster generate-token --cluster-id …
 * --region …`), to which oci-cli appends `--profile P` only with
 * --with-auth-context (oracle/oci-cli v3.52.0,
 * services/container_engine/src/oci_cli_container_engine/containerengine_cli_extended.py
 * create_kubeconfig). Unlike the real file: insecure-skip-tls-verify instead of
 * the cluster's CA, as the fake API server's certificate is throw-away.
 */
export function okeKubeconfig(args: string[], server: string): string {
  const id = flag(args, "--cluster-id")!;
  const short = id.slice(-11);
  const token = ["ce", "cluster", "generate-token", "--cluster-id", id, "--region", flag(args, "--region")!];
  const profile = flag(args, "--profile");
  if (args.includes("--with-auth-context") && profile) token.push("--profile", profile);
  return JSON.stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name: `cluster-${short}`, cluster: { server, "insecure-skip-tls-verify": true } }],
    contexts: [{ name: `context-${short}`, context: { cluster: `cluster-${short}`, user: `user-${short}` } }],
    "current-context": `context-${short}`,
    users: [{ name: `user-${short}`, user: { exec: { apiVersion: "client.authentication.k8s.io/v1beta1", command: "oci", args: token, env: [], interactiveMode: "Never", provideClusterInfo: false } } }],
  });
}

/**
 * A stand-in `oci` executable, first on PATH, for what kubectl and the
 * Kubernetes client run from that kubeconfig: `oci ce cluster generate-token`
 * prints an ExecCredential (the JSON generate_token echoes in oracle/oci-cli
 * v3.52.0) and appends its arguments to `log`, one call per line.
 */
export function fakeOciOnPath(dir: string, log: string): void {
  mkdirSync(dir, { recursive: true });
  const script = join(dir, "oci");
  writeFileSync(script, `#!/bin/sh
echo "$*" >> '${log}'
printf '%s\\n' '{"apiVersion": "client.authentication.k8s.io/v1beta1", "kind": "ExecCredential", "status": {"token": "from-oci", "expirationTimestamp": "2099-01-01T00:00:00Z"}}'
`);
  chmodSync(script, 0o755);
  process.env.PATH = `${dir}:${process.env.PATH}`;
}

/**
 * `oci ce node-pool get` output: {"data": NodePool} with the Python SDK's
 * attribute names hyphenated (oracle/oci-cli src/oci_cli/cli_util.py to_dict);
 * fields and states from oci-go-sdk v65 containerengine node_pool.go, node.go and
 * node_error.go (as vendored by oracle/terraform-provider-oci v7.30.0). Only
 * the fields bootstrap reads.
 */
function okeNodePool(m: Machine): Record<string, unknown> {
  return {
    id: OKE_NODE_POOL_ID,
    "cluster-id": m.okeClusterId,
    "lifecycle-state": m.okeNodePoolState,
    "lifecycle-details": m.okeNodePoolState === "ACTIVE" ? null : m.okeNodes.find((n) => n.details)?.details ?? null,
    "node-shape": "VM.Standard.A1.Flex",
    nodes: m.okeNodes.map((n, i) => ({
      id: `ocid1.instance.oc1.sa-saopaulo-1.node${i}`,
      name: `oke-c${i}-node`,
      "lifecycle-state": n.state,
      "lifecycle-details": n.details ?? null,
      // code and status are placeholders: bootstrap reads only the message.
      "node-error": n.error ? { code: "InternalError", message: n.error, "opc-request-id": "fake", status: "500" } : null,
    })),
  };
}
