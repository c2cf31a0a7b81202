// How Argo CD reads the repository: a public one needs nothing; a private
// GitHub one gets a read-only deploy key, stored as an Argo CD repository
// Secret. The key pair is made once and reused from that Secret on re-runs.
import type { Octokit } from "@octokit/rest";
import type { Config } from "./config.mts";
import { ARGOCD_NAMESPACE, repositorySecret } from "./argocd.mts";
import { githubRepo, githubSshUrl, type GitSource } from "./git.mts";
import { ensureDeployKey, repoAccess, type RepoAccess } from "./github.mts";
import { secretValue, type Kube } from "./kube.mts";
import { generateSshKeyPair, publicKeyOf } from "./sshkey.mts";

export type RepoCredentials = { argoUrl: string; summary: string };

/** Asks GitHub (when there is a token) whether the repository is private and has the revision. */
export async function checkGitHubAccess(github: Octokit | undefined, source: GitSource): Promise<RepoAccess | undefined> {
  const repo = githubRepo(source.repoUrl);
  if (!github || !repo) return undefined;
  return repoAccess(github, repo, source.revision);
}

export async function ensureRepoCredentials(input: {
  kube: Kube;
  github: Octokit | undefined;
  access: RepoAccess | undefined;
  source: GitSource;
  config: Pick<Config, "cluster" | "clusterName">;
}): Promise<RepoCredentials> {
  const repo = githubRepo(input.source.repoUrl);
  if (!repo || !input.github || !input.access?.private) {
    return { argoUrl: input.source.repoUrl, summary: "public repository: Argo CD reads it without credentials" };
  }
  const argoUrl = githubSshUrl(repo);
  const existing = await input.kube.get("v1", "Secret", repositorySecret(argoUrl, "").metadata.name, ARGOCD_NAMESPACE);
  const storedKey = secretValue(existing, "sshPrivateKey");
  const storedUrl = secretValue(existing, "url");
  const title = `giropops-platform Argo CD (${input.config.cluster}/${input.config.clusterName})`;
  const pair = storedKey ? { privateKey: storedKey, publicKey: publicKeyOf(storedKey) } : generateSshKeyPair(title);
  const key = await ensureDeployKey(input.github, repo, pair.publicKey, title);
  if (!storedKey || storedUrl !== argoUrl) await input.kube.apply([repositorySecret(argoUrl, pair.privateKey)]);
  return { argoUrl, summary: `private repository: read-only deploy key ${key} on GitHub, ${storedKey ? "kept" : "stored"} in Secret ${ARGOCD_NAMESPACE}/repo-giropops-platform` };
}
