// minikube: one profile started with the docker driver and the flags in
// clusters/minikube/profile.yaml (CPUs, memory, pinned Kubernetes, host ports).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { UserError } from "../errors.mts";
import { NOT_FOUND, lastLine } from "../runner.mts";
import type { ClusterProvider } from "./types.mts";

export const MINIKUBE_PROFILE = "clusters/minikube/profile.yaml";

export type MinikubeProfile = { driver: string; cpus: number; memoryMiB: number; kubernetesVersion: string; cni: string; ports: string[] };

export function readProfile(root: string): MinikubeProfile {
  return parse(readFileSync(join(root, MINIKUBE_PROFILE), "utf8")) as MinikubeProfile;
}

/**
 * The `minikube start` flags for a new profile. --keep-context: minikube
 * otherwise switches the kubeconfig's current context to the new profile, and
 * bootstrap never changes it (every call names its context). --cni: the
 * default CNI minikube picks for the docker driver does not enforce
 * NetworkPolicy; the platform's isolation depends on it.
 */
export function startFlags(profile: MinikubeProfile): string[] {
  return [
    "--keep-context",
    `--driver=${profile.driver}`,
    `--cni=${profile.cni}`,
    `--cpus=${profile.cpus}`,
    `--memory=${profile.memoryMiB}mb`,
    `--kubernetes-version=${profile.kubernetesVersion}`,
    `--ports=${profile.ports.join(",")}`,
  ];
}

type ProfileList = { valid?: { Name: string; Status?: string }[]; invalid?: { Name: string }[] };

type Lookup = { status: string | undefined } | { problem: string };

/** The profile's status (undefined: no such profile), or why minikube could not tell. */
async function lookup(runner: Runner, name: string): Promise<Lookup> {
  const result = await runner.run("minikube", ["profile", "list", "--output=json"], { readOnly: true, check: false });
  if (result.code === NOT_FOUND) return { problem: "minikube is not installed" };
  // With no profiles at all it prints {"invalid":[],"valid":[]} and exits 0
  // (cmd/minikube/cmd/config/profile_list.go, printProfilesJSON); an error is {"error":…} and a non-zero exit.
  let list: ProfileList & { error?: unknown };
  try {
    list = JSON.parse(result.stdout || "{}") as ProfileList & { error?: unknown };
  } catch {
    return { problem: `minikube profile list printed no JSON (${lastLine(result.stderr) || `exit code ${result.code}`})` };
  }
  if (result.code !== 0 || list.error !== undefined) {
    return { problem: `minikube profile list failed (${list.error !== undefined ? JSON.stringify(list.error) : lastLine(result.stderr) || `exit code ${result.code}`})` };
  }
  return { status: list.valid?.find((p) => p.Name === name)?.Status ?? (list.invalid?.some((p) => p.Name === name) ? "Invalid" : undefined) };
}

async function status(runner: Runner, name: string): Promise<string | undefined> {
  const found = await lookup(runner, name);
  return "status" in found ? found.status : undefined;
}

type Runner = Parameters<ClusterProvider["exists"]>[0]["runner"];

/** Whether the profile's node already holds `image` with the ID of the local build. */
async function nodeHasImage(runner: Runner, profile: string, image: string): Promise<boolean> {
  const local = await runner.run("docker", ["image", "inspect", "--format", "{{.Id}}", image], { readOnly: true, check: false });
  const id = local.stdout.trim().replace(/^sha256:/, "");
  if (local.code !== 0 || !id) return false;
  const listed = await runner.run("minikube", ["image", "ls", "--format=json", `--profile=${profile}`], { readOnly: true, check: false });
  try {
    const images = JSON.parse(listed.stdout) as { id?: string; repoTags?: string[] }[];
    return images.some((i) => (i.repoTags ?? []).some((tag) => tag === image || tag.endsWith(`/${image}`)) && i.id !== undefined && id.startsWith(i.id.replace(/^sha256:/, "")));
  } catch {
    return false;
  }
}

export const minikube: ClusterProvider = {
  kind: "minikube",
  label: (config) => `minikube profile ${config.clusterName}`,
  tools: ["docker", "minikube", "kubectl"],
  docker: { cpus: 4, memoryMiB: 6144 },
  hostPorts: (root) => readProfile(root).ports.map((mapping) => Number(mapping.split(":").at(-2))),
  target: (config) => ({ context: config.clusterName }),
  async exists({ runner, config }) {
    return (await status(runner, config.clusterName)) !== undefined;
  },
  async ensure({ runner, config, root }) {
    const name = config.clusterName;
    const current = await status(runner, name);
    if (current === "Running" || current === "OK") return `reused ${minikube.label(config)}`;
    if (current === "Invalid") {
      throw new UserError(`minikube profile ${name} is invalid`, { fix: `minikube delete --profile ${name}, then re-run` });
    }
    // An existing, stopped profile keeps its settings: start it as it is.
    const flags = current ? ["--keep-context"] : startFlags(readProfile(root));
    await runner.run("minikube", ["start", `--profile=${name}`, ...flags], { fix: `see "minikube logs --profile=${name}"; "minikube delete --profile=${name}" then re-run starts over` });
    const [verb, done] = current ? ["start", "started"] : ["create", "created"];
    return `${runner.dryRun ? `would ${verb}` : done} ${minikube.label(config)}`;
  },
  async loadImage({ runner, config }, image) {
    // `minikube image load` copies the whole image every time; skip it when the node has this build.
    if (await nodeHasImage(runner, config.clusterName, image)) return;
    await runner.run("minikube", ["image", "load", image, `--profile=${config.clusterName}`]);
  },
  async remove(context) {
    const found = await lookup(context.runner, context.config.clusterName);
    if ("problem" in found) {
      throw new UserError(`could not check whether ${minikube.label(context.config)} exists: ${found.problem}`, {
        fix: `install minikube (https://minikube.sigs.k8s.io/docs/start/) or fix what it reports, then re-run; "minikube delete --profile=${context.config.clusterName}" deletes it by hand`,
      });
    }
    if (found.status === undefined) return `no ${minikube.label(context.config)} to delete`;
    await context.runner.run("minikube", ["delete", `--profile=${context.config.clusterName}`]);
    return `${context.runner.dryRun ? "would delete" : "deleted"} ${minikube.label(context.config)}`;
  },
};
