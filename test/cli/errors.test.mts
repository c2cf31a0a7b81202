// The remaining errors a user can hit, each checked for its message and fix.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { Octokit } from "@octokit/rest";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { renderKustomization, waitForReady } from "../../scripts/lib/argocd.mts";
import { oke } from "../../scripts/lib/clusters/oke.mts";
import { loadConfig } from "../../scripts/lib/config.mts";
import { UserError } from "../../scripts/lib/errors.mts";
import { resolveGitSource } from "../../scripts/lib/git.mts";
import { ensureDeployKey, gitHubError } from "../../scripts/lib/github.mts";
import { buildAppImage } from "../../scripts/lib/image.mts";
import { API_TIMEOUT_MS, createKube, loadKubeConfig, type KubeObject } from "../../scripts/lib/kube.mts";
import { createRunner } from "../../scripts/lib/runner.mts";
import { ensureSecret } from "../../scripts/lib/secrets.mts";
import { createUi } from "../../scripts/lib/ui.mts";
import { PassThrough } from "node:stream";
import { startFakeKube } from "../lib/fake-kube.mts";
import { startFakeGitHub } from "../lib/fake-github.mts";
import { harness, REPO } from "../lib/cli-harness.mts";
import { healthyMachine, recordingRunner } from "../lib/fake-runner.mts";

async function userError(run: () => Promise<unknown> | unknown): Promise<UserError> {
  try {
    await run();
  } catch (error) {
    if (error instanceof UserError) return error;
    throw error;
  }
  throw new Error("expected a UserError");
}

let dir: string;
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), "giropops-errors-"));
});
test.after.each(() => rmSync(dir, { recursive: true, force: true }));

test("a detached HEAD with no --revision", async () => {
  const runner = recordingRunner({ git: (args) => (args[0] === "rev-parse" ? { stdout: "HEAD\n" } : { stdout: `${REPO}\n` }) });
  const error = await userError(() => resolveGitSource(runner, dir, { gitRepoUrl: undefined, gitRevision: undefined }));
  assert.is(error.message, "no git revision to deploy: this checkout is not on a branch");
  assert.is(error.fix, "pass --revision main or set GIT_REVISION in .env");
});

test("a tool whose version cannot be read", async () => {
  const machine = healthyMachine();
  machine.tools.kind = "something odd";
  const h = harness({ machine });
  assert.is(await bootstrap(["--repo", REPO, "--revision", "main"], h.deps), 1);
  assert.match(h.output(), /could not read the version of kind \(`kind version`: no output\)/);
  assert.match(h.output(), /fix: reinstall kind >= 0\.30\.0/);
});

test("GitHub 403, other API failures, and a deploy key with write access", async () => {
  const repo = { owner: "acme", repo: "private" };
  const forbidden = gitHubError({ status: 403 }, repo, "add deploy keys");
  assert.is(forbidden.message, "GITHUB_TOKEN may not add deploy keys on acme/private (403)");
  assert.match(forbidden.fix ?? "", /Administration: read and write/);
  const down = gitHubError(Object.assign(new Error("getaddrinfo ENOTFOUND api.github.com"), { status: undefined }), repo, "reading the repository");
  assert.match(down.message, /GitHub API error while reading the repository on acme\/private: getaddrinfo ENOTFOUND/);

  const github = await startFakeGitHub({ token: "t0k3n-t0k3n-t0k3n-t0k3n", repos: { "acme/private": { private: true, refs: {} } } });
  try {
    github.keys.set("acme/private", [{ id: 1, key: "ssh-ed25519 AAAAwritable", title: "old", read_only: false }]);
    const octokit = new Octokit({ auth: "t0k3n-t0k3n-t0k3n-t0k3n", baseUrl: github.url });
    const error = await userError(() => ensureDeployKey(octokit, repo, "ssh-ed25519 AAAAwritable comment", "giropops"));
    assert.is(error.message, 'deploy key "old" on acme/private has write access');
    assert.match(error.fix ?? "", /delete it on GitHub .* bootstrap adds a read-only one/);
  } finally {
    await github.close();
  }
});

test("kubeconfig problems: unreadable file", async () => {
  const error = await userError(() => createKube({ context: "oke-giropops", kubeconfigPath: join(dir, "missing.kubeconfig") }));
  assert.match(error.message, /^cannot read kubeconfig \S+missing\.kubeconfig: /);
  assert.is(error.fix, "check the file, or re-run bootstrap to write it");
});

