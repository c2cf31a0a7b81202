// The app image for local clusters: built from this checkout and loaded into
// the nodes (tag :dev, which the kind and minikube overlays use with imagePullPolicy IfNotPresent).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "./errors.mts";
import type { Runner } from "./runner.mts";

export const APP_IMAGE = "ghcr.io/giropops/giropops-senhas:dev";
export const APP_DOCKERFILE = "apps/giropops-senhas/Dockerfile";

export async function buildAppImage(runner: Runner, root: string, echo?: (chunk: string) => void): Promise<void> {
  if (!runner.dryRun && !existsSync(join(root, APP_DOCKERFILE))) {
    throw new UserError(`${APP_DOCKERFILE} is missing from this checkout`, { fix: "update your checkout (git pull)" });
  }
  await runner.run("docker", ["build", "-f", APP_DOCKERFILE, "-t", APP_IMAGE, "."], {
    cwd: root,
    echo,
    fix: `run "docker build -f ${APP_DOCKERFILE} ." yourself to see the whole build output`,
  });
}
