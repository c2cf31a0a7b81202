// The app image: built from this checkout for local clusters (tag :dev, which
// the kind and minikube overlays use with imagePullPolicy IfNotPresent), pulled
// from GHCR by a signed digest on OKE, where its owner is the owner of the
// repository Argo CD deploys (.github/workflows/image.yml pushes it there).
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "./errors.mts";
import { githubRepo, type GitHubRepo } from "./git.mts";
import type { Runner } from "./runner.mts";
import { describeObject, type Kube, type KubeObject } from "./kube.mts";

/** On the pod template of every Deployment that runs the :dev image: the ID of the build it should run. */
export const IMAGE_ID_ANNOTATION = "giropops.dev/image-id";

/** The app's repository as git spells it (manifests, policies); bootstrap puts the user's owner in on OKE. */
export const APP_REPOSITORY = "ghcr.io/giropops/giropops-senhas";
export const APP_IMAGE = `${APP_REPOSITORY}:dev`;
export const APP_DOCKERFILE = "apps/giropops-senhas/Dockerfile";
/** Where image.yml commits the digest it built and signed. */
export const OKE_APP_OVERLAY = "clusters/oke/giropops-senhas/kustomization.yaml";

/** ghcr.io/<owner>/giropops-senhas, lower-case as image.yml writes it (GHCR names are). */
export const appRepositoryOf = (repo: GitHubRepo) => `ghcr.io/${repo.owner.toLowerCase()}/giropops-senhas`;

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** The Fulcio subject of image.yml on main of `repo` (what cosign keyless signs as). */
export const signerRegExp = (repo: GitHubRepo) => `^https://github\\.com/${escapeRegExp(`${repo.owner}/${repo.repo}`)}/\\.github/workflows/image\\.yml@refs/heads/main$`;

type KustomizePatch = { target: Record<string, string>; patch: string };

/**
 * The root Application's patches on OKE that make the image policies name the
 * user's repository, the way repoURL is patched: the registry allow-list
 * (variables[0] of restrict-image-registries and its audit twin) and the
 * signature check (image globs, signer) cover ghcr.io/<owner>/giropops-senhas
 * and nothing else. Added to the child Applications as spec.source.kustomize.
 */
export function appImagePolicyPatches(repoUrl: string): KustomizePatch[] {
  const repo = githubRepo(repoUrl);
  if (!repo) return []; // not on GitHub: no image workflow; the placeholder stays
  const repository = appRepositoryOf(repo);
  const child = (application: string, patches: KustomizePatch[]): KustomizePatch => ({
    target: { group: "argoproj.io", kind: "Application", name: application },
    patch: JSON.stringify([{ op: "add", path: "/spec/source/kustomize", value: { patches } }]),
  });
  return [
    child("policies", [{
      target: { kind: "ValidatingPolicy", name: "restrict-image-registries(-audit)?" },
      patch: JSON.stringify([
        { op: "test", path: "/spec/variables/0/name", value: "appRepository" },
        { op: "replace", path: "/spec/variables/0/expression", value: `'${repository}'` },
      ]),
    }]),
    child("image-verification", [{
      target: { kind: "ImageValidatingPolicy", name: "verify-app-image" },
      patch: JSON.stringify([
        { op: "replace", path: "/spec/matchImageReferences", value: imageGlobs(repository) },
        { op: "replace", path: "/spec/attestors/0/cosign/keyless/identities/0/subjectRegExp", value: signerRegExp(repo) },
        { op: "replace", path: "/spec/validations/0/message", value: `The giropops-senhas image must be signed (keyless cosign) by ${repo.owner}/${repo.repo}'s .github/workflows/image.yml on main.` },
      ]),
    }]),
  ];
}

/** Exactly what restrict-image-registries admits for one repository: any tag or digest of it. */
export const imageGlobs = (repository: string) => [{ glob: `${repository}:*` }, { glob: `${repository}@*` }];

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

/**
 * A re-run loads a new :dev build under the same tag, and running pods keep
 * the old one (the tag did not change, so nothing rolls). Every Deployment
 * whose containers run `image` gets the build's ID on its pod template, which
 * rolls it exactly when the build changed. A partial server-side apply: only
 * this annotation, owned by bootstrap's field manager, beside Argo CD's fields.
 */
export async function restartOnNewImage(kube: Kube, runner: Runner, image: string): Promise<string> {
  const inspected = await runner.run("docker", ["image", "inspect", "--format", "{{.Id}}", image], { readOnly: true, check: false });
  const id = inspected.stdout.trim();
  if (inspected.code !== 0 || !id) return `cannot read the ID of ${image}: running pods were not restarted`;
  const deployments = await kube.list({ apiVersion: "apps/v1", kind: "Deployment" });
  const runsImage = (d: KubeObject) =>
    [...(d.spec?.template?.spec?.containers ?? []), ...(d.spec?.template?.spec?.initContainers ?? [])].some((c: { image?: string }) => c.image === image);
  const users = deployments.filter(runsImage);
  const stale = users.filter((d) => d.spec?.template?.metadata?.annotations?.[IMAGE_ID_ANNOTATION] !== id);
  for (const d of stale) {
    await kube.apply([{ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: d.metadata.name, namespace: d.metadata.namespace }, spec: { template: { metadata: { annotations: { [IMAGE_ID_ANNOTATION]: id } } } } }]);
  }
  if (users.length === 0) return "no Deployment runs it yet";
  if (stale.length === 0) return `${users.map(describeObject).join(", ")} already run${users.length === 1 ? "s" : ""} this build`;
  return `restarted ${stale.map(describeObject).join(", ")} on the new build (${id.replace(/^sha256:/, "").slice(0, 12)})`;
}
