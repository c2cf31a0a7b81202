// scripts/lib/pr-comment.mts (the diff-comment workflow's poster) against a
// local stand-in for the four GitHub REST endpoints it calls, with @octokit/rest
// unchanged. Shapes from GitHub's REST API reference (docs.github.com/rest):
// GET /repos/{o}/{r}/pulls/{n} (head.sha), GET|POST /repos/{o}/{r}/issues/{n}/comments
// and PATCH /repos/{o}/{r}/issues/comments/{id} (id, body, user.login, user.type);
// only those fields are served.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Octokit } from "@octokit/rest";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { COMMENT_MARKER } from "../../scripts/lib/diff.mts";
import { MAX_COMMENT, main, upsertComment } from "../../scripts/lib/pr-comment.mts";

type Comment = { id: number; body: string; user: { login: string; type: "User" | "Bot" } };
const HEAD = "a".repeat(40);
const state = { comments: [] as Comment[], requests: [] as string[], nextId: 100 };

const server = createServer(async (req, res) => {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const path = new URL(req.url ?? "/", "http://localhost").pathname;
  state.requests.push(`${req.method} ${path}`);
  const send = (code: number, body: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };
  if (req.headers.authorization !== "token t0ken") return send(401, { message: "Bad credentials" });
  const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : {};
  if (req.method === "GET" && path === "/repos/o/r/pulls/7") return send(200, { number: 7, head: { sha: HEAD } });
  if (path === "/repos/o/r/issues/7/comments") {
    if (req.method === "GET") return send(200, state.comments);
    if (req.method === "POST") {
      const comment: Comment = { id: state.nextId++, body: body.body, user: { login: "github-actions[bot]", type: "Bot" } };
      state.comments.push(comment);
      return send(201, comment);
    }
  }
  const edit = /^\/repos\/o\/r\/issues\/comments\/(\d+)$/.exec(path);
  if (edit && req.method === "PATCH") {
    const comment = state.comments.find((c) => c.id === Number(edit[1]));
    if (!comment) return send(404, { message: "Not Found" });
    comment.body = body.body;
    return send(200, comment);
  }
  return send(404, { message: "Not Found" });
});
await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
const octokit = new Octokit({ auth: "t0ken", baseUrl, log: { debug() {}, info() {}, warn() {}, error() {} } });
const target = { owner: "o", repo: "r", pr: 7, headSha: HEAD };
const reset = () => Object.assign(state, { comments: [], requests: [], nextId: 100 });

test("the first run creates the comment, the next ones edit that same comment", async () => {
  reset();
  state.comments.push({ id: 1, body: `${COMMENT_MARKER}\nquoted by a person`, user: { login: "someone", type: "User" } });
  const first = await upsertComment(octokit, target, `${COMMENT_MARKER}\nkind: no differences\n`);
  assert.equal(first, { action: "created", id: 100 });
  const second = await upsertComment(octokit, target, `${COMMENT_MARKER}\nkind: 1 Application changed\n`);
  assert.equal(second, { action: "updated", id: 100 });
  assert.is(state.comments.length, 2);
  assert.is(state.comments[1]!.body, `${COMMENT_MARKER}\nkind: 1 Application changed\n`);
  assert.is(state.comments[0]!.body, `${COMMENT_MARKER}\nquoted by a person`, "a person's comment is never edited");
  assert.ok(state.requests.includes("PATCH /repos/o/r/issues/comments/100"));
});

test("a body without the marker gets it; a body over GitHub's limit is cut under it", async () => {
  reset();
  await upsertComment(octokit, target, "x".repeat(MAX_COMMENT + 10));
  const body = state.comments[0]!.body;
  assert.ok(body.startsWith(`${COMMENT_MARKER}\n`));
  assert.ok(body.length <= MAX_COMMENT, String(body.length));
  assert.match(body, /cut at GitHub's limit\)$/);
});

test("the pull request's head must be the commit the diff ran for: otherwise nothing is posted", async () => {
  reset();
  try {
    await upsertComment(octokit, { ...target, headSha: "b".repeat(40) }, "body");
    assert.unreachable("should refuse");
  } catch (error) {
    assert.match((error as Error).message, /pull request #7 is at a{40}, not b{40}: not commenting/);
  }
  assert.equal(state.requests, ["GET /repos/o/r/pulls/7"]);
});

test("main: settings from the environment, files from the artifact; a forged number is refused before any call", async () => {
  reset();
  const dir = mkdtempSync(join(tmpdir(), "giropops-pr-comment-"));
  try {
    writeFileSync(join(dir, "pr"), "7\n");
    writeFileSync(join(dir, "comment.md"), `${COMMENT_MARKER}\nhello\n`);
    const env = { REPOSITORY: "o/r", PR_NUMBER_FILE: join(dir, "pr"), COMMENT_FILE: join(dir, "comment.md"), HEAD_SHA: HEAD, GITHUB_TOKEN: "t0ken", GITHUB_API_URL: baseUrl };
    assert.is(await main(env), "created comment 100 on #7");
    writeFileSync(join(dir, "pr"), "7; rm -rf /\n");
    state.requests = [];
    try {
      await main(env);
      assert.unreachable("should refuse");
    } catch (error) {
      assert.match((error as Error).message, /pull-request number is not a number/);
    }
    assert.equal(state.requests, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.after(() => void server.close());
test.run();
