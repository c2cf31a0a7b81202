// kind: one control-plane node from clusters/kind/kind-config.yaml (pinned node
// image, host ports 80/443 mapped to the Traefik NodePorts).
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse } from "yaml";
import { UserError } from "../errors.mts";
import { TOOLS } from "../preflight.mts";
import { NOT_FOUND, lastLine } from "../runner.mts";
import type { ClusterContext, ClusterProvider } from "./types.mts";

export const KIND_CONFIG = "clusters/kind/kind-config.yaml";

type KindConfig = { nodes?: { extraPortMappings?: { hostPort?: number }[] }[] };

/** The kind clusters there are; a UserError saying it could not check when kind or Docker cannot tell. */
async function listClusters({ runner, config }: ClusterContext): Promise<string[]> {
  const result = await runner.run("kind", ["get", "clusters"], { readOnly: true, check: false });
  if (result.code === NOT_FOUND) {
    throw new UserError(`could not check whether kind cluster ${config.clusterName} exists: kind is not installed`, { fix: `install kind (${TOOLS.kind.install}) and re-run; or delete the node yourself: docker rm -f ${config.clusterName}-control-plane` });
  }
  if (result.code !== 0) {
    throw new UserError(`could not check whether kind cluster ${config.clusterName} exists: kind get clusters failed (${lastLine(result.stderr) || `exit code ${result.code}`})`, {
      fix: "kind lists its clusters through Docker: start Docker (Docker Desktop, or sudo systemctl start docker) and re-run",
    });
  }
  return result.stdout.split("\n").map((line) => line.trim()).filter(Boolean);
}

export const kind: ClusterProvider = {
  kind: "kind",
  label: (config) => `kind cluster ${config.clusterName}`,
  tools: ["docker", "kind", "kubectl"],
  docker: { cpus: 4, memoryMiB: 6144 },
  hostPorts(root) {
    const config = parse(readFileSync(join(root, KIND_CONFIG), "utf8")) as KindConfig;
    return (config.nodes ?? []).flatMap((node) => node.extraPortMappings ?? []).flatMap((m) => (m.hostPort ? [m.hostPort] : []));
  },
  target: (config) => ({ context: `kind-${config.clusterName}` }),
  async exists({ runner, config }) {
    const result = await runner.run("kind", ["get", "clusters"], { readOnly: true, check: false });
    return result.code === 0 && result.stdout.split("\n").some((line) => line.trim() === config.clusterName);
  },
  async ensure(context) {
    const { runner, config, root } = context;
    if (await kind.exists(context)) {
      // After a reboot or a Docker restart the node container may be stopped.
      const node = `${config.clusterName}-control-plane`;
      const running = await runner.run("docker", ["inspect", "--format", "{{.State.Running}}", node], { readOnly: true, check: false });
      if (running.stdout.trim() === "false") {
        await runner.run("docker", ["start", node], { fix: `see "docker logs ${node}"; "kind delete cluster --name ${config.clusterName}" then re-run starts over` });
        return `${runner.dryRun ? "would start" : "started"} the stopped node of ${kind.label(config)}`;
      }
      return `reused ${kind.label(config)}`;
    }
    await runner.run("kind", ["create", "cluster", "--name", config.clusterName, "--config", KIND_CONFIG, "--wait", "120s"], {
      cwd: root,
      fix: `see the output above; "kind delete cluster --name ${config.clusterName}" then re-run starts over`,
    });
    return `${runner.dryRun ? "would create" : "created"} ${kind.label(config)}`;
  },
  async loadImage({ runner, config }, image) {
    await runner.run("kind", ["load", "docker-image", image, "--name", config.clusterName]);
  },
  async remove(context) {
    if (!(await listClusters(context)).includes(context.config.clusterName)) return `no ${kind.label(context.config)} to delete`;
    await context.runner.run("kind", ["delete", "cluster", "--name", context.config.clusterName]);
    return `${context.runner.dryRun ? "would delete" : "deleted"} ${kind.label(context.config)}`;
  },
};
