// Preflight: every problem found before anything is created, each with its
// fix, reported together so a person fixes them in one go.
import { existsSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { homedir } from "node:os";
import { join } from "node:path";
import type { Octokit } from "@octokit/rest";
import { parse as parseYaml } from "yaml";
import { readProfile } from "./clusters/minikube.mts";
import type { Config } from "./config.mts";
import { UserError } from "./errors.mts";
import { checkRemote, githubRepo, localDrift, type GitSource } from "./git.mts";
import { APP_REPOSITORY, OKE_APP_OVERLAY, appRepositoryOf } from "./image.mts";
import { checkGitHubAccess } from "./repository.mts";
import type { RepoAccess } from "./github.mts";
import { NOT_FOUND, lastLine, type Runner } from "./runner.mts";

export type ToolName = "docker" | "kind" | "minikube" | "kubectl" | "tofu" | "oci" | "git";

type Tool = { minimum: string; args: string[]; install: string; why: string };

/** Minimum versions we support, and where to get each tool. The `renovate:` comments let
 * Renovate list newer releases on its dashboard (.github/renovate.json); a minimum moves only on purpose. */
export const TOOLS: Record<ToolName, Tool> = {
  // renovate: datasource=github-tags depName=docker/cli extractVersion=^v(?<version>\d+\.\d+\.\d+)$
  docker: { minimum: "24.0.0", args: ["--version"], install: "https://docs.docker.com/engine/install/", why: "runs the kind/minikube nodes and builds the app image" },
  // kind 0.30 is the first release that runs the pinned node image kindest/node:v1.36.1.
  // renovate: datasource=github-releases depName=kubernetes-sigs/kind extractVersion=^v(?<version>.+)$
  kind: { minimum: "0.30.0", args: ["version"], install: "https://kind.sigs.k8s.io/docs/user/quick-start/#installation", why: "creates the local cluster" },
  // 1.37 knows the Kubernetes version pinned in clusters/minikube/profile.yaml.
  // renovate: datasource=github-releases depName=kubernetes/minikube extractVersion=^v(?<version>.+)$
  minikube: { minimum: "1.37.0", args: ["version", "--short"], install: "https://minikube.sigs.k8s.io/docs/start/", why: "creates the local cluster" },
  // kustomize v5 (kubectl 1.27+) renders gitops/; the cluster's own version sets the real
  // range (checkKubectlSkew): 1.35 is within one minor of kind (v1.36), minikube and OKE (v1.34).
  // renovate: datasource=github-releases depName=kubernetes/kubernetes extractVersion=^v(?<version>.+)$
  kubectl: { minimum: "1.33.0", args: ["version", "--client"], install: "https://kubernetes.io/docs/tasks/tools/#kubectl", why: "renders kustomizations" },
  // renovate: datasource=github-releases depName=opentofu/opentofu extractVersion=^v(?<version>.+)$
  tofu: { minimum: "1.8.0", args: ["version"], install: "https://opentofu.org/docs/intro/install/", why: "creates the OKE cluster" },
  // 3.52.0 added create-kubeconfig --with-auth-context (OCI_CLI_PROFILE in the token command).
  // renovate: datasource=pypi depName=oci-cli
  oci: { minimum: "3.52.0", args: ["--version"], install: "https://docs.oracle.com/iaas/Content/API/SDKDocs/cliinstall.htm", why: "writes the OKE kubeconfig and its tokens" },
  // renovate: datasource=github-tags depName=git/git extractVersion=^v(?<version>\d+\.\d+\.\d+)$
  git: { minimum: "2.30.0", args: ["--version"], install: "https://git-scm.com/downloads", why: "checks the repository Argo CD deploys" },
};

export type Problem = { message: string; fix: string };

/**
 * kubectl is supported within one minor version (older or newer) of the API
 * server (kubernetes.io/releases/version-skew-policy): the range for a cluster.
 */
export function checkKubectlSkew(kubectl: string, cluster: string, where: string): Problem[] {
  const minor = (version: string) => Number(/^v?1\.(\d+)\./.exec(version)?.[1]);
  const [client, server] = [minor(kubectl), minor(cluster)];
  if (Number.isNaN(client) || Number.isNaN(server) || Math.abs(client - server) <= 1) return [];
  return [{
    message: `kubectl ${kubectl} is outside the version skew Kubernetes supports for ${where} (${cluster}: kubectl 1.${server - 1} to 1.${server + 1})`,
    fix: `install kubectl 1.${server}: ${TOOLS.kubectl.install}`,
  }];
}
/** The Kubernetes version the cluster runs, from the file (or setting) that pins it. */
export function clusterKubernetesVersion(root: string, config: Pick<Config, "cluster" | "okeKubernetesVersion">): { version: string; where: string } | undefined {
  if (config.cluster === "oke") return { version: config.okeKubernetesVersion, where: "the OKE cluster (OKE_KUBERNETES_VERSION)" };
  if (config.cluster === "minikube") return { version: readProfile(root).kubernetesVersion, where: "the minikube cluster (clusters/minikube/profile.yaml)" };
  const file = join(root, "clusters/kind/kind-config.yaml");
  if (!existsSync(file)) return undefined;
  const kind = parseYaml(readFileSync(file, "utf8")) as { nodes?: { image?: string }[] } | null;
  const tag = /:(v\d+\.\d+\.\d+)/.exec(kind?.nodes?.[0]?.image ?? "")?.[1];
  return tag ? { version: tag, where: "the kind cluster (clusters/kind/kind-config.yaml)" } : undefined;
}

export type PreflightReport = { problems: Problem[]; warnings: string[]; passed: string[]; skipped: string[]; access?: RepoAccess };

export function compareVersions(a: string, b: string): number {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/** The installed version of a tool, or the problem with it. */
export async function checkTool(runner: Runner, name: ToolName): Promise<{ version: string } | Problem> {
  const tool = TOOLS[name];
  const result = await runner.run(name, tool.args, { readOnly: true, check: false });
  if (result.code === NOT_FOUND) return { message: `${name} is not installed (${tool.why})`, fix: `install ${name} >= ${tool.minimum}: ${tool.install}` };
  const version = /(\d+\.\d+\.\d+)/.exec(`${result.stdout}\n${result.stderr}`)?.[1];
  if (!version) return { message: `could not read the version of ${name} (\`${name} ${tool.args.join(" ")}\`: ${lastLine(result.stderr) || "no output"})`, fix: `reinstall ${name} >= ${tool.minimum}: ${tool.install}` };
  if (compareVersions(version, tool.minimum) < 0) return { message: `${name} ${version} is too old (need >= ${tool.minimum})`, fix: `upgrade ${name}: ${tool.install}` };
  return { version };
}

const GiB = 1024 ** 3;

/** The Docker daemon answers and offers at least `needs` CPUs and memory. */
export async function checkDocker(runner: Runner, needs: { cpus: number; memoryMiB: number }): Promise<Problem[]> {
  const result = await runner.run("docker", ["info", "--format", "{{json .}}"], { readOnly: true, check: false });
  if (result.code === NOT_FOUND) return []; // reported by the tool check
  const output = `${result.stderr}\n${result.stdout}`;
  if (/permission denied/i.test(output)) {
    return [{ message: "no permission to talk to the Docker daemon", fix: "add yourself to the docker group (sudo usermod -aG docker $USER) and log in again" }];
  }
  let info: { NCPU?: number; MemTotal?: number; ServerErrors?: string[] } = {};
  try {
    info = JSON.parse(result.stdout.trim().split("\n").at(-1) ?? "{}");
  } catch {
    // not JSON: the daemon did not answer
  }
  if (result.code !== 0 || !info.NCPU || info.ServerErrors?.length) {
    return [{ message: "the Docker daemon is not running", fix: "start Docker Desktop, or: sudo systemctl start docker" }];
  }
  const problems: Problem[] = [];
  if (info.NCPU < needs.cpus) problems.push({ message: `Docker offers ${info.NCPU} CPUs; the platform needs ${needs.cpus}`, fix: "give Docker more CPUs (Docker Desktop: Settings → Resources)" });
  const memory = info.MemTotal ?? 0;
  // Docker reports a little less than it was given (the VM's kernel keeps some):
  // accept 90 % so "6 GiB" in Docker Desktop's settings passes.
  if (memory < needs.memoryMiB * 1024 * 1024 * 0.9) {
    problems.push({
      message: `Docker offers ${(memory / GiB).toFixed(1)} GiB of memory; the platform needs ${(needs.memoryMiB / 1024).toFixed(0)} GiB`,
      fix: "give Docker more memory (Docker Desktop: Settings → Resources) or close other containers",
    });
  }
  return problems;
}

/** Is something listening on host:port? EACCES (a privileged port) is not "busy": Docker binds as root. */
export function portInUse(port: number, host = "127.0.0.1"): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => resolve(error.code === "EADDRINUSE"));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(false)));
  });
}

