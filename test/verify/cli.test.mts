// verify as a person runs it: real `npx zx scripts/verify.mts` processes, against
// the shared fake Kubernetes API server (test/lib/fake-kube.mts) where a cluster is needed.
import { spawn } from "node:child_process";
import { createServer, type AddressInfo } from "node:net";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { CHECKS } from "../../scripts/lib/verify/index.mts";
import { startFakeKube, writeKubeconfig, type FakeKube } from "../lib/fake-kube.mts";
import { fixture, REPO_ROOT } from "./lib/api-server.mts";

type Run = { code: number | null; stdout: string; stderr: string[] };

function verify(args: string[], env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolve) => {
    const child = spawn("npx", ["--no-install", "zx", "scripts/verify.mts", ...args], {
      cwd: REPO_ROOT,
      // The Node running this test (24) first, as .ci/run does; no .env from the checkout.
      env: { ...process.env, PATH: `${dirname(process.execPath)}:${process.env.PATH}`, NO_COLOR: "1", CI: "1", KUBECONFIG: join(tmpdir(), "no-such-kubeconfig"), ...env },
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    // npm's notices about the user's npmrc are not ours.
    child.on("close", (code) => resolve({ code, stdout, stderr: stderr.split("\n").filter((l) => l && !/^npm (warn|notice)/.test(l)) }));
  });
}

test("--help lists every flag and every check, and exits 0", async () => {
  const { code, stdout } = await verify(["--help"]);
  assert.is(code, 0);
  for (const flag of ["--cluster", "--name", "--only", "--gitops-roundtrip", "--chaos", "--ca-file", "--help"]) assert.ok(stdout.includes(flag), flag);
  for (const check of CHECKS) assert.ok(stdout.includes(check.name), check.name);
});

test("a bad flag is one line and exit code 2, no stack trace", async () => {
  const { code, stdout, stderr } = await verify(["--frobnicate"]);
  assert.is(code, 2);
  assert.equal(stderr, [`error: Unknown option '--frobnicate'; run "npx zx scripts/verify.mts --help" for the options`]);
  assert.is(stdout, "");
});

test("an unknown --only check, or an opt-in one without its flag, is refused before touching the cluster", async () => {
  const unknown = await verify(["--only", "argocd,dns"]);
  assert.is(unknown.code, 2);
  assert.match(unknown.stderr[0] ?? "", /^error: --only argocd,dns: unknown check dns$/);
  const optIn = await verify(["--only", "gitops-roundtrip"]);
  assert.is(optIn.code, 2);
  assert.match(optIn.stderr[0] ?? "", /needs --gitops-roundtrip/);
});

test("an unreachable cluster is one clear line (and its fix), exit 1", async () => {
  const port = await new Promise<number>((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(join(tmpdir(), "verify-cli-"));
  try {
    const kubeconfig = join(dir, "kubeconfig");
    writeKubeconfig(kubeconfig, `https://127.0.0.1:${port}`);
    const { code, stderr } = await verify([], { KUBECONFIG: kubeconfig });
    assert.is(code, 1);
    assert.match(stderr[0] ?? "", /^error: cannot reach the Kubernetes API server https:\/\/127\.0\.0\.1:\d+ \(context "kind-giropops"\): connection refused \(ECONNREFUSED\)$/);
    assert.match(stderr[1] ?? "", /^\s+fix: /);
    assert.is(stderr.length, 2, stderr.join("\n"));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

let kube: FakeKube | undefined;
test.after.each(async () => {
  await kube?.close();
  kube = undefined;
});

const crd = (group: string, version: string, kind: string, plural: string) => ({
  apiVersion: "apiextensions.k8s.io/v1",
  kind: "CustomResourceDefinition",
  metadata: { name: `${plural}.${group}` },
  spec: { group, scope: "Namespaced", names: { kind, plural }, versions: [{ name: version, served: true, storage: true }] },
});

/** A cluster where Argo CD is fine and the HPA has no metrics (metrics-server missing). */
async function cluster(): Promise<FakeKube> {
  const fake = await startFakeKube();
  fake.put(crd("argoproj.io", "v1alpha1", "Application", "applications"));
  // The fake serves only what it has a definition for; autoscaling/v2 is registered the same way.
  fake.put(crd("autoscaling", "v2", "HorizontalPodAutoscaler", "horizontalpodautoscalers"));
  for (const app of fixture("argocd-applications-healthy.json").items) fake.put(app);
  fake.put(fixture("argocd-server-deployment.json"));
  fake.put(fixture("hpa-list-no-metrics.json").items[0]);
  return fake;
}

test("one failed check: each check printed with its evidence, the summary names the failure, exit 1", async () => {
  kube = await cluster();
  const { code, stdout, stderr } = await verify(["--only", "argocd,hpa"], { KUBECONFIG: kube.kubeconfigPath });
  assert.is(code, 1, `${stdout}\n${stderr.join("\n")}`);
  assert.match(stdout, /✔ PASS argocd: 13 Applications Synced and Healthy, Argo CD manages itself/);
  assert.match(stdout, /argocd-server argocd\.argoproj\.io\/tracking-id: argocd:apps\/Deployment:argocd\/argocd-server/);
  assert.match(stdout, /✖ FAIL hpa: the HPA has no current metrics/);
  assert.match(stdout, /dig in: kubectl --context kind-giropops -n giropops-senhas describe hpa/);
  assert.match(stdout, /\n1 passed, 1 failed \(hpa\)\n/);
  assert.equal(stdout.match(/(PASS|FAIL) [\w-]+/g), ["PASS argocd", "FAIL hpa"], "--only runs only what was asked");
});

test("every selected check passing exits 0", async () => {
  kube = await cluster();
  const { code, stdout } = await verify(["--only", "argocd"], { KUBECONFIG: kube.kubeconfigPath });
  assert.is(code, 0, stdout);
  assert.match(stdout, /\n1 passed, 0 failed\n/);
});

test.run();