/** A server on 127.0.0.1 that answers every request with `handler` (or never, when it returns false). */
async function server(handler: (res: ServerResponse) => boolean, tls?: { key: string; cert: string }) {
  const listener = (_req: IncomingMessage, res: ServerResponse) => void handler(res);
  const srv = tls ? createHttpsServer(tls, listener) : createServer(listener);
  await new Promise<void>((resolve) => srv.listen(0, "127.0.0.1", resolve));
  const { port } = srv.address() as AddressInfo;
  return { port, close: () => new Promise<void>((resolve) => { srv.closeAllConnections(); srv.close(() => resolve()); }) };
}

/** A kubeconfig for `url`; `verify` leaves out insecure-skip-tls-verify, so the server's certificate is checked. */
function kubeconfigFor(url: string, options: { verify?: boolean } = {}): string {
  const path = join(dir, `kubeconfig-${Math.random().toString(36).slice(2)}`);
  writeFileSync(path, JSON.stringify({
    apiVersion: "v1", kind: "Config",
    clusters: [{ name: "c", cluster: { server: url, ...(options.verify ? {} : { "insecure-skip-tls-verify": true }) } }],
    users: [{ name: "u", user: { token: "t" } }],
    contexts: [{ name: "kind-giropops", context: { cluster: "c", user: "u" } }],
    "current-context": "kind-giropops",
  }));
  return path;
}

/** A Status as the API server answers a failed request (k8s.io/apimachinery pkg/apis/meta/v1 Status). */
const status = (code: number, reason: string, message: string) => JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code });

test("a server that accepts and never answers: every call ends at its deadline, naming the server", async () => {
  const silent = await server(() => false);
  try {
    const url = `http://127.0.0.1:${silent.port}`;
    const kube = createKube({ context: "kind-giropops", kubeconfigPath: kubeconfigFor(url) }, { timeoutMs: 300 });
    const expected = `the Kubernetes API server ${url} (context "kind-giropops") did not answer within 0.3s`;
    for (const call of [() => kube.version(), () => kube.list({ apiVersion: "v1", kind: "Secret", namespace: "argocd" }), () => kube.get("v1", "Secret", "x", "argocd")]) {
      const started = Date.now();
      const error = await userError(call);
      assert.is(error.message, expected);
      assert.match(error.fix ?? "", /check it is running/);
      assert.ok(Date.now() - started < 5000, "stopped at the deadline");
    }
    assert.is(API_TIMEOUT_MS, 30_000);
  } finally {
    await silent.close();
  }
});

test("HTTP answers that are not about the request: 401, 403 and 5xx each say what the server said", async () => {
  for (const [code, reason, message, pattern] of [
    [401, "Unauthorized", "Unauthorized", /^the Kubernetes API server http:\/\/127\.0\.0\.1:\d+ \(context "kind-giropops"\) refused the credentials of the context \(HTTP 401:? Unauthorized\)$/],
    [403, "Forbidden", 'secrets is forbidden: User "dev" cannot list resource "secrets"', /^listing Secret failed: the Kubernetes API server \S+ \(context "kind-giropops"\) forbids it to this user \(HTTP 403: secrets is forbidden: User "dev" cannot list resource "secrets"\)$/],
    [503, "ServiceUnavailable", "etcd is unavailable", /^listing Secret failed: the Kubernetes API server \S+ \(context "kind-giropops"\) answered HTTP 503: etcd is unavailable$/],
  ] as const) {
    const answering = await server((res) => {
      res.writeHead(code, { "content-type": "application/json" }).end(status(code, reason, message));
      return true;
    });
    try {
      const kube = createKube({ context: "kind-giropops", kubeconfigPath: kubeconfigFor(`http://127.0.0.1:${answering.port}`) });
      const error = await userError(() => (code === 401 ? kube.version() : kube.list({ apiVersion: "v1", kind: "Secret", namespace: "argocd" })));
      assert.match(error.message, pattern, error.message);
      assert.not.match(error.message, /cannot reach|check it is running/);
      assert.match(error.fix ?? "", code === 401 ? /expired or wrong: refresh it/ : code === 403 ? /cluster-admin/ : /control plane is unwell/);
    } finally {
      await answering.close();
    }
  }
});

