// The git source Argo CD deploys: which repository and revision, whether the
// remote has it, and whether this checkout has commits the remote lacks.
import type { Config } from "./config.mts";
import { UserError } from "./errors.mts";
import { lastLine, type Runner } from "./runner.mts";

export type GitSource = { repoUrl: string; revision: string };

/** Where git may not prompt for a password or a host key: fail instead. */
const NON_INTERACTIVE = { GIT_TERMINAL_PROMPT: "0", GIT_SSH_COMMAND: "ssh -o BatchMode=yes -o StrictHostKeyChecking=accept-new" };

/** "github.com/owner/repo" for any https/ssh spelling of a repository URL (lower case, to compare). */
export function normalizeRepoUrl(url: string): string {
  return repoPath(url).toLowerCase();
}

function repoPath(url: string): string {
  return url
    .trim()
    .replace(/^(https?|ssh|git):\/\//, "")
    .replace(/^[^@/]+@/, "")
    .replace(/^([^/:]+):(?!\d+\/)/, "$1/")
    .replace(/\.git$/, "")
    .replace(/\/$/, "");
}

export type GitHubRepo = { owner: string; repo: string };

/** owner/repo (as spelled) when the URL points at github.com, else undefined. */
export function githubRepo(url: string): GitHubRepo | undefined {
  const match = /^github\.com\/([\w.-]+)\/([\w.-]+)$/i.exec(repoPath(url));
  return match ? { owner: match[1]!, repo: match[2]! } : undefined;
}

export const githubSshUrl = ({ owner, repo }: GitHubRepo) => `git@github.com:${owner}/${repo}.git`;
export const githubHttpsUrl = ({ owner, repo }: GitHubRepo) => `https://github.com/${owner}/${repo}.git`;

/** The repository and revision from config, else this checkout's origin and branch. */
export async function resolveGitSource(runner: Runner, root: string, config: Pick<Config, "gitRepoUrl" | "gitRevision">): Promise<GitSource> {
  const git = (...args: string[]) => runner.run("git", args, { cwd: root, readOnly: true, check: false });
  let repoUrl = config.gitRepoUrl;
  if (!repoUrl) {
    const origin = await git("remote", "get-url", "origin");
    repoUrl = origin.code === 0 ? origin.stdout.trim() : undefined;
  }
  if (!repoUrl) {
    throw new UserError("no git repository to deploy from: this checkout has no \"origin\" remote", {
      fix: "pass --repo https://github.com/YOU/giropops-platform.git or set GIT_REPO_URL in .env",
    });
  }
  // Argo CD reads a public GitHub repository over https with no credentials; a
  // private one over ssh with the deploy key bootstrap adds (see repository.mts).
  const github = githubRepo(repoUrl);
  if (github) repoUrl = githubHttpsUrl(github);
  let revision = config.gitRevision;
  if (!revision) {
    const branch = await git("rev-parse", "--abbrev-ref", "HEAD");
    revision = branch.code === 0 && branch.stdout.trim() !== "HEAD" ? branch.stdout.trim() : undefined;
  }
  if (!revision) {
    throw new UserError("no git revision to deploy: this checkout is not on a branch", { fix: "pass --revision main or set GIT_REVISION in .env" });
  }
  return { repoUrl, revision };
}

export type RemoteCheck = { ok: true; sha: string | undefined } | { ok: false; problem: string; fix: string };

/** `git ls-remote`: is the repository reachable and does it have the revision? */
export async function checkRemote(runner: Runner, source: GitSource): Promise<RemoteCheck> {
  const result = await runner.run("git", ["ls-remote", source.repoUrl, source.revision], { readOnly: true, check: false, env: NON_INTERACTIVE });
  if (result.code !== 0) {
    return {
      ok: false,
      problem: `cannot read ${source.repoUrl}: ${lastLine(result.stderr) || `git ls-remote exit code ${result.code}`}`,
      fix: "check the URL and your network; a private GitHub repository needs GITHUB_TOKEN (see .env.example)",
    };
  }
  const refs = result.stdout
    .split("\n")
    .map((line) => line.split("\t"))
    .filter((parts): parts is [string, string] => parts.length === 2);
  const ref = refs.find(([, name]) => name === `refs/heads/${source.revision}`) ?? refs.find(([, name]) => name === `refs/tags/${source.revision}`) ?? refs[0];
  if (ref) return { ok: true, sha: ref[0] };
  if (/^[0-9a-f]{7,40}$/.test(source.revision)) return { ok: true, sha: undefined }; // a commit: ls-remote lists refs only
  return {
    ok: false,
    problem: `${source.repoUrl} has no branch or tag "${source.revision}"`,
    fix: `push it (git push origin ${source.revision}) or pass --revision with an existing branch`,
  };
}

/**
 * Warnings when this checkout differs from what Argo CD will deploy: commits on
 * the deployed branch that are not pushed, or uncommitted changes.
 */
export async function localDrift(runner: Runner, root: string, source: GitSource, remoteSha: string | undefined): Promise<string[]> {
  const git = (...args: string[]) => runner.run("git", args, { cwd: root, readOnly: true, check: false });
  const origin = await git("remote", "get-url", "origin");
  if (origin.code !== 0 || normalizeRepoUrl(origin.stdout) !== normalizeRepoUrl(source.repoUrl)) return [];
  const branch = (await git("rev-parse", "--abbrev-ref", "HEAD")).stdout.trim();
  if (branch !== source.revision) return [];
  const warnings: string[] = [];
  let compared = "";
  if (!remoteSha) {
    // No network (--dry-run), or the remote did not answer: compare with the remote-tracking branch as last fetched.
    const tracking = await git("rev-parse", "--verify", "--quiet", `refs/remotes/origin/${branch}`);
    if (tracking.code === 0 && /^[0-9a-f]{40}$/.test(tracking.stdout.trim())) {
      remoteSha = tracking.stdout.trim();
      compared = ` (compared with origin/${branch} as last fetched)`;
    }
  }
  if (remoteSha) {
    const known = await git("cat-file", "-e", `${remoteSha}^{commit}`);
    const ahead = known.code === 0 ? Number((await git("rev-list", "--count", `${remoteSha}..HEAD`)).stdout.trim()) : NaN;
    if (ahead > 0) {
      warnings.push(`${ahead} local commit${ahead === 1 ? "" : "s"} on ${branch} not pushed${compared}: Argo CD deploys what is on the remote, not your working tree (git push)`);
    }
  }
  const status = await git("status", "--porcelain", "--untracked-files=no");
  if (status.code === 0 && status.stdout.trim()) {
    warnings.push("uncommitted changes in this checkout are not deployed: Argo CD deploys what is on the remote (commit and push them)");
  }
  return warnings;
}
