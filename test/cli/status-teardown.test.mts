import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKube } from "../../scripts/lib/kube.mts";
import { status } from "../../scripts/status.mts";
import { teardown } from "../../scripts/teardown.mts";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { harness, REPO, tempHome } from "../lib/cli-harness.mts";
import { FAKE_CA_SECRET } from "../lib/fake-argocd.mts";
import { healthyMachine } from "../lib/fake-runner.mts";

let kube: FakeKube;
test.before.each(async () => {
  kube = await startFakeKube({ context: "kind-giropops" });
});
test.after.each(async () => {
  await kube.close();
});

function installArgoCdWithApps() {
  kube.put({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "applications.argoproj.io" },
    spec: { group: "argoproj.io", names: { kind: "Application", plural: "applications" }, scope: "Namespaced", versions: [{ name: "v1alpha1" }] },
  });
  const app = (name: string, sync: string, health: string) =>
    kube.put({ apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name, namespace: "argocd" }, spec: {}, status: { sync: { status: sync, revision: "0123456789abcdef" }, health: { status: health } } });
  app("root", "Synced", "Healthy");
  app("monitoring", "OutOfSync", "Progressing");
  app("gateway", "Synced", "Healthy");
}

test("status: a table of Applications, the URLs and the login commands (never a password)", async () => {
  installArgoCdWithApps();
  kube.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "grafana-admin", namespace: "monitoring" }, data: { "admin-password": Buffer.from("s3cr3t-value-xyz").toString("base64") } });
  const h = harness({ kube });
  assert.is(await status([], h.deps), 0, h.output());
  const out = h.output();
  assert.match(out, /NAME\s+SYNC\s+HEALTH\s+REVISION\nroot\s+Synced\s+Healthy\s+0123456\ngateway\s+Synced\s+Healthy\s+0123456\nmonitoring\s+OutOfSync\s+Progressing\s+0123456/);
  for (const host of ["argocd", "grafana", "prometheus", "alertmanager", "senhas", "locust"]) assert.match(out, new RegExp(`https://${host}\\.localhost`));
  assert.match(out, /Argo CD: user admin, password: kubectl --context kind-giropops -n argocd get secret argocd-initial-admin-secret -o jsonpath=\{\.data\.password\} \| base64 -d/);
  assert.match(out, /Grafana: user admin, password: kubectl --context kind-giropops -n monitoring get secret grafana-admin -o jsonpath=\{\.data\.admin-password\} \| base64 -d/);
  assert.not.ok(out.includes("s3cr3t-value-xyz"));
  assert.equal(kube.requests.filter((r) => r.method !== "GET"), [], "status only reads");
});

test("status and bootstrap end with the same summary (shared code)", async () => {
  const home = tempHome();
  const h = harness({ kube, home });
  installArgoCdWithApps();
  await status([], h.deps);
  const summary = h.output().slice(h.output().indexOf("Applications (context"));
  // bootstrap's summary on the same state, from a re-run that finds everything in place
  kube.put({ apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name: "monitoring", namespace: "argocd" }, status: { sync: { status: "Synced" }, health: { status: "Healthy" } } });
  kube.put(FAKE_CA_SECRET);
  const b = harness({ kube, home, machine: healthyMachine({ kindClusters: new Set(["giropops"]) }) });
  await bootstrap(["--repo", REPO, "--revision", "main"], b.deps);
  assert.match(b.output(), /Applications \(context kind-giropops\)/);
  const urls = (text: string) => text.slice(text.indexOf("\nURLs"), text.indexOf("\nNext"));
  assert.is(urls(b.output()), urls(summary));
});

test("status without Argo CD, or without a reachable cluster, says what to do", async () => {
  const h = harness({ kube });
  assert.is(await status([], h.deps), 1);
  assert.match(h.output(), /Argo CD is not installed on context "kind-giropops"/);
  assert.match(h.output(), /fix: run npx zx scripts\/bootstrap\.mts/);

  // the same kubeconfig, with nothing listening behind it any more
  const dir = mkdtempSync(join(tmpdir(), "giropops-down-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  writeFileSync(kubeconfigPath, readFileSync(kube.kubeconfigPath));
  await kube.close();
  try {
    const down = harness({ overrides: { kube: (target) => createKube({ ...target, kubeconfigPath }) } });
    assert.is(await status([], down.deps), 1);
    assert.match(down.output(), /cannot reach the cluster behind context "kind-giropops": ECONNREFUSED/);
    assert.match(down.output(), /fix: check it is running \(kubectl .*--context kind-giropops get nodes\)/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    kube = await startFakeKube(); // for after.each
  }
});

test("teardown: deletes the kind cluster, and is fine when it is already gone", async () => {
  const machine = healthyMachine({ kindClusters: new Set(["giropops"]) });
  const h = harness({ machine });
  assert.is(await teardown(["--cluster", "kind"], h.deps), 0, h.output());
  assert.ok(h.runner.calls.includes("kind delete cluster --name giropops"));
  assert.match(h.output(), /deleted kind cluster giropops/);
  const again = harness({ machine });
  assert.is(await teardown(["--cluster", "kind"], again.deps), 0);
  assert.not.ok(again.runner.calls.some((c) => c.startsWith("kind delete")));
  assert.match(again.output(), /no kind cluster giropops to delete/);
});

test("teardown: deletes the minikube profile by name", async () => {
  const machine = healthyMachine({ minikubeProfiles: new Map([["demo", "Running"]]) });
  const h = harness({ machine });
  assert.is(await teardown(["--cluster", "minikube", "--name", "demo"], h.deps), 0, h.output());
  assert.ok(h.runner.calls.includes("minikube delete --profile=demo"));
});

const OKE_ENV = { OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaatest", PLATFORM_DOMAIN: "example.com" };

test("teardown on OKE: refuses without confirmation, destroys after one", async () => {
  const machine = healthyMachine({ tofuApplied: true });
  const refused = harness({ machine, env: OKE_ENV });
  assert.is(await teardown(["--cluster", "oke"], refused.deps), 1);
  assert.match(refused.output(), /Destroy OKE cluster giropops .* cannot ask without a terminal/);
  assert.match(refused.output(), /fix: re-run with --yes/);
  assert.not.ok(refused.runner.calls.some((c) => c.includes(" destroy ")));

  const declined = harness({ machine, env: OKE_ENV, stdin: "no\n" });
  assert.is(await teardown(["--cluster", "oke"], declined.deps), 1);
  assert.match(declined.output(), /teardown cancelled: nothing was deleted/);

  const confirmed = harness({ machine, env: OKE_ENV, stdin: "yes\n" });
  assert.is(await teardown(["--cluster", "oke"], confirmed.deps), 0, confirmed.output());
  assert.ok(confirmed.runner.calls.some((c) => c.startsWith("tofu -chdir=clusters/oke/tofu destroy -input=false -auto-approve -var region=sa-saopaulo-1")));
  assert.match(confirmed.output(), /destroyed OKE cluster giropops/);
});

test("teardown --dry-run prints the delete and runs it not", async () => {
  const machine = healthyMachine({ kindClusters: new Set(["giropops"]) });
  const h = harness({ machine });
  assert.is(await teardown(["--cluster", "kind", "--dry-run"], h.deps), 0);
  assert.match(h.output(), /would run: kind delete cluster --name giropops/);
  assert.ok(machine.kindClusters.has("giropops"));
});

test.run();
