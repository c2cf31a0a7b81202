// The shared modules on their own: flags and help, the root Application,
// repository URLs, the runner, progress output, the Kubernetes client.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { PassThrough } from "node:stream";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BOOTSTRAP, bootstrap } from "../../scripts/bootstrap.mts";
import { helpText, parseFlags } from "../../scripts/lib/cli.mts";
import { DEGRADED_GRACE_MS, rootApplication, PLACEHOLDER_SOURCE, allSyncedAndHealthy, projectSourcePatch, projectsForRepo } from "../../scripts/lib/argocd.mts";
import { githubRepo, normalizeRepoUrl, resolveGitSource } from "../../scripts/lib/git.mts";
import { applyOrder, createKube, kubectl, parseManifests, type KubeObject } from "../../scripts/lib/kube.mts";
import { createRunner, dryRunner, formatCommand } from "../../scripts/lib/runner.mts";
import { createUi, table } from "../../scripts/lib/ui.mts";
import { UserError } from "../../scripts/lib/errors.mts";
import { clusterProvider } from "../../scripts/lib/clusters/index.mts";
import { startFakeKube } from "../lib/fake-kube.mts";
import { simulateArgoCd } from "../lib/fake-argocd.mts";
import { harness, REPO } from "../lib/cli-harness.mts";
import { recordingRunner } from "../lib/fake-runner.mts";

test("flags: unknown ones and stray arguments are usage errors (exit 2) naming --help", () => {
  for (const argv of [["--nope"], ["kind"], ["--cluster"]]) {
    try {
      parseFlags(BOOTSTRAP, argv);
      assert.unreachable(`accepted ${argv.join(" ")}`);
    } catch (error) {
      assert.instance(error, UserError);
      assert.is((error as UserError).exitCode, 2);
      assert.match((error as UserError).message, /run "npx zx scripts\/bootstrap\.mts --help" for the options$/);
      assert.not.match((error as UserError).message, /\n/);
    }
  }
  assert.equal(parseFlags(BOOTSTRAP, ["--cluster", "oke", "--yes"]).values, { cluster: "oke", yes: true });
});

test("help names each flag's setting and default", () => {
  const help = helpText(BOOTSTRAP);
  assert.match(help, /--cluster kind\|minikube\|oke\s+where the platform runs \(CLUSTER, default kind\)/);
  assert.match(help, /--timeout DURATION\s+.*BOOTSTRAP_TIMEOUT, default 20m/);
  assert.match(help, /Settings come from flags, then the environment, then \.env, then defaults/);
});

test("the root Application passes the repository and revision to every child and project", () => {
  const root = rootApplication({ cluster: "minikube", gitRepoUrl: "git@github.com:me/fork.git", gitRevision: "dev" });
  assert.is(root.metadata.name, "root");
  assert.is(root.metadata.namespace, "argocd");
  assert.is(root.spec.project, "platform");
  assert.equal(root.spec.destination, { server: "https://kubernetes.default.svc", namespace: "argocd" });
  assert.is(root.spec.source.path, "clusters/minikube");
  const [apps, projects] = root.spec.source.kustomize.patches;
  assert.equal(apps.target, { group: "argoproj.io", kind: "Application", labelSelector: "giropops.dev/source=git" });
  assert.equal(JSON.parse(apps.patch), [
    { op: "replace", path: "/spec/source/repoURL", value: "git@github.com:me/fork.git" },
    { op: "replace", path: "/spec/source/targetRevision", value: "dev" },
  ]);
  assert.equal(projects.target, { group: "argoproj.io", kind: "AppProject" });
  assert.equal(JSON.parse(projects.patch), [{ op: "replace", path: "/spec/sourceRepos/0", value: "git@github.com:me/fork.git" }]);
  // bootstrap's day-0 AppProjects get exactly this patch
  const project: KubeObject = { apiVersion: "argoproj.io/v1alpha1", kind: "AppProject", metadata: { name: "p" }, spec: { sourceRepos: [PLACEHOLDER_SOURCE.repoURL, "https://charts.example"] } };
  const other: KubeObject = { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: {} };
  const [patchedProject, untouched] = projectsForRepo([project, other], "git@github.com:me/fork.git");
  assert.equal(patchedProject!.spec.sourceRepos, ["git@github.com:me/fork.git", "https://charts.example"]);
  assert.equal(JSON.parse(projects.patch), projectSourcePatch("git@github.com:me/fork.git"));
  assert.is(project.spec.sourceRepos[0], PLACEHOLDER_SOURCE.repoURL, "the rendered object is not modified");
  assert.is(untouched, other);
  assert.throws(() => projectsForRepo([{ ...project, spec: {} }], "x"), /cannot replace \/spec\/sourceRepos\/0/);
  // with no repository configured (offline validation), the placeholders
  const plain = rootApplication({ cluster: "kind" });
  assert.is(plain.spec.source.repoURL, PLACEHOLDER_SOURCE.repoURL);
  assert.is(plain.spec.source.targetRevision, "main");
});