export async function checkPorts(ports: number[]): Promise<Problem[]> {
  const busy: number[] = [];
  for (const port of ports) if (await portInUse(port)) busy.push(port);
  if (busy.length === 0) return [];
  const list = busy.join(" and ");
  return [{ message: `host port ${list} ${busy.length === 1 ? "is" : "are"} already in use (the cluster publishes ${ports.join("/")} for the platform's URLs)`, fix: `stop what listens there (sudo lsof -i :${busy[0]}) or delete the other cluster using it` }];
}

export type PreflightInput = {
  runner: Runner;
  config: Config;
  root: string;
  source: GitSource;
  tools: ToolName[];
  docker?: { cpus: number; memoryMiB: number };
  /** Host ports to check; empty when reusing our own cluster (it holds them). */
  hostPorts: number[];
  github?: Octokit;
  /** False under --dry-run: checks that need the network are listed, not run. */
  network: boolean;
  env: Record<string, string | undefined>;
};

/** The OCI CLI and OpenTofu's oci provider read credentials from this file and profile. */
export function checkOciConfig(env: Record<string, string | undefined>, profile: string): Problem[] {
  const file = env.OCI_CLI_CONFIG_FILE || join(homedir(), ".oci", "config");
  if (!existsSync(file)) return [{ message: `the OCI CLI is not configured (${file} is missing)`, fix: "run: oci setup config (then upload the API key it prints to your OCI user)" }];
  if (!readFileSync(file, "utf8").split("\n").some((line) => line.trim() === `[${profile}]`)) {
    return [{ message: `${file} has no profile [${profile}]`, fix: `set OCI_CLI_PROFILE to one of its profiles, or add [${profile}] with: oci setup config` }];
  }
  return [];
}

