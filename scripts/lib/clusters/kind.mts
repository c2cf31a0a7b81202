// kind: one control-plane node from clusters/kind/kind-config.yaml (pinned node
// image, host ports 80/443 mapped to the Traefik NodePorts).
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse } from "yaml";
import { UserError } from "../errors.mts";
import { TOOLS } from "../preflight.mts";
import { NOT_FOUND, failure, lastLine } from "../runner.mts";
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
  // Through an archive of the node's platform only: `kind load docker-image`
  // pipes `docker save` of every platform the image index names into `ctr
  // import --all-platforms`, which fails with "content digest ... not found"
  // under Docker's containerd image store (the default since Docker 29),
  // kubernetes-sigs/kind#3795 (workaround documented by kind#4247).
  async loadImage({ runner, config }, image) {
    const server = await runner.run("docker", ["version", "--format", "{{.Server.Os}}/{{.Server.Arch}}"], { readOnly: true, check: false });
    const platform = /^[a-z0-9]+\/[a-z0-9]+$/.test(server.stdout.trim()) ? server.stdout.trim() : undefined;
    const dir = runner.dryRun ? join(tmpdir(), "giropops-image") : mkdtempSync(join(tmpdir(), "giropops-image-"));
    const archive = join(dir, "app-image.tar");
    try {
      const save = (withPlatform: boolean) =>
        runner.run("docker", ["image", "save", ...(withPlatform && platform ? ["--platform", platform] : []), "--output", archive, image], { check: !withPlatform || !platform });
      const saved = await save(true);
      // Docker before 28 has no `save --platform`; its classic store has no other platforms to leave out.
      if (saved.code !== 0) {
        if (!/unknown flag: --platform/.test(saved.stderr)) throw failure("docker", ["image", "save", "--platform", platform!, "--output", archive, image], saved);
        await save(false);
      }
      await runner.run("kind", ["load", "image-archive", archive, "--name", config.clusterName]);
    } finally {
      if (!runner.dryRun) rmSync(dir, { recursive: true, force: true });
    }
  },
  async remove(context) {
    if (!(await listClusters(context)).includes(context.config.clusterName)) return `no ${kind.label(context.config)} to delete`;
    await context.runner.run("kind", ["delete", "cluster", "--name", context.config.clusterName]);
    return `${context.runner.dryRun ? "would delete" : "deleted"} ${kind.label(context.config)}`;
  },
};