test("on OKE bootstrap tolerates a Degraded app longer: the Gateway waits for Let's Encrypt, which waits for DNS", () => {
  const oke = clusterProvider("oke").degradedGraceMs ?? 0;
  assert.ok(oke >= 10 * 60_000, `OKE grace ${oke} ms`);
  assert.is(clusterProvider("kind").degradedGraceMs, undefined, "kind keeps the default");
  assert.ok(DEGRADED_GRACE_MS >= 5 * 60_000, "a first sync on a laptop passes through Degraded for minutes");
});

test("repository URLs in every spelling compare equal; GitHub ones give owner/repo", () => {
  for (const url of ["https://github.com/Acme/Repo.git", "git@github.com:acme/repo.git", "ssh://git@github.com/acme/repo", "https://github.com/acme/repo/"]) {
    assert.is(normalizeRepoUrl(url), "github.com/acme/repo", url);
  }
  assert.equal(githubRepo("git@github.com:acme/repo.git"), { owner: "acme", repo: "repo" });
  assert.is(githubRepo("https://gitlab.com/acme/repo.git"), undefined);
  assert.is(normalizeRepoUrl("ssh://git@git.example.com:2222/acme/repo.git"), "git.example.com:2222/acme/repo");
});

test("a GitHub repository given in ssh form is deployed over https (the deploy key path switches to ssh itself)", async () => {
  const source = await resolveGitSource(recordingRunner({}), ".", { gitRepoUrl: "git@github.com:Me/Fork.git", gitRevision: "main" });
  assert.equal(source, { repoUrl: "https://github.com/Me/Fork.git", revision: "main" });
  const other = await resolveGitSource(recordingRunner({}), ".", { gitRepoUrl: "ssh://git@git.example.com/me/fork.git", gitRevision: "main" });
  assert.is(other.repoUrl, "ssh://git@git.example.com/me/fork.git");
});

test("the real runner: output, input, exit codes, a missing command as a user error", async () => {
  const runner = createRunner();
  const echoed: string[] = [];
  const cat = await runner.run("sh", ["-c", "cat; echo err >&2"], { input: "hello", echo: (c) => echoed.push(c) });
  assert.is(cat.stdout, "hello");
  assert.is(cat.stderr, "err\n");
  assert.ok(echoed.join("").includes("hello"));
  assert.is((await runner.run("sh", ["-c", "exit 3"], { check: false })).code, 3);
  try {
    await runner.run("sh", ["-c", "echo 'no such cluster' >&2; exit 1"], { fix: "do the thing" });
    assert.unreachable();
  } catch (error) {
    assert.instance(error, UserError);
    assert.is((error as UserError).message, "`sh -c 'echo '\\''no such cluster'\\'' >&2; exit 1'` failed: no such cluster");
    assert.is((error as UserError).fix, "do the thing");
  }
  const missing = await runner.run("giropops-no-such-tool", ["--version"], { check: false });
  assert.is(missing.code, 127);
});

