// scripts/diff.mts on a temporary git repository made from a copy of this one:
// each commit makes one kind of change a pull request makes (an image, an added
// and a removed object, a chart bump with a value change, an overlay patch, an
// Application added and one deleted, a Secret), and the diff between two
// commits reports exactly that change, in text and as the pull-request comment.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { diff } from "../../scripts/diff.mts";
import { COMMENT_MARKER, helmTemplateArgs, maskSecret, markdownReport, unifiedDiff, type ClusterDiff } from "../../scripts/lib/diff.mts";
import { harness } from "../lib/cli-harness.mts";
import { copyRepo, edit } from "../gitops/support.mts";

const repo = copyRepo();
const git = (...args: string[]) => {
  const r = spawnSync("git", ["-c", "user.name=test", "-c", "user.email=test@example.com", "-c", "commit.gpgsign=false", ...args], { cwd: repo, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`git ${args.join(" ")}: ${r.stderr}`);
  return r.stdout.trim();
};
const commit = (message: string) => {
  git("add", "-A");
  git("commit", "-q", "-m", message);
  return git("rev-parse", "HEAD");
};
git("init", "-q", "-b", "main");
const c0 = commit("the platform as it is");

edit(repo, "gitops/locust/master.yaml", "image: docker.io/locustio/locust:2.32.2", "image: docker.io/locustio/locust:2.33.0");
const image = commit("locust master image 2.33.0");

edit(repo, "gitops/locust/kustomization.yaml", "  - headless.yaml\n", "  - notes.yaml\n");
writeFileSync(join(repo, "gitops/locust/notes.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: locust-notes\ndata:\n  note: added by the test\n");
const addRemove = commit("locust: a ConfigMap instead of the headless CronJob");

edit(repo, "gitops/metrics-server/application.yaml", "targetRevision: 3.13.1", "targetRevision: 3.13.2");
edit(repo, "gitops/metrics-server/application.yaml", "limits: { cpu: 200m, memory: 128Mi }", "limits: { cpu: 200m, memory: 256Mi }");
const chart = commit("metrics-server 3.13.2, more memory");

edit(repo, "clusters/kind/giropops-senhas/kustomization.yaml", "path: /spec/minReplicas, value: 3 }", "path: /spec/minReplicas, value: 4 }");
const overlay = commit("kind: 4 app replicas at least");

edit(repo, "gitops/kustomization.yaml", "  - locust/application.yaml             # wave 3\n", "  - extra/application.yaml\n");
mkdirSync(join(repo, "gitops/extra"));
writeFileSync(
  join(repo, "gitops/extra/application.yaml"),
  [
    "apiVersion: argoproj.io/v1alpha1",
    "kind: Application",
    "metadata: { name: extra, namespace: argocd }",
    "spec:",
    "  project: platform",
    "  source:",
    "    repoURL: https://charts.example.com",
    "    chart: extra",
    "    targetRevision: 1.0.0",
    "    helm: { valuesObject: { replicas: 1 } }",
    "  destination: { server: https://kubernetes.default.svc, namespace: extra }",
    "",
  ].join("\n"),
);
const apps = commit("extra Application in, locust out");

// A Secret in a repo-sourced path: its values must never reach the diff.
edit(repo, "gitops/locust/kustomization.yaml", "  - notes.yaml\n", "  - notes.yaml\n  - secret.yaml\n");
writeFileSync(join(repo, "gitops/locust/secret.yaml"), "apiVersion: v1\nkind: Secret\nmetadata:\n  name: locust-token\nstringData:\n  token: s3cr3t-before\n  same: unchanged-value\n");
// (the locust Application is gone at `apps`; put it back for this pair)
edit(repo, "gitops/kustomization.yaml", "  - extra/application.yaml\n", "  - extra/application.yaml\n  - locust/application.yaml\n");
const secretBefore = commit("a Secret");
edit(repo, "gitops/locust/secret.yaml", "s3cr3t-before", "s3cr3t-after");
const secretAfter = commit("the Secret changes");

// A change that adds a root patch's target together with the patch (as the
// runbook label did): the base lacks the key the root patch replaces.
edit(repo, "gitops/monitoring/application.yaml", "            externalLabels:\n              runbook_base: https://github.com/giropops/giropops-platform/blob/main\n", "");
const withoutTarget = commit("monitoring values without the runbook label");
edit(repo, "gitops/monitoring/application.yaml", "            storageSpec:\n", "            externalLabels:\n              runbook_base: https://github.com/giropops/giropops-platform/blob/main\n            storageSpec:\n");
const withTarget = commit("the runbook label is back");

async function run(...argv: string[]) {
  const h = harness({ overrides: { root: repo } });
  const code = await diff(argv, h.deps);
  return { code, output: h.output() };
}

const section = (output: string, cluster: string) => output.split(`== ${cluster} ==`)[1]?.split(/\n== /)[0] ?? "";

test("an unchanged tree reports no differences, for every cluster", async () => {
  const { code, output } = await run("--base", c0, "--head", c0);
  assert.is(code, 0, output);
  for (const cluster of ["kind", "minikube", "oke"]) assert.match(output, new RegExp(`^${cluster}: no differences$`, "m"));
  assert.not.match(output, /^==/m);
});

test("the working tree is the default head: at the last commit, nothing differs", async () => {
  const { code, output } = await run("--base", "HEAD", "--cluster", "kind");
  assert.is(code, 0, output);
  assert.match(output, /with the working tree;/);
  assert.match(output, /^kind: no differences$/m);
});

test("a changed image: one object of one Application changes, shown as a unified diff", async () => {
  const { code, output } = await run("--base", c0, "--head", image, "--cluster", "kind");
  assert.is(code, 0, output);
  assert.match(output, /^kind: 1 Application changed, 1 object changed$/m);
  const kind = section(output, "kind");
  assert.match(kind, /^Application locust \(changed\)\n  ~ Deployment locust\/locust-master\n/m);
  assert.match(kind, /^ +-\s+image: docker\.io\/locustio\/locust:2\.32\.2$/m);
  assert.match(kind, /^ +\+\s+image: docker\.io\/locustio\/locust:2\.33\.0$/m);
  assert.match(kind, /^ +@@ -\d+,\d+ \+\d+,\d+ @@$/m);
  assert.equal(kind.match(/^  [-+~] .*$/gm), ["  ~ Deployment locust/locust-master"], "only the Deployment is listed");
});

test("an added and a removed object: listed as such, with the same summary on every cluster", async () => {
  const { code, output } = await run("--base", image, "--head", addRemove);
  assert.is(code, 0, output);
  for (const cluster of ["kind", "minikube", "oke"]) {
    assert.match(output, new RegExp(`^${cluster}: 1 Application changed, 1 object added, 1 removed$`, "m"));
    const part = section(output, cluster);
    assert.match(part, /^  \+ ConfigMap locust\/locust-notes \(added\)$/m);
    assert.match(part, /^  - CronJob locust\/locust-headless \(removed\)$/m);
  }
});

test("a chart bump and a value change: chart and version, the values diff, and that chart contents were not rendered", async () => {
  const { code, output } = await run("--base", addRemove, "--head", chart, "--cluster", "kind");
  assert.is(code, 0, output);
  assert.match(output, /^kind: 1 Application changed$/m);
  const kind = section(output, "kind");
  assert.match(kind, /^Application metrics-server \(changed\)\n  chart metrics-server 3\.13\.1 -> 3\.13\.2 \(https:\/\/kubernetes-sigs\.github\.io\/metrics-server\/\)$/m);
  assert.match(kind, /^ +-\s+memory: 128Mi$/m);
  assert.match(kind, /^ +\+\s+memory: 256Mi$/m);
  assert.match(kind, /chart contents not rendered: helm is not on PATH/);
  assert.not.match(kind, /the Application:/, "targetRevision and values are not repeated as a manifest diff");
  assert.match(output, /^Comparing .*; chart contents not rendered: helm is not on PATH/);
});

test("an overlay patch: only kind's HPA changes", async () => {
  const { code, output } = await run("--base", chart, "--head", overlay);
  assert.is(code, 0, output);
  assert.match(output, /^kind: 1 Application changed, 1 object changed$/m);
  assert.match(output, /^minikube: no differences$/m);
  assert.match(output, /^oke: no differences$/m);
  const kind = section(output, "kind");
  assert.match(kind, /^Application giropops-senhas \(changed\)\n  ~ HorizontalPodAutoscaler giropops-senhas\/giropops-senhas\n/m);
  assert.match(kind, /^ +-  minReplicas: 3$/m);
  assert.match(kind, /^ +\+  minReplicas: 4$/m);
});

test("an Application added and one deleted: each reported with its objects", async () => {
  const { code, output } = await run("--base", overlay, "--head", apps, "--cluster", "kind");
  assert.is(code, 0, output);
  assert.match(output, /^kind: 1 Application added, 1 removed, 7 objects removed$/m);
  const kind = section(output, "kind");
  assert.match(kind, /^Application extra \(added\)\n  chart: \(none\) -> extra 1\.0\.0 from https:\/\/charts\.example\.com\n/m);
  assert.match(kind, /^Application locust \(removed\)\n/m);
  assert.match(kind, /^  - Deployment locust\/locust-master \(removed\)$/m);
});

test("a Secret's values never appear; a changed value is marked as changed", async () => {
  const { code, output } = await run("--base", secretBefore, "--head", secretAfter, "--cluster", "kind");
  assert.is(code, 0, output);
  assert.match(output, /^kind: 1 Application changed, 1 object changed$/m, output);
  assert.not.match(output, /s3cr3t|unchanged-value/);
  assert.match(output, /^ +-\s+token: "\*\*\*"$/m);
  assert.match(output, /^ +\+\s+token: "?\*\*\* \(value changed\)"?$/m);
  assert.not.match(output, /same: "?\*\*\* \(value changed\)/);
});

test("--comment writes the pull-request comment: marker, a summary per cluster, details collapsed in a diff block", async () => {
  const work = mkdtempSync(join(tmpdir(), "giropops-diff-comment-"));
  try {
    const file = join(work, "comment.md");
    const { code, output } = await run("--base", c0, "--head", image, "--comment", file);
    assert.is(code, 0, output);
    const md = readFileSync(file, "utf8");
    assert.ok(md.startsWith(`${COMMENT_MARKER}\n`), md.slice(0, 200));
    assert.match(md, /^- kind: 1 Application changed, 1 object changed$/m);
    assert.match(md, /^- minikube: 1 Application changed, 1 object changed$/m);
    assert.is((md.match(/<details><summary>/g) ?? []).length, 3);
    assert.is((md.match(/^```diff$/gm) ?? []).length, 3);
    assert.is((md.match(/^```$/gm) ?? []).length, 3, "every block is closed");
    assert.match(md, /\+\s+image: docker\.io\/locustio\/locust:2\.33\.0/);
    assert.not.match(md, /Truncated/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test("a long comment is cut at --max-chars, blocks stay closed, and it links the full diff", async () => {
  const work = mkdtempSync(join(tmpdir(), "giropops-diff-comment-"));
  try {
    const file = join(work, "comment.md");
    const link = "https://github.com/example-user/giropops-platform/actions/runs/1";
    const { code, output } = await run("--base", c0, "--head", overlay, "--comment", file, "--max-chars", "1200", "--link", link);
    assert.is(code, 0, output);
    assert.ok(output.length > 3000, `the text report itself is not cut (${output.length})`);
    const md = readFileSync(file, "utf8");
    assert.ok(md.length <= 1200, String(md.length));
    assert.match(md, /^- kind: /m);
    assert.match(md, /^- oke: /m, "every summary line survives the cut");
    assert.match(md, new RegExp(`\\[The full diff\\]\\(${link.replaceAll(".", "\\.")}\\)`));
    assert.match(md, /… \(cut\)/);
    assert.is((md.match(/^```diff$/gm) ?? []).length, (md.match(/^```$/gm) ?? []).length, "every opened block is closed");
    assert.is((md.match(/<details>/g) ?? []).length, (md.match(/<\/details>/g) ?? []).length);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

for (const [argv, pattern] of [
  [["--bogus"], /^error: Unknown option '--bogus'; run "npx zx scripts\/diff\.mts --help" for the options$/],
  [["--cluster", "moon"], /^error: --cluster must be one of kind, minikube, oke or all, not "moon"$/],
  [["--max-chars", "lots"], /^error: --max-chars must be a whole number of at least 1000, not "lots"$/],
  [["extra"], /^error: unexpected argument "extra"; run "npx zx scripts\/diff\.mts --help" for the options$/],
] as const) {
  test(`a bad flag (${argv.join(" ")}): one line, exit 2`, async () => {
    const { code, output } = await run(...argv);
    assert.is(code, 2);
    assert.is(output.trim().split("\n").length, 1, output);
    assert.match(output.trim(), pattern);
  });
}

test("a base that does not exist: one line, exit 1, nothing rendered", async () => {
  const { code, output } = await run("--base", "no-such-branch");
  assert.is(code, 1);
  assert.is(output.trim(), 'error: "no-such-branch" is not a commit in this repository: fetch it (git fetch origin) or name a branch, tag or commit that exists');
});

test("a head that does not render: the error names the revision and the Application; exit 1; the comment says so", async () => {
  const work = mkdtempSync(join(tmpdir(), "giropops-diff-comment-"));
  try {
    edit(repo, "gitops/locust/kustomization.yaml", "  - notes.yaml\n", "  - notes.yaml\n  - missing.yaml\n");
    const broken = commit("a resource that does not exist");
    const file = join(work, "comment.md");
    const { code, output } = await run("--base", secretAfter, "--head", broken, "--cluster", "kind", "--comment", file);
    assert.is(code, 1, output);
    assert.match(output, new RegExp(`^error: kind at ${broken} \\(${broken.slice(0, 12)}\\) does not render: Application locust .*missing\\.yaml`, "m"));
    assert.match(readFileSync(file, "utf8"), /\*\*No diff\*\*: a revision does not render[\s\S]*missing\.yaml/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

// A stand-in for `helm template` (helm v3/v4 pkg/cmd/template.go prints each
// manifest as "---\n# Source: <chart>/templates/<file>\n<manifest>"): for any
// chart it prints a Deployment labelled with the chart's version and a
// ConfigMap holding the values file it was given, in --namespace. It records
// its arguments, so the test sees how Argo CD's call was reproduced.
const fakeBin = mkdtempSync(join(tmpdir(), "giropops-fake-helm-"));
process.on("exit", () => rmSync(fakeBin, { recursive: true, force: true }));
writeFileSync(
  join(fakeBin, "helm"),
  [
    "#!/bin/sh",
    'echo "$*" >> "$(dirname "$0")/calls"',
    'release="$2"; chart="$3"; version=""; ns=""; values=""',
    'while [ $# -gt 0 ]; do case "$1" in --version) version="$2";; --namespace) ns="$2";; --values) values="$2";; esac; shift; done',
    'if [ "$chart" = "broken" ]; then echo "Error: chart broken version $version not found" >&2; exit 1; fi',
    'printf -- "---\n# Source: %s/templates/deployment.yaml\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: %s\n  namespace: %s\n  labels:\n    helm.sh/chart: %s-%s\n" "$chart" "$release" "$ns" "$chart" "$version"',
    'printf -- "---\n# Source: %s/templates/values.yaml\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-values\n  namespace: %s\ndata:\n  values.yaml: |\n" "$chart" "$release" "$ns"',
    'if [ -n "$values" ]; then sed "s/^/    /" "$values"; else echo "    {}"; fi',
    "",
  ].join("\n"),
  { mode: 0o755 },
);

async function runWithHelm(...argv: string[]) {
  const h = harness({ overrides: { root: repo }, env: { PATH: fakeBin } });
  const code = await diff(argv, h.deps);
  return { code, output: h.output() };
}

test("with helm on PATH, chart contents are rendered: a chart bump and a value change show in the objects", async () => {
  rmSync(join(fakeBin, "calls"), { force: true });
  const { code, output } = await runWithHelm("--base", addRemove, "--head", chart, "--cluster", "kind");
  assert.is(code, 0, output);
  assert.match(output, new RegExp(`^Comparing .*; chart contents rendered with ${join(fakeBin, "helm")}\\.$`, "m"));
  assert.match(output, /^kind: 1 Application changed, 2 objects changed$/m);
  const kind = section(output, "kind");
  assert.match(kind, /^  ~ Deployment kube-system\/metrics-server$/m);
  assert.match(kind, /^ +-\s+helm\.sh\/chart: metrics-server-3\.13\.1$/m);
  assert.match(kind, /^ +\+\s+helm\.sh\/chart: metrics-server-3\.13\.2$/m);
  assert.match(kind, /^  ~ ConfigMap kube-system\/metrics-server-values$/m);
  assert.not.match(kind, /chart contents not rendered/);
  const calls = readFileSync(join(fakeBin, "calls"), "utf8");
  assert.match(calls, /^template metrics-server metrics-server --repo https:\/\/kubernetes-sigs\.github\.io\/metrics-server\/ --version 3\.13\.2 --namespace kube-system --values \S+values\.yaml --include-crds$/m);
});

test("--skip-charts leaves helm alone and says so", async () => {
  rmSync(join(fakeBin, "calls"), { force: true });
  const { code, output } = await runWithHelm("--base", addRemove, "--head", chart, "--cluster", "kind", "--skip-charts");
  assert.is(code, 0, output);
  assert.match(output, /chart contents not rendered: --skip-charts was given/);
  assert.match(output, /^kind: 1 Application changed$/m);
  assert.not.ok(existsSync(join(fakeBin, "calls")), "helm was not run");
});

test("a chart helm cannot render is a render error naming the Application: exit 1", async () => {
  edit(repo, "gitops/locust/kustomization.yaml", "  - missing.yaml\n", ""); // the earlier broken commit, undone
  edit(repo, "gitops/extra/application.yaml", "chart: extra", "chart: broken");
  const brokenChart = commit("a chart that does not exist");
  const { code, output } = await runWithHelm("--base", secretAfter, "--head", brokenChart, "--cluster", "kind");
  assert.is(code, 1, output);
  assert.match(output, /^error: kind at \S+ \(\w+\) does not render: Application extra: helm template failed: Error: chart broken version 1\.0\.0 not found$/m, output);
});

// ---- the parts ------------------------------------------------------------------

test("unifiedDiff: hunks with 3 lines of context, like diff -U3", () => {
  const a = `${Array.from({ length: 20 }, (_, i) => `l${i}`).join("\n")}\n`;
  const b = a.replace("l2\n", "l2x\n").replace("l15\n", "");
  const expected = spawnSync("sh", ["-c", 'diff -U3 "$0" "$1" | tail -n +3', write("a", a), write("b", b)], { encoding: "utf8" }).stdout.trimEnd();
  assert.is(unifiedDiff(a, b), expected);
  assert.is(unifiedDiff(a, a), "");
  assert.is(unifiedDiff("", "x: 1\n"), "@@ -0,0 +1,1 @@\n+x: 1");
});
const scratch = mkdtempSync(join(tmpdir(), "giropops-diff-unit-"));
process.on("exit", () => rmSync(scratch, { recursive: true, force: true }));
function write(name: string, text: string): string {
  writeFileSync(join(scratch, name), text);
  return join(scratch, name);
}

test("a base the root patches cannot render (this change adds their target) is shown without those patches, and says so", async () => {
  const { code, output } = await run("--base", withoutTarget, "--head", withTarget, "--cluster", "kind", "--skip-charts");
  assert.is(code, 0, output);
  assert.match(output, /is rendered without 1 of the root Application's patches, which need what this change adds: Application monitoring \(\/spec\/source\/helm\/valuesObject\/prometheus\/prometheusSpec\/externalLabels\/runbook_base/);
  assert.match(output, /runbook_base/, "the added label shows in the diff");
  // the other way round the head is what must render: that is a failure
  const reverse = await run("--base", withTarget, "--head", withoutTarget, "--cluster", "kind", "--skip-charts");
  assert.is(reverse.code, 1);
  assert.match(reverse.output, /kind at .* does not render: .*runbook_base/);
});

test("maskSecret: only v1 Secrets, data and stringData, changed values marked", () => {
  const before = { apiVersion: "v1", kind: "Secret", metadata: { name: "s" }, data: { a: "QQ==", b: "Qg==" } };
  const after = { ...before, data: { a: "QQ==", b: "Qw==" } };
  assert.equal(maskSecret(after, before).data, { a: "***", b: "*** (value changed)" });
  assert.equal(before.data, { a: "QQ==", b: "Qg==" }, "the input is not modified");
  const cm = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "x" } };
  assert.is(maskSecret(cm), cm);
});

test("markdownReport: summary text is escaped, no differences means no details", () => {
  const diffs: ClusterDiff[] = [{ cluster: "kind", apps: [] }];
  const md = markdownReport(diffs, { maxChars: 60_000, base: "main (abc)", head: "<b>", charts: "x" });
  assert.match(md, /^- kind: no differences$/m);
  assert.not.match(md, /<details>/);
});

// helm template as Argo CD runs it (argo-cd v3 reposerver: release name, namespace, values file, --include-crds unless skipCrds).
test("helmTemplateArgs: an https chart repository and an OCI one", () => {
  const app = { metadata: { name: "metrics-server" }, spec: { source: { repoURL: "https://kubernetes-sigs.github.io/metrics-server/", chart: "metrics-server", targetRevision: "3.13.2" }, destination: { namespace: "kube-system" } } };
  assert.equal(helmTemplateArgs(app, "/tmp/v.yaml"), ["template", "metrics-server", "metrics-server", "--repo", "https://kubernetes-sigs.github.io/metrics-server/", "--version", "3.13.2", "--namespace", "kube-system", "--values", "/tmp/v.yaml", "--include-crds"]);
  const oci = { metadata: { name: "x" }, spec: { source: { repoURL: "ghcr.io/org/charts", chart: "x", targetRevision: "1.0.0", helm: { releaseName: "rel", skipCrds: true } }, destination: { namespace: "n" } } };
  assert.equal(helmTemplateArgs(oci), ["template", "rel", "oci://ghcr.io/org/charts/x", "--version", "1.0.0", "--namespace", "n"]);
});

test.run();
