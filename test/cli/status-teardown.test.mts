import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createKube } from "../../scripts/lib/kube.mts";
import { status } from "../../scripts/status.mts";
import { TFVARS_FILE } from "../../scripts/lib/clusters/oke.mts";
import { teardown } from "../../scripts/teardown.mts";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { FIXTURE_ROOT as REPO_FIXTURE_ROOT, harness, REPO, tempHome } from "../lib/cli-harness.mts";
import { FAKE_CA_SECRET } from "../lib/fake-argocd.mts";
import { healthyMachine, machineRunner, type Machine, type RecordingRunner } from "../lib/fake-runner.mts";
import { formatCommand, type RunResult } from "../../scripts/lib/runner.mts";

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
  assert.not.match(out, /DNS: point/, "kind needs no DNS: *.localhost is this machine");
  assert.match(out, /Argo CD: user admin, password: kubectl --context kind-giropops -n argocd get secret argocd-initial-admin-secret -o jsonpath=\{\.data\.password\} \| base64 -d/);
  assert.match(out, /Grafana: user admin, password: kubectl --context kind-giropops -n monitoring get secret grafana-admin -o jsonpath=\{\.data\.admin-password\} \| base64 -d/);
  assert.not.ok(out.includes("s3cr3t-value-xyz"));
  assert.equal(kube.requests.filter((r) => r.method !== "GET"), [], "status only reads");
});