test("the dry runner prints what changes and still runs what only reads", async () => {
  const printed: string[] = [];
  const runner = dryRunner(createRunner(), (line) => printed.push(line));
  assert.is((await runner.run("sh", ["-c", "echo read"], { readOnly: true })).stdout, "read\n");
  assert.is((await runner.run("rm", ["-rf", "/tmp/giropops-never"])).code, 0);
  assert.equal(printed, ["rm -rf /tmp/giropops-never"]);
  assert.is(formatCommand("kubectl", ["-o", "jsonpath={.data.password}", "a b"]), "kubectl -o jsonpath={.data.password} 'a b'");
});

test("a terminal that reports 0 columns gets plain lines, not a spinner (ora 9.4.1 loops for ever there)", () => {
  // In a child process: on a 0-column stream ora's redraw never returns, so a
  // failure here is a timeout, not a hung test run.
  const ui = new URL("../../scripts/lib/ui.mts", import.meta.url).href;
  const script = [
    "import { PassThrough } from 'node:stream';",
    `const { createUi } = await import(${JSON.stringify(ui)});`,
    // What a tty.WriteStream offers ora: isTTY, columns and the cursor methods (escape codes).
    "const out = Object.assign(new PassThrough(), { isTTY: true, columns: 0,",
    "  cursorTo(x) { return this.write(`\\u001b[${x + 1}G`); }, moveCursor(dx, dy) { return this.write(dy < 0 ? `\\u001b[${-dy}A` : ''); }, clearLine() { return this.write('\\u001b[2K'); } });",
    "let text = ''; out.on('data', (c) => (text += c));",
    "const ui = createUi({ streams: { out, err: out, input: new PassThrough() }, env: { NO_COLOR: '1' } });",
    "await ui.step('Applications', async (step) => { step.update('… a  OutOfSync'); await new Promise((r) => setTimeout(r, 300)); step.done('all Synced and Healthy'); });",
    "process.stdout.write(text);",
  ].join("\n");
  const result = spawnSync(process.execPath, ["--input-type=module", "-e", script], { encoding: "utf8", timeout: 15_000, maxBuffer: 1024 * 1024 });
  assert.is(result.signal, null, `timed out or killed; ${result.stdout.length} bytes written`);
  assert.is(result.status, 0, result.stderr);
  assert.not.match(result.stdout, /\u001b\[/, "no cursor codes");
  assert.match(result.stdout, /^› Applications\n  … a  OutOfSync\n✔ Applications: all Synced and Healthy \(\d+\.\ds\)\n$/);
});

test("without a terminal, progress prints plain lines and only what changed", async () => {
  const out = new PassThrough();
  let text = "";
  out.on("data", (c) => (text += c));
  const ui = createUi({ streams: { out, err: out, input: new PassThrough() }, interactive: false, env: {} });
  await ui.step("Applications", async (step) => {
    step.update("… a  OutOfSync  Progressing\n… b  OutOfSync  Progressing");
    step.update("✔ a  Synced     Healthy\n… b  OutOfSync  Progressing");
    step.done("all Synced and Healthy");
  });
  assert.not.match(text, /\u001b\[/, "no escape codes");
  assert.is(text.match(/… b/g)?.length, 1, "unchanged line printed once");
  assert.match(text, /^› Applications\n  … a  OutOfSync  Progressing\n  … b  OutOfSync  Progressing\n  ✔ a  Synced     Healthy\n✔ Applications: all Synced and Healthy \(\d+\.\ds\)\n$/);
  assert.is(table(["A", "BB"], [["xxx", "y"]]), "A    BB\nxxx  y");
});

test("Namespaces and CRDs are applied first; manifests parse with Lists flattened", () => {
  const objects = parseManifests(`
kind: Deployment
apiVersion: apps/v1
metadata: {name: d}
---
kind: List
apiVersion: v1
items:
  - {kind: CustomResourceDefinition, apiVersion: apiextensions.k8s.io/v1, metadata: {name: c}}
  - {kind: Namespace, apiVersion: v1, metadata: {name: n}}
---
`);
  assert.equal(applyOrder(objects).map((o) => o.kind), ["Namespace", "CustomResourceDefinition", "Deployment"]);
});

test("the kube client uses its explicit context, never the current one", async () => {
  const fake = await startFakeKube({ context: "kind-demo" });
  try {
    const kube = createKube({ context: "kind-demo", kubeconfigPath: fake.kubeconfigPath });
    assert.match(await kube.version(), /v1\.36\.1/);
    assert.ok(fake.requests.some((r) => r.path === "/version"), "the fake (not the dead current-context) answered");
    try {
      createKube({ context: "kind-missing", kubeconfigPath: fake.kubeconfigPath });
      assert.unreachable();
    } catch (error) {
      assert.match((error as Error).message, /kubeconfig has no context "kind-missing"/);
      assert.match((error as UserError).fix ?? "", /contexts found: kind-demo, someone-elses-prod/);
    }
    assert.is(kubectl(kube.target, "get", "pods"), `kubectl --kubeconfig ${fake.kubeconfigPath} --context kind-demo get pods`);
    // apply a CRD, then an object of its new kind: discovery picks it up
    await kube.apply([
      { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "widgets.example.com" }, spec: { group: "example.com", names: { kind: "Widget", plural: "widgets" }, scope: "Namespaced", versions: [{ name: "v1" }] } } as KubeObject,
    ]);
    await kube.apply([{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "default" }, spec: { size: 3 } } as KubeObject]);
    assert.is(fake.get("Widget", "w", "default")!.spec.size, 3, "custom resources keep their spec through the client");
    assert.is(await kube.get("example.com/v1", "Widget", "nope", "default"), undefined);
    assert.is(await kube.get("example.com/v1", "Gadget", "nope", "default"), undefined, "an unknown kind reads as absent");
  } finally {
    await fake.close();
  }
});

