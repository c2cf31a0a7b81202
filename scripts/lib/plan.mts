// --dry-run: what bootstrap would do on the Kubernetes side, without a
// cluster and without the network. Local kustomizations are rendered and
// listed object by object; remote ones are named with what they pull.
import { existsSync } from "node:fs";
import { join } from "node:path";
import { stringify } from "yaml";
import type { Config } from "./config.mts";
import { remoteResources, renderKustomization, rootApplication } from "./argocd.mts";
import { UserError } from "./errors.mts";
import type { GitSource } from "./git.mts";
import { FIELD_MANAGER, describeObject, kubectl, type KubeTarget } from "./kube.mts";
import type { Runner } from "./runner.mts";
import { day0Secrets } from "./secrets.mts";
import type { Ui } from "./ui.mts";

/** What bootstrap renders and applies itself at day 0; Argo CD manages both afterwards. */
export const ARGOCD_INSTALL = "gitops/argocd";
export const PROJECTS = "gitops/projects";
export const DAY0_KUSTOMIZATIONS = [ARGOCD_INSTALL, PROJECTS];

async function planKustomization(ui: Ui, runner: Runner, root: string, path: string): Promise<void> {
  const dir = join(root, path);
  const remote = remoteResources(dir);
  if (!existsSync(dir)) {
    ui.warn(`${path} is missing from this checkout: a real run would stop here`);
  } else if (remote.length > 0) {
    ui.info(`would render ${path} (kubectl kustomize ${path}); not rendered now, it pulls ${remote.join(", ")} from the network`);
  } else {
    try {
      const objects = await renderKustomization(runner, root, path);
      ui.info(`would render ${path} and apply ${objects.length} object${objects.length === 1 ? "" : "s"}:`);
      for (const object of objects) ui.info(`  ${describeObject(object)}`);
    } catch (error) {
      if (!(error instanceof UserError)) throw error;
      ui.warn(`${error.message}: a real run would stop here`);
    }
  }
}

export async function printKubernetesPlan(input: { ui: Ui; runner: Runner; root: string; config: Config; source: GitSource; target: KubeTarget }): Promise<void> {
  const { ui, runner, root, config, source, target } = input;
  ui.section(`Kubernetes (context ${target.context}; every object by server-side apply, field manager ${FIELD_MANAGER}, forcing conflicts)`);
  ui.line("Argo CD (skipped when the root Application exists and Argo CD runs: it manages itself from git)");
  await planKustomization(ui, runner, root, ARGOCD_INSTALL);
  ui.info("then wait until its CRDs are Established and its Deployments Available");
  ui.line("Repository access");
  ui.info(
    config.githubToken
      ? `if ${source.repoUrl} is private: a read-only ed25519 deploy key on GitHub, stored in Secret argocd/repo-giropops-platform (reused on re-runs)`
      : "none: without GITHUB_TOKEN the repository must be public",
  );
  ui.line("Day-0 secrets (created only when missing; values generated or from .env, never shown)");
  for (const secret of day0Secrets(config)) {
    ui.info(`Namespace ${secret.namespace}, Secret ${secret.namespace}/${secret.name} (keys ${Object.keys(secret.data()).join(", ")})`);
  }
  ui.line(`Hand-over: the AppProjects with ${source.repoUrl} as spec.sourceRepos[0] (skipped when root already follows it), then the root Application`);
  await planKustomization(ui, runner, root, PROJECTS);
  ui.line(stringify(rootApplication({ ...config, gitRepoUrl: source.repoUrl, gitRevision: source.revision })).trimEnd().replace(/^/gm, "    "));
  ui.line(`Then: watch every Application until Synced and Healthy (timeout ${config.timeoutSeconds}s), print the summary.`);
  ui.line(`Afterwards: ${kubectl(target, "-n", "argocd", "get", "applications")}`);
}