test("TLS problems: a certificate the kubeconfig does not trust, and a port that does not speak TLS", async () => {
  execFileSync("openssl", ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-keyout", "key.pem", "-out", "cert.pem"], { cwd: dir, stdio: "ignore" });
  const https = await server((res) => (res.end("{}"), true), { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") });
  const plain = await server((res) => (res.end("{}"), true));
  try {
    const untrusted = await userError(() => createKube({ context: "kind-giropops", kubeconfigPath: kubeconfigFor(`https://127.0.0.1:${https.port}`, { verify: true }) }).version());
    assert.match(untrusted.message, /^the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ \(context "kind-giropops"\) failed the certificate check \((DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN)\)$/);
    assert.match(untrusted.fix ?? "", /certificate authority is not the one this server presents/);
    const notTls = await userError(() => createKube({ context: "kind-giropops", kubeconfigPath: kubeconfigFor(`https://127.0.0.1:${plain.port}`) }).version());
    assert.match(notTls.message, /^the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ \(context "kind-giropops"\) does not answer TLS at that address \(\w+\): is the port right\?$/);
    assert.not.match(notTls.message, /fetch failed/);
  } finally {
    await https.close();
    await plain.close();
  }
});

test("no kubeconfig at all, and a broken file in KUBECONFIG, are named", async () => {
  const saved = process.env.KUBECONFIG;
  try {
    process.env.KUBECONFIG = [join(dir, "a"), join(dir, "b")].join(delimiter);
    const none = await userError(() => createKube({ context: "kind-giropops" }));
    assert.is(none.message, `no kubeconfig: KUBECONFIG names ${join(dir, "a")}, ${join(dir, "b")}, and none of it exists`);
    assert.match(none.fix ?? "", /create the cluster with "npx zx scripts\/bootstrap\.mts --cluster kind"/);
    assert.not.match(`${none.message} ${none.fix}`, /loaded-context/);

    const good = kubeconfigFor("https://127.0.0.1:6443");
    const broken = join(dir, "broken");
    writeFileSync(broken, "clusters: [unclosed\n");
    process.env.KUBECONFIG = [good, broken].join(delimiter);
    const error = await userError(() => createKube({ context: "kind-giropops" }));
    assert.match(error.message, new RegExp(`^cannot read kubeconfig ${broken.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} \\(from KUBECONFIG\\): `));
    assert.not.match(error.message, /\n/);

    // kubectl's merge: the first file naming a cluster wins; a second file adds its other contexts
    const second = join(dir, "second");
    writeFileSync(second, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: { server: "https://10.0.0.1:6443" } }, { name: "m", cluster: { server: "https://192.168.49.2:8443" } }], users: [{ name: "u", user: { token: "x" } }], contexts: [{ name: "giropops", context: { cluster: "m", user: "u" } }] }));
    process.env.KUBECONFIG = [good, second].join(delimiter);
    assert.is(loadKubeConfig({ context: "kind-giropops" }).getCurrentCluster()?.server, "https://127.0.0.1:6443");
    assert.is(loadKubeConfig({ context: "giropops" }).getCurrentCluster()?.server, "https://192.168.49.2:8443");

    process.env.KUBECONFIG = good;
    const other = await userError(() => createKube({ context: "kind-other" }));
    assert.is(other.message, `kubeconfig ${good} (from KUBECONFIG) has no context "kind-other"`);
    assert.match(other.fix ?? "", /contexts found: kind-giropops$/);
  } finally {
    if (saved === undefined) delete process.env.KUBECONFIG;
    else process.env.KUBECONFIG = saved;
  }
});