test("apply sends exactly what was rendered: no field of Argo CD v3.5.1's install shape (or one client-node does not know) is dropped", async () => {
  const fake = await startFakeKube({ context: "kind-demo" });
  try {
    const kube = createKube({ context: "kind-demo", kubeconfigPath: fake.kubeconfigPath });
    const rendered = parseManifests(readFileSync(join(import.meta.dirname, "fixtures", "upstream", "argocd-v3.5.1-excerpt.yaml"), "utf8"));
    // A field newer than client-node 2.0.1's models (made up here, so no model can know it).
    rendered.push({ apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "argocd" }, spec: { replicas: 1, fieldFromANewerKubernetes: { keep: true }, template: { spec: { containers: [{ name: "c", image: "i:1" }] } } } } as KubeObject);
    await kube.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "argocd" } } as KubeObject, ...rendered]);
    for (const object of rendered) {
      const sent = fake.requests.find((r) => r.method === "PATCH" && r.path.endsWith(`/${object.metadata.name}`));
      assert.ok(sent, `an apply of ${object.kind} ${object.metadata.name}`);
      assert.equal(JSON.parse(sent!.body), object, `${object.kind} ${object.metadata.name} arrived field for field`);
    }
    const crd = fake.get("CustomResourceDefinition", "applications.argoproj.io")!;
    assert.is(crd.spec.versions[0].schema.openAPIV3Schema.properties.spec.properties.source.properties.helm.properties.valuesObject["x-kubernetes-preserve-unknown-fields"], true);
    assert.ok(fake.get("NetworkPolicy", "argocd-application-controller-network-policy", "argocd")!.spec.ingress[0].from, "ingress[].from kept (client-node's model calls it _from)");
  } finally {
    await fake.close();
  }
});

test("done means the root and every child it lists exist, all Synced and Healthy", () => {
  const app = (name: string, sync: string, health: string, extra: Record<string, unknown> = {}) =>
    ({ apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name }, status: { sync: { status: sync }, health: { status: health }, ...extra } }) as KubeObject;
  const root = app("root", "Synced", "Healthy", { resources: [{ kind: "Application", name: "a" }, { kind: "Application", name: "b" }] });
  assert.is(allSyncedAndHealthy([]), false);
  assert.is(allSyncedAndHealthy([root, app("a", "Synced", "Healthy")]), false, "b not created yet");
  assert.is(allSyncedAndHealthy([root, app("a", "Synced", "Healthy"), app("b", "OutOfSync", "Healthy")]), false);
  assert.is(allSyncedAndHealthy([root, app("a", "Synced", "Healthy"), app("b", "Synced", "Healthy")]), true);
});