/**
 * Argo CD clones the repository from inside the cluster: a path on this
 * machine means nothing there, and an SSH URL needs a key bootstrap only
 * makes for GitHub (repository.mts; GitHub URLs are rewritten to https).
 */
export function checkCloneable(repoUrl: string): Problem[] {
  const url = repoUrl.trim();
  const windowsPath = /^[A-Za-z]:[\\/]/.test(url);
  // git's rule: "host:path" (no "//" after the colon) is the scp-like SSH syntax.
  const scpLike = !windowsPath && /^(?:[^@/\s]+@)?[^:/\s]+:(?!\/\/)/.test(url);
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(url);
  if (/^file:/i.test(url) || windowsPath || (!hasScheme && !scpLike)) {
    return [{
      message: `${repoUrl} is a path on this machine: Argo CD clones the repository from inside the cluster and cannot read it`,
      fix: "push the repository to a host the cluster reaches and pass its https URL: --repo https://github.com/YOU/giropops-platform.git (or GIT_REPO_URL in .env)",
    }];
  }
  if (/^(git\+)?ssh:\/\//i.test(url) || scpLike) {
    const https = scpLike ? url.replace(/^(?:[^@/\s]+@)?([^:/\s]+):\/?/, "https://$1/") : url.replace(/^(?:git\+)?ssh:\/\/(?:[^@/]+@)?([^/:]+)(?::\d+)?\//i, "https://$1/");
    return [{
      message: `${repoUrl} is an SSH URL, and bootstrap makes a deploy key only for GitHub repositories: Argo CD would have no key to clone it`,
      fix: `pass the https URL of a public repository: --repo ${https} (or host it on GitHub; a private one needs GITHUB_TOKEN, see .env.example)`,
    }];
  }
  return [];
}

export const OKE_DOMAIN_FILE = "clusters/oke/patches/domain.yaml";

/** The domains of the published hostnames (argocd.<domain>, …) in OKE's domain.yaml, comments left out. */
export function okeManifestDomains(text: string): string[] {
  const code = text.split("\n").filter((line) => !line.trim().startsWith("#")).join("\n");
  const hosts = code.matchAll(/\b(?:argocd|grafana|senhas|locust)\.((?:[a-z0-9-]+\.)+[a-z0-9-]+)/g);
  return [...new Set([...hosts].map((match) => match[1]!))].sort();
}

/**
 * A file as Argo CD will deploy it: at the commit the remote has for the
 * revision when this checkout has that commit, else at the revision itself.
 * Not the working tree: uncommitted or unpushed edits are not deployed.
 */
export async function fileAtRevision(runner: Runner, root: string, source: GitSource, remoteSha: string | undefined, path: string): Promise<{ text: string; at: string } | { problem: string }> {
  let last = "";
  for (const ref of [remoteSha, source.revision].filter((r): r is string => Boolean(r))) {
    const shown = await runner.run("git", ["show", `${ref}:${path}`], { cwd: root, readOnly: true, check: false });
    if (shown.code === 0) return { text: shown.stdout, at: ref === remoteSha ? `${source.revision} (${ref.slice(0, 12)})` : source.revision };
    last = lastLine(shown.stderr);
  }
  return { problem: last || `git show ${source.revision}:${path} failed` };
}

/**
 * On OKE the manifests take their hostnames from domain.yaml (what Argo CD
 * deploys from git) while status and verify use PLATFORM_DOMAIN: they must agree.
 * `file` is domain.yaml at the deployed revision (fileAtRevision).
 */
export function checkOkeDomain(file: { text: string; at: string } | { problem: string }, domain: string | undefined): Problem[] {
  if (!domain) return []; // reported by the configuration
  if ("problem" in file) {
    return [{ message: `cannot read ${OKE_DOMAIN_FILE} at the revision Argo CD deploys (${file.problem})`, fix: `git fetch, and check that the revision has ${OKE_DOMAIN_FILE} (it sets the OKE hostnames): git checkout -- ${OKE_DOMAIN_FILE}, commit and push` }];
  }
  const where = `${OKE_DOMAIN_FILE} at ${file.at}`;
  const found = okeManifestDomains(file.text);
  if (found.length === 1 && found[0] === domain) return [];
  if (found.length !== 1) {
    return [{ message: `${where} publishes ${found.length ? `several domains (${found.join(", ")})` : "no argocd/grafana/senhas/locust hostnames"}, but PLATFORM_DOMAIN is ${domain}`, fix: `make every hostname in ${OKE_DOMAIN_FILE} end in .${domain}, commit and push` }];
  }
  const from = found[0]!;
  return [{
    message: `${where} publishes *.${from}, but PLATFORM_DOMAIN is ${domain}`,
    fix: `edit ${OKE_DOMAIN_FILE} (sed -i 's/${from.replaceAll(".", "\\.")}/${domain}/g' ${OKE_DOMAIN_FILE}), commit and push; or set PLATFORM_DOMAIN=${from}`,
  }];
}

/**
 * On OKE only an image signed by the deployed repository's image workflow, by
 * digest, is admitted (gitops/image-verification): until that workflow has
 * committed its digest into the overlay, or while the overlay still names
 * another owner's image (a fresh fork), every app pod would be denied.
 */
export function checkOkeAppImage(root: string, repoUrl: string): Problem[] {
  const repo = githubRepo(repoUrl);
  const run = repo
    ? `run the image workflow on main of ${repo.owner}/${repo.repo} (GitHub → Actions → image → Run workflow); it builds, signs and commits "deploy(oke): giropops-senhas sha256:…" to ${OKE_APP_OVERLAY}: git pull, then re-run bootstrap`
    : "host the repository on GitHub: the app image is built and signed by .github/workflows/image.yml";
  if (!repo) return [{ message: `${repoUrl} is not a GitHub repository: on OKE the app image must be signed by its GitHub image workflow`, fix: run }];
  const path = join(root, OKE_APP_OVERLAY);
  if (!existsSync(path)) return [{ message: `${OKE_APP_OVERLAY} is missing (it pins the app image on OKE)`, fix: `restore it from git: git checkout -- ${OKE_APP_OVERLAY}` }];
  const images = (parseYaml(readFileSync(path, "utf8")) as { images?: { name?: string; newName?: string; newTag?: string; digest?: string }[] } | null)?.images ?? [];
  const entry = images.find((image) => image.name === APP_REPOSITORY);
  const wanted = appRepositoryOf(repo);
  if (!entry?.digest || !/^sha256:[0-9a-f]{64}$/.test(entry.digest)) {
    const by = entry?.newTag ? `by tag (${entry.newTag})` : "without a digest";
    return [{ message: `${OKE_APP_OVERLAY} deploys the app ${by}: on OKE only ${wanted} by a signed digest is admitted, so every app pod would be denied`, fix: run }];
  }
  const deployed = entry.newName ?? entry.name;
  if (deployed !== wanted) {
    return [{ message: `${OKE_APP_OVERLAY} deploys ${deployed}@${entry.digest}, but on OKE only ${wanted}, signed by ${repo.owner}/${repo.repo}'s image workflow, is admitted`, fix: run }];
  }
  return [];
}

export async function preflight(input: PreflightInput): Promise<PreflightReport> {
  const { runner } = input;
  const report: PreflightReport = { problems: [], warnings: [], passed: [], skipped: [] };
  const versions: Partial<Record<ToolName, string>> = {};
  for (const name of ["git", ...input.tools.filter((t) => t !== "git")] as ToolName[]) {
    const outcome = await checkTool(runner, name);
    if ("version" in outcome) {
      report.passed.push(`${name} ${outcome.version}`);
      versions[name] = outcome.version;
    } else report.problems.push(outcome);
  }
  const cluster = versions.kubectl ? clusterKubernetesVersion(input.root, input.config) : undefined;
  if (versions.kubectl && cluster) report.problems.push(...checkKubectlSkew(versions.kubectl, cluster.version, cluster.where));
  if (input.docker) {
    const docker = await checkDocker(runner, input.docker);
    report.problems.push(...docker);
    if (docker.length === 0 && input.tools.includes("docker")) report.passed.push("docker daemon running with enough CPUs and memory");
  }
  if (input.tools.includes("oci")) report.problems.push(...checkOciConfig(input.env, input.config.ociProfile));
  if (input.config.cluster === "oke") {
    const image = checkOkeAppImage(input.root, input.source.repoUrl);
    report.problems.push(...image);
    if (image.length === 0) report.passed.push(`${OKE_APP_OVERLAY} pins a digest of ${appRepositoryOf(githubRepo(input.source.repoUrl)!)}`);
  }
  const ports = await checkPorts(input.hostPorts);
  report.problems.push(...ports);
  if (input.hostPorts.length && ports.length === 0) report.passed.push(`host ports ${input.hostPorts.join(", ")} free`);

  // What Argo CD deploys is the revision on the remote, not this working tree.
  const okeDomain = async (remoteSha: string | undefined) => {
    if (input.config.cluster !== "oke") return;
    const domain = checkOkeDomain(await fileAtRevision(runner, input.root, input.source, remoteSha, OKE_DOMAIN_FILE), input.config.domain);
    report.problems.push(...domain);
    if (domain.length === 0) report.passed.push(`${OKE_DOMAIN_FILE} at ${input.source.revision} publishes *.${input.config.domain}`);
  };

  if (!input.network) {
    await okeDomain(undefined);
    report.problems.push(...checkCloneable(input.source.repoUrl));
    report.skipped.push(input.github ? `GitHub API: can GITHUB_TOKEN read ${input.source.repoUrl} at ${input.source.revision}` : `git ls-remote ${input.source.repoUrl} ${input.source.revision}`);
    report.warnings.push(...(await localDrift(runner, input.root, input.source, undefined)));
    return report;
  }
  const cloneable = checkCloneable(input.source.repoUrl);
  if (cloneable.length) {
    // ls-remote would read a local path just fine: stop at what the cluster cannot clone.
    report.problems.push(...cloneable);
    report.warnings.push(...(await localDrift(runner, input.root, input.source, undefined)));
    return report;
  }
  // The repository: the GitHub API when there is a token (private repositories), else git ls-remote.
  let remoteSha: string | undefined;
  try {
    report.access = await checkGitHubAccess(input.github, input.source);
    remoteSha = report.access?.sha;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    report.problems.push({ message: error.message, fix: error.fix ?? "" });
  }
  if (!report.access && !report.problems.some((p) => p.message.includes("GitHub"))) {
    const remote = await checkRemote(runner, input.source);
    if (remote.ok) remoteSha = remote.sha;
    else report.problems.push({ message: remote.problem, fix: remote.fix });
  }
  await okeDomain(remoteSha);
  if (remoteSha || report.access) report.passed.push(`${input.source.repoUrl} has ${input.source.revision}${report.access?.private ? " (private)" : ""}`);
  report.warnings.push(...(await localDrift(runner, input.root, input.source, remoteSha)));
  return report;
}

/** All problems as one user error: each with its fix. */
export function preflightError(problems: Problem[]): UserError {
  const lines = problems.map((p) => `  ✖ ${p.message}\n    fix: ${p.fix}`);
  return new UserError(`preflight found ${problems.length} problem${problems.length === 1 ? "" : "s"}:\n${lines.join("\n")}`);
}