test("status on OKE: the command that prints the load balancer's address to point DNS at", async () => {
  const oke = await startFakeKube({ context: "oke-giropops" });
  try {
    const crd = { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", metadata: { name: "applications.argoproj.io" }, spec: { group: "argoproj.io", names: { kind: "Application", plural: "applications" }, scope: "Namespaced", versions: [{ name: "v1alpha1" }] } };
    oke.put(crd);
    const env = { OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaatest", PLATFORM_DOMAIN: "giropops.example.com" };
    const h = harness({ env, overrides: { kube: (target) => createKube({ ...target, kubeconfigPath: oke.kubeconfigPath }) } });
    assert.is(await status(["--cluster", "oke"], h.deps), 0, h.output());
    const kubeconfig = join(REPO_FIXTURE_ROOT, "clusters/oke/giropops.kubeconfig");
    const line = h.output().split("\n").find((l) => l.startsWith("DNS: "));
    assert.is(
      line,
      "DNS: point argocd.giropops.example.com, grafana.giropops.example.com, senhas.giropops.example.com, locust.giropops.example.com (or *.giropops.example.com) " +
        `at the load balancer's address: kubectl --kubeconfig ${kubeconfig} --context oke-giropops -n traefik get svc traefik -o 'jsonpath={.status.loadBalancer.ingress[0].ip}'`,
    );
    assert.equal(oke.requests.filter((r) => r.method !== "GET"), [], "status only reads");
  } finally {
    await oke.close();
  }
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
  const urls = (text: string) => text.slice(text.indexOf("\nURLs"), text.indexOf("\nAlerts"));
  assert.is(urls(b.output()), urls(summary));
  // Where alerts go: before bootstrap there is no Secret to say; after it, both say nothing is set.
  const alerts = (text: string) => text.slice(text.indexOf("\nAlerts"), text.indexOf("\nNext")).trim();
  assert.match(alerts(summary), /alerts go nowhere: the Secret monitoring\/alert-destinations is missing \(run bootstrap\)/);
  const none = /alerts go nowhere: no destination set \(set ALERT_NTFY_URL, ALERT_SLACK_WEBHOOK_URL, ALERT_WEBHOOK_URL in \.env and re-run bootstrap\)/;
  assert.match(alerts(b.output()), none);
  const again = harness({ kube, home });
  await status([], again.deps);
  assert.is(alerts(again.output()), alerts(b.output().slice(b.output().indexOf("Applications (context"))));
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
    assert.match(down.output(), /cannot reach the Kubernetes API server https?:\/\/127\.0\.0\.1:\d+ \(context "kind-giropops"\): connection refused \(ECONNREFUSED\)/);
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

test("teardown: when it could not look (kind missing, Docker down, minikube or tofu missing, state unreadable) it says so and exits 1", async () => {
  const cases: [string[], Machine, RegExp, RegExp][] = [
    [["--cluster", "kind"], healthyMachine({ kindClusters: new Set(["giropops"]), tools: { ...healthyMachine().tools, kind: false } }), /could not check whether kind cluster giropops exists: kind is not installed/, /install kind/],
    [["--cluster", "kind"], healthyMachine({ kindClusters: new Set(["giropops"]), docker: "stopped" }), /could not check whether kind cluster giropops exists: kind get clusters failed \(ERROR: failed to list clusters: /, /start Docker/],
    [["--cluster", "minikube"], healthyMachine({ tools: { ...healthyMachine().tools, minikube: false } }), /could not check whether minikube profile giropops exists: minikube is not installed/, /install minikube/],
    [["--cluster", "oke", "--yes"], healthyMachine({ tofuApplied: true, tools: { ...healthyMachine().tools, tofu: false } }), /could not check the OpenTofu state in clusters\/oke\/tofu: tofu is not installed/, /install OpenTofu/],
    [["--cluster", "oke", "--yes"], healthyMachine({ tofuApplied: true, tofuStateError: 'Error: Backend initialization required, please run "tofu init"' }), /could not check the OpenTofu state in clusters\/oke\/tofu: tofu output -json failed \(Error: Backend initialization required/, /tofu -chdir=clusters\/oke\/tofu output -json/],
  ];
  for (const [argv, machine, message, fix] of cases) {
    const h = harness({ machine, env: OKE_ENV });
    assert.is(await teardown(argv, h.deps), 1, h.output());
    assert.match(h.output(), message);
    assert.match(h.output(), fix);
    assert.not.match(h.output(), /to delete|in the OpenTofu state/);
    assert.not.ok(h.runner.calls.some((c) => /^(kind delete|minikube delete|tofu \S+ destroy)/.test(c)), h.runner.calls.join("\n"));
  }
  // Nothing there, and it could look: exit 0 (minikube with no profiles at all prints empty lists).
  const none = harness({ machine: healthyMachine() });
  assert.is(await teardown(["--cluster", "minikube"], none.deps), 0, none.output());
  assert.match(none.output(), /no minikube profile giropops to delete/);
});

test("teardown: deletes the minikube profile by name", async () => {
  const machine = healthyMachine({ minikubeProfiles: new Map([["demo", "Running"]]) });
  const h = harness({ machine });
  assert.is(await teardown(["--cluster", "minikube", "--name", "demo"], h.deps), 0, h.output());
  assert.ok(h.runner.calls.includes("minikube delete --profile=demo"));
});

// No PLATFORM_DOMAIN: teardown never reads it.
const OKE_ENV = { OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaatest" };

test("teardown on OKE needs no PLATFORM_DOMAIN (status does), and reports its own missing settings at once", async () => {
  const machine = healthyMachine({ tofuApplied: true });
  const missing = harness({ machine, env: {} });
  assert.is(await teardown(["--cluster", "oke", "--yes", "--dry-run"], missing.deps), 1);
  assert.match(missing.output(), /OCI_REGION is required for --cluster oke[\s\S]*OCI_COMPARTMENT_OCID is required/);
  assert.not.match(missing.output(), /PLATFORM_DOMAIN/);
  const s = harness({ machine, env: OKE_ENV });
  assert.is(await status(["--cluster", "oke"], s.deps), 1);
  assert.match(s.output(), /PLATFORM_DOMAIN is required for --cluster oke/);
});

test("teardown on OKE: refuses without confirmation, destroys after one", async () => {
  const machine = healthyMachine({ tofuApplied: true });
  const root = mkdtempSync(join(tmpdir(), "giropops-oke-"));
  const overrides = { root };
  const refused = harness({ machine, env: OKE_ENV, overrides });
  assert.is(await teardown(["--cluster", "oke"], refused.deps), 1);
  assert.match(refused.output(), /Destroy OKE cluster giropops .* cannot ask without a terminal/);
  assert.match(refused.output(), /fix: re-run with --yes/);
  assert.not.ok(refused.runner.calls.some((c) => c.includes(" destroy ")));

  const declined = harness({ machine, env: OKE_ENV, stdin: "no\n", overrides });
  assert.is(await teardown(["--cluster", "oke"], declined.deps), 1);
  assert.match(declined.output(), /teardown cancelled: nothing was deleted/);

  const confirmed = harness({ machine, env: OKE_ENV, stdin: "yes\n", overrides });
  assert.is(await teardown(["--cluster", "oke"], confirmed.deps), 0, confirmed.output());
  assert.ok(confirmed.runner.calls.includes("tofu -chdir=clusters/oke/tofu destroy -input=false -auto-approve"));
  // The variables are in the file tofu reads itself, so a bare "tofu destroy" from a hint works too.
  assert.is(JSON.parse(readFileSync(join(root, TFVARS_FILE), "utf8")).region, "sa-saopaulo-1");
  assert.match(confirmed.output(), /destroyed OKE cluster giropops/);
  rmSync(root, { recursive: true, force: true });
});

test("teardown on OKE: a failed first apply (network in the state, no cluster) is destroyed too", async () => {
  const root = mkdtempSync(join(tmpdir(), "giropops-oke-"));
  const machine = healthyMachine({ tofuNetworkOnly: true });
  const h = harness({ machine, env: OKE_ENV, overrides: { root } });
  assert.is(await teardown(["--cluster", "oke", "--yes"], h.deps), 0, h.output());
  assert.ok(h.runner.calls.includes("tofu -chdir=clusters/oke/tofu destroy -input=false -auto-approve"));
  assert.not.ok(h.runner.calls.some((c) => c.startsWith("kubectl") || c.includes("create-kubeconfig")), "no cluster: nothing to drain");
  assert.match(h.output(), /destroyed OKE cluster giropops .*no cluster: nothing to drain/);
  assert.not.ok(machine.tofuNetworkOnly);
  // With nothing at all in the state there is nothing to do.
  const again = harness({ machine, env: OKE_ENV, overrides: { root } });
  assert.is(await teardown(["--cluster", "oke", "--yes"], again.deps), 0);
  assert.match(again.output(), /no OKE cluster giropops .* in the OpenTofu state/);
  assert.not.ok(again.runner.calls.some((c) => c.includes(" destroy ")));
  rmSync(root, { recursive: true, force: true });
});

/** An OKE workstation whose cluster answers kubectl: one LoadBalancer Service, one bound claim. */
function okeTeardownRunner(reachable: boolean): RecordingRunner {
  const inner = machineRunner(healthyMachine({ tofuApplied: true }));
  return {
    dryRun: false,
    calls: inner.calls,
    async run(command, args, options = {}) {
      if (command !== "kubectl" || args[0] !== "--kubeconfig") return inner.run(command, args, options);
      inner.calls.push(formatCommand(command, args.slice(4)));
      const rest = args.slice(4).join(" ");
      const reply: RunResult = { code: 0, stdout: "", stderr: "" };
      if (rest.startsWith("get --raw /readyz") && !reachable) Object.assign(reply, { code: 1, stderr: "Unable to connect to the server: dial tcp: i/o timeout" });
      else if (rest.startsWith("get services")) reply.stdout = "traefik traefik\n";
      else if (rest.startsWith("get persistentvolumeclaims")) reply.stdout = "giropops-senhas csi-5e1f\n";
      return reply;
    },
  };
}

test("teardown on OKE: stops Argo CD, deletes load balancers and volumes (waiting), then destroys", async () => {
  const root = mkdtempSync(join(tmpdir(), "giropops-oke-"));
  try {
    const kubeconfig = join(root, "clusters/oke/giropops.kubeconfig");
    mkdirSync(join(root, "clusters/oke"), { recursive: true });
    writeFileSync(kubeconfig, "apiVersion: v1\nkind: Config\n");
    const runner = okeTeardownRunner(true);
    const h = harness({ env: OKE_ENV, overrides: { root, runner } });
    assert.is(await teardown(["--cluster", "oke", "--yes"], h.deps), 0, h.output());
    const steps = runner.calls.filter((c) => c.startsWith("kubectl") || c.includes(" destroy "));
    assert.equal(steps.slice(0, -1), [
      "kubectl get --raw /readyz --request-timeout=20s",
      "kubectl -n argocd scale statefulset argocd-application-controller --replicas=0",
      "kubectl -n argocd wait --for=delete pod -l app.kubernetes.io/name=argocd-application-controller --timeout=10m",
      `kubectl get services --all-namespaces -o 'jsonpath={range .items[?(@.spec.type=="LoadBalancer")]}{.metadata.namespace}{" "}{.metadata.name}{"\\n"}{end}'`,
      "kubectl -n traefik delete service traefik --ignore-not-found --wait --timeout=10m",
      `kubectl get persistentvolumeclaims --all-namespaces -o 'jsonpath={range .items[*]}{.metadata.namespace}{" "}{.spec.volumeName}{"\\n"}{end}'`,
      "kubectl -n giropops-senhas delete statefulsets,deployments --all --cascade=foreground --wait --timeout=10m",
      "kubectl -n giropops-senhas delete persistentvolumeclaims --all --wait --timeout=10m",
      "kubectl wait --for=delete persistentvolume/csi-5e1f --timeout=10m",
    ]);
    assert.match(steps.at(-1)!, /^tofu -chdir=clusters\/oke\/tofu destroy /, "destroy comes last");
    assert.match(h.output(), /destroyed OKE cluster giropops .*deleted 1 load balancer\(s\) and 1 volume claim\(s\) first/);
    assert.not.ok(existsSync(kubeconfig), "its kubeconfig goes with it");
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("teardown on OKE: an unreachable cluster is noted, nothing deleted through it, destroy still runs", async () => {
  const root = mkdtempSync(join(tmpdir(), "giropops-oke-"));
  try {
    mkdirSync(join(root, "clusters/oke"), { recursive: true });
    writeFileSync(join(root, "clusters/oke/giropops.kubeconfig"), "apiVersion: v1\nkind: Config\n");
    const runner = okeTeardownRunner(false);
    const h = harness({ env: OKE_ENV, overrides: { root, runner } });
    assert.is(await teardown(["--cluster", "oke", "--yes"], h.deps), 0, h.output());
    assert.not.ok(runner.calls.some((c) => / (scale|delete) /.test(c) && c.startsWith("kubectl")));
    assert.ok(runner.calls.some((c) => c.includes(" destroy ")));
    assert.match(h.output(), /Cannot reach OKE cluster giropops .*Network load balancers.*Block volumes/);
    assert.match(h.output(), /cluster unreachable: skipped deleting load balancers and volumes/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("teardown --dry-run prints the delete and runs it not", async () => {
  const machine = healthyMachine({ kindClusters: new Set(["giropops"]) });
  const h = harness({ machine });
  assert.is(await teardown(["--cluster", "kind", "--dry-run"], h.deps), 0);
  assert.match(h.output(), /would run: kind delete cluster --name giropops/);
  assert.ok(machine.kindClusters.has("giropops"));
});

test.run();