test("Ctrl-C names the interrupted step, says re-running resumes, exits 130", async () => {
  const fake = await startFakeKube({ context: "kind-giropops" });
  const argo = simulateArgoCd(fake, [{ name: "slow", healthyAfter: 1_000_000 }]);
  try {
    const h = harness({ kube: fake });
    const running = bootstrap(["--cluster", "kind", "--repo", REPO, "--revision", "main", "--timeout", "3s"], h.deps);
    while (!h.output().includes("› Applications")) await new Promise((r) => setTimeout(r, 20));
    h.interrupt();
    assert.equal(h.exits, [130]);
    assert.match(h.output(), /error: interrupted during "Applications"\. Every step is safe to repeat: run the same command again to resume\./);
    await running;
  } finally {
    argo.stop();
    await fake.close();
  }
});

// A process is gone once /proc no longer lists it or lists it as a zombie
// waiting for its parent (init reaps those); either way it no longer runs.
function running(pid: number): boolean {
  try {
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
  } catch {
    return false;
  }
}

test("the real runner stops a command at its deadline, with its children, and says so", async () => {
  const runner = createRunner({ read: 300, change: 60_000 });
  const pidFile = join(mkdtempSync(join(tmpdir(), "giropops-runner-")), "child.pid");
  const started = Date.now();
  const error = await runner.run("sh", ["-c", `sleep 30 & echo $! > ${pidFile}; wait`], { readOnly: true }).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(error, UserError);
  assert.is((error as UserError).message, "`sh -c 'sleep 30 & echo $! > " + pidFile + "; wait'` was still running after 300ms, so it was stopped");
  assert.match((error as UserError).fix ?? "", /every step resumes/);
  assert.ok(Date.now() - started < 10_000, "stopped long before the command would have ended");
  const child = Number(readFileSync(pidFile, "utf8"));
  for (let i = 0; i < 50 && running(child); i++) await new Promise((resolve) => setTimeout(resolve, 100));
  assert.not.ok(running(child), "the background sleep was killed with its shell");
});

test("the real runner: reads get the short deadline, changes the long one, an explicit one wins", async () => {
  const runner = createRunner({ read: 200, change: 5_000 });
  const read = await runner.run("sleep", ["2"], { readOnly: true, check: false });
  assert.is(read.stoppedAfterMs, 200);
  const change = await runner.run("sleep", ["0.5"], { check: false });
  assert.is(change.code, 0);
  assert.is(change.stoppedAfterMs, undefined);
  const explicit = await runner.run("sleep", ["2"], { check: false, timeoutMs: 100 });
  assert.is(explicit.stoppedAfterMs, 100);
});

test("confirm asks on a terminal and takes only yes", async () => {
  for (const [typed, expected] of [["y\n", true], ["yes\n", true], ["\n", false], ["no\n", false]] as const) {
    const input = Object.assign(new PassThrough(), { isTTY: true });
    const out = new PassThrough();
    let shown = "";
    out.on("data", (chunk) => (shown += chunk));
    const ui = createUi({ streams: { out, err: out, input }, interactive: false, env: {} });
    const answer = ui.confirm("Destroy it?", "re-run with --yes");
    input.write(typed);
    assert.is(await answer, expected, `typed ${JSON.stringify(typed)}`);
    assert.match(shown, /\? Destroy it\? \[y\/N\] /);
  }
  const notTty = createUi({ streams: { out: new PassThrough(), err: new PassThrough(), input: new PassThrough() }, interactive: false, env: {} });
  const refused = await notTty.confirm("Destroy it?", "re-run with --yes").then(
    () => undefined,
    (caught: unknown) => caught,
  );
  assert.instance(refused, UserError);
  assert.is((refused as UserError).fix, "re-run with --yes");
});

test.run();
