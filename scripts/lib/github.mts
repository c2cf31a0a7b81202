// GitHub access for a private repository: check the token can see it and the
// revision, and keep one read-only deploy key for Argo CD. The token is only
// used here; it never reaches the cluster or the output.
import { Octokit } from "@octokit/rest";
import { UserError } from "./errors.mts";
import type { GitHubRepo } from "./git.mts";
import { keyMaterial } from "./sshkey.mts";

export type GitHubFactory = (token: string) => Octokit;

const quiet = { debug() {}, info() {}, warn() {}, error() {} };

export function createGitHub(token: string): Octokit {
  return new Octokit({ auth: token, userAgent: "giropops-platform-bootstrap", log: quiet });
}

function status(error: unknown): number | undefined {
  const value = (error as { status?: unknown })?.status;
  return typeof value === "number" ? value : undefined;
}

/** A GitHub API failure as a user error that says what to do. */
export function gitHubError(error: unknown, repo: GitHubRepo, action: string): UserError {
  const name = `${repo.owner}/${repo.repo}`;
  switch (status(error)) {
    case 401:
      return new UserError(`GitHub rejected GITHUB_TOKEN while ${action} (401 Bad credentials)`, {
        fix: "create a new token (fine-grained, Administration: read and write on that repository) and put it in .env",
      });
    case 403:
      return new UserError(`GITHUB_TOKEN may not ${action} on ${name} (403)`, {
        fix: 'give the token "Administration: read and write" on that repository (deploy keys need it)',
      });
    case 404:
      return new UserError(`GitHub answered 404 for ${name} while ${action}: it does not exist or GITHUB_TOKEN cannot see it`, {
        fix: "check --repo / GIT_REPO_URL, and that the token has access to that repository",
      });
    default:
      return new UserError(`GitHub API error while ${action} on ${name}: ${(error as Error)?.message ?? String(error)}`, {
        fix: "check your network and https://www.githubstatus.com, then re-run",
        cause: error,
      });
  }
}

export type RepoAccess = { private: boolean; sha: string };

/** Whether the repository is private, and the commit the revision points at. */
export async function repoAccess(github: Octokit, repo: GitHubRepo, revision: string): Promise<RepoAccess> {
  let isPrivate: boolean;
  try {
    isPrivate = (await github.rest.repos.get({ owner: repo.owner, repo: repo.repo })).data.private;
  } catch (error) {
    throw gitHubError(error, repo, "reading the repository");
  }
  try {
    const commit = await github.rest.repos.getCommit({ owner: repo.owner, repo: repo.repo, ref: revision });
    return { private: isPrivate, sha: commit.data.sha };
  } catch (error) {
    if (status(error) === 404 || status(error) === 422) {
      throw new UserError(`${repo.owner}/${repo.repo} has no branch, tag or commit "${revision}"`, {
        fix: `push it (git push origin ${revision}) or pass --revision with an existing branch`,
      });
    }
    throw gitHubError(error, repo, `reading revision ${revision}`);
  }
}

/** Makes sure `publicKey` is a read-only deploy key of the repository; never adds it twice. */
export async function ensureDeployKey(github: Octokit, repo: GitHubRepo, publicKey: string, title: string): Promise<"reused" | "created"> {
  try {
    const keys = await github.paginate(github.rest.repos.listDeployKeys, { owner: repo.owner, repo: repo.repo, per_page: 100 });
    const wanted = keyMaterial(publicKey);
    const existing = keys.find((key) => keyMaterial(key.key) === wanted);
    if (existing) {
      if (!existing.read_only) throw new UserError(`deploy key "${existing.title}" on ${repo.owner}/${repo.repo} has write access`, { fix: "delete it on GitHub (Settings → Deploy keys) and re-run: bootstrap adds a read-only one" });
      return "reused";
    }
    await github.rest.repos.createDeployKey({ owner: repo.owner, repo: repo.repo, title, key: publicKey, read_only: true });
    return "created";
  } catch (error) {
    if (error instanceof UserError) throw error;
    throw gitHubError(error, repo, "managing deploy keys");
  }
}
