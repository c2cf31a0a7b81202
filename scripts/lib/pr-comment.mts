// Keeps one comment on a pull request up to date with the diff report
// (.github/workflows/diff-comment.yml). It runs in the privileged half of the
// fork-safe split: the report and the pull-request number come from an
// artifact a pull request's own code produced, so the number is trusted only
// when that pull request's head is the commit the diff workflow ran for, and
// the body is posted as text, never run.
//
//   GITHUB_TOKEN=… REPOSITORY=owner/name PR_NUMBER_FILE=diff/pr HEAD_SHA=… COMMENT_FILE=diff/comment.md \
//     node scripts/lib/pr-comment.mts
import { readFileSync } from "node:fs";
import { Octokit } from "@octokit/rest";
import { COMMENT_MARKER } from "./diff.mts";
import { environment, exit, scriptArguments, standardStreams } from "./runtime.mts";

/** GitHub refuses comment bodies over 65536 characters. */
export const MAX_COMMENT = 65_536;

export type CommentTarget = { owner: string; repo: string; pr: number; headSha: string };

/**
 * Creates the diff comment, or edits the one that already carries the marker
 * (written by this token's user). Returns what it did.
 */
export async function upsertComment(octokit: Octokit, target: CommentTarget, body: string): Promise<{ action: "created" | "updated"; id: number }> {
  const { owner, repo, pr, headSha } = target;
  const pull = await octokit.rest.pulls.get({ owner, repo, pull_number: pr });
  if (pull.data.head.sha !== headSha) throw new Error(`pull request #${pr} is at ${pull.data.head.sha}, not ${headSha}: not commenting (a newer push has its own run, or the artifact names another pull request)`);
  const text = body.startsWith(COMMENT_MARKER) ? body : `${COMMENT_MARKER}\n${body}`;
  const capped = text.length > MAX_COMMENT ? `${text.slice(0, MAX_COMMENT - 40)}\n\n… (cut at GitHub's limit)` : text;
  const comments = await octokit.paginate(octokit.rest.issues.listComments, { owner, repo, issue_number: pr, per_page: 100 });
  const mine = comments.find((c) => c.body?.startsWith(COMMENT_MARKER) && c.user?.type === "Bot");
  if (mine) {
    await octokit.rest.issues.updateComment({ owner, repo, comment_id: mine.id, body: capped });
    return { action: "updated", id: mine.id };
  }
  const created = await octokit.rest.issues.createComment({ owner, repo, issue_number: pr, body: capped });
  return { action: "created", id: created.data.id };
}

/** The workflow's entry: settings from the environment, files from the downloaded artifact. */
export async function main(env: Record<string, string | undefined>, octokit?: Octokit): Promise<string> {
  const need = (name: string) => {
    const value = env[name];
    if (!value) throw new Error(`${name} is not set`);
    return value;
  };
  const [owner, repo] = need("REPOSITORY").split("/") as [string, string];
  const prText = readFileSync(need("PR_NUMBER_FILE"), "utf8").trim();
  if (!/^[1-9]\d{0,9}$/.test(prText)) throw new Error(`the artifact's pull-request number is not a number: ${JSON.stringify(prText.slice(0, 40))}`);
  const body = readFileSync(need("COMMENT_FILE"), "utf8");
  const client = octokit ?? new Octokit({ auth: need("GITHUB_TOKEN"), userAgent: "giropops-platform-diff", baseUrl: env.GITHUB_API_URL || undefined });
  const done = await upsertComment(client, { owner, repo, pr: Number(prText), headSha: need("HEAD_SHA") }, body);
  return `${done.action} comment ${done.id} on #${prText}`;
}

const args = scriptArguments(import.meta.url);
if (args) {
  try {
    standardStreams().out.write(`${await main(environment())}\n`);
    exit(0);
  } catch (error) {
    standardStreams().err.write(`error: ${(error as Error).message}\n`);
    exit(1);
  }
}