test("API errors: an unknown kind to apply or watch, a failed wait", async () => {
  const fake = await startFakeKube({ context: "kind-giropops", autoReady: false });
  try {
    const kube = createKube({ context: fake.context, kubeconfigPath: fake.kubeconfigPath });
    const apply = await userError(() => kube.apply([{ apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w", namespace: "default" } } as KubeObject]));
    assert.match(apply.message, /^server-side apply of Widget default\/w failed: /);
    const watch = await userError(() => kube.waitUntil({ apiVersion: "v1", kind: "Gizmo" }, { timeoutMs: 10, done: () => true }));
    assert.match(watch.message, /Gizmo/);

    const deployment = { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "argocd-server", namespace: "argocd" }, spec: { replicas: 1 } } as KubeObject;
    // As on a real API server: no Namespace, no namespaced object.
    const noNamespace = await userError(() => kube.apply([deployment]));
    assert.match(noNamespace.message, /HTTP 404: namespaces "argocd" not found/);
    await kube.apply([{ apiVersion: "v1", kind: "Namespace", metadata: { name: "argocd" } } as KubeObject]);
    await kube.apply([deployment]);
    const wait = await userError(() => waitForReady(kube, [deployment], { timeoutMs: 200, pollMs: 50 }));
    assert.is(wait.message, "timed out waiting for Deployment argocd-server to be ready");
    assert.match(wait.fix ?? "", /-n argocd describe deployment argocd-server, then re-run bootstrap \(it resumes\)/);
  } finally {
    await fake.close();
  }
});

test("kustomizations that are missing or do not render", async () => {
  const runner = createRunner();
  const missing = await userError(() => renderKustomization(runner, dir, "gitops/argocd"));
  assert.is(missing.message, "gitops/argocd does not exist in this checkout");
  mkdirSync(join(dir, "gitops/broken"), { recursive: true });
  writeFileSync(join(dir, "gitops/broken/kustomization.yaml"), "resources:\n  - nowhere.yaml\n");
  const broken = await userError(() => renderKustomization(runner, dir, "gitops/broken"));
  assert.match(broken.message, /^rendering gitops\/broken failed: /);
  assert.match(broken.fix ?? "", /run "kubectl kustomize gitops\/broken" to see the whole error/);
});

test("no Dockerfile for the app image", async () => {
  const error = await userError(() => buildAppImage(recordingRunner({}), dir));
  assert.is(error.message, "apps/giropops-senhas/Dockerfile is missing from this checkout");
});

test("an invalid minikube profile", async () => {
  const h = harness({ machine: healthyMachine({ minikubeProfiles: new Map([["giropops", "Invalid"]]) }) });
  assert.is(await bootstrap(["--cluster", "minikube", "--repo", REPO, "--revision", "main"], h.deps), 1);
  assert.match(h.output(), /minikube profile giropops is invalid/);
  assert.match(h.output(), /fix: minikube delete --profile giropops, then re-run/);
});

test("OpenTofu: a failing plan, an apply without cluster_id", async () => {
  const config = loadConfig({ env: { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa", PLATFORM_DOMAIN: "example.com" } });
  const ui = createUi({ streams: { out: new PassThrough(), err: new PassThrough(), input: new PassThrough() }, interactive: false });
  const failing = recordingRunner({ tofu: (args) => (args[1] === "plan" ? { code: 1, stderr: "Error: 401-NotAuthenticated" } : undefined) });
  const plan = await userError(() => oke.ensure({ config, runner: failing, ui, root: dir, yes: true }));
  assert.is(plan.message, "tofu plan failed in clusters/oke/tofu");
  assert.match(plan.fix ?? "", /OCI credentials: oci setup config/);
  const noOutput = recordingRunner({ tofu: (args) => (args[1] === "plan" ? { code: 2 } : args[1] === "output" ? { stdout: "{}" } : undefined) });
  const output = await userError(() => oke.ensure({ config, runner: noOutput, ui, root: dir, yes: true }));
  assert.is(output.message, "OpenTofu did not output cluster_id");
});

test("a password in .env that differs from the stored one is a warning; the stored one is kept", async () => {
  const fake = await startFakeKube();
  try {
    const kube = createKube({ context: fake.context, kubeconfigPath: fake.kubeconfigPath });
    const spec = { namespace: "giropops-senhas", name: "redis-auth", data: () => ({ password: "first-password-123" }), fromConfig: { key: "password", value: "second-password-456", env: "REDIS_PASSWORD" } };
    assert.is((await ensureSecret(kube, spec)).outcome, "created");
    const again = await ensureSecret(kube, spec);
    assert.is(again.outcome, "kept");
    assert.is(again.warning, "REDIS_PASSWORD differs from the value stored in giropops-senhas/redis-auth; the stored value is kept (delete the Secret and re-run to change it)");
    assert.is(Buffer.from(fake.get("Secret", "redis-auth")!.data.password, "base64").toString(), "first-password-123");
  } finally {
    await fake.close();
  }
});

test.run();
