import { test } from "uvu";
import * as assert from "uvu/assert";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { REPO_ROOT } from "../../scripts/lib/runtime.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { simulateArgoCd, type ChildPlan } from "../lib/fake-argocd.mts";
import { FIXTURE_ROOT, harness, REPO } from "../lib/cli-harness.mts";
import { TFVARS_FILE } from "../../scripts/lib/clusters/oke.mts";
import { OKE_CLUSTER_ID, OKE_NODE_POOL_ID, fakeOciOnPath, healthyMachine, type Machine } from "../lib/fake-runner.mts";
import { OKE_APP_OVERLAY } from "../../scripts/lib/image.mts";

const DIGEST = `sha256:${"d".repeat(64)}`;
/** clusters/oke/giropops-senhas/kustomization.yaml's images: entry, as git has it or as image.yml rewrites it. */
const overlay = (entry: Record<string, string>) =>
  `resources: [../../../apps/giropops-senhas/deploy/app]\nimages:\n  - ${JSON.stringify({ name: "ghcr.io/giropops/giropops-senhas", ...entry })}\n`;

let kube: FakeKube;
let argo: { stop(): void };
let root: string;
test.before.each(async () => {
  root = mkdtempSync(join(tmpdir(), "giropops-root-"));
  cpSync(FIXTURE_ROOT, root, { recursive: true, dereference: true });
  mkdirSync(join(root, "clusters/oke/tofu"), { recursive: true });
  // OKE's hostnames set to PLATFORM_DOMAIN as its README says (preflight compares them).
  mkdirSync(join(root, "clusters/oke/patches"), { recursive: true });
  const domains = readFileSync(join(REPO_ROOT, "clusters/oke/patches/domain.yaml"), "utf8").replaceAll("example.com", OKE_ENV.PLATFORM_DOMAIN!);
  writeFileSync(join(root, "clusters/oke/patches/domain.yaml"), domains);
  // The overlay as image.yml leaves it after its first run on main (digest, no newName for the giropops owner).
  mkdirSync(join(root, "clusters/oke/giropops-senhas"), { recursive: true });
  writeFileSync(join(root, OKE_APP_OVERLAY), overlay({ digest: DIGEST }));
  writeFileSync(join(root, "oci-config"), "[DEFAULT]\nuser=ocid1.user.oc1..aaaatest\nregion=sa-saopaulo-1\n");
  OKE_ENV.OCI_CLI_CONFIG_FILE = join(root, "oci-config");
});
test.after.each(async () => {
  argo?.stop();
  await kube?.close();
  rmSync(root, { recursive: true, force: true });
});

const setup = async (context: string) => {
  kube = await startFakeKube({ context });
  argo = simulateArgoCd(kube, [{ name: "gateway", healthyAfter: 2 }]);
};

/** Commands that change something (reads and version probes left out). */
const changing = (calls: string[]) =>
  calls.filter((c) => !/^(git |docker --version|docker info|docker image inspect|minikube image ls|kind version|kind get|minikube version|minikube profile|kubectl version|kubectl kustomize|tofu version|oci --version|oci ce node-pool get|tofu -chdir=\S+ (output|state list))/.test(c));

// ------------------------------------------------------------------ minikube

const MINIKUBE = ["--cluster", "minikube", "--repo", REPO, "--revision", "main", "--timeout", "20s"];

test("minikube: a new profile from clusters/minikube/profile.yaml, the image loaded, the profile's context used", async () => {
  await setup("giropops");
  const machine = healthyMachine();
  const h = harness({ kube, machine, overrides: { root } });
  assert.is(await bootstrap(MINIKUBE, h.deps), 0, h.output());
  assert.equal(changing(h.runner.calls), [
    "minikube start --profile=giropops --keep-context --driver=docker --cni=calico --cpus=4 --memory=6144mb --kubernetes-version=v1.34.0 --ports=127.0.0.1:80:30080,127.0.0.1:443:30443",
    "docker build -f apps/giropops-senhas/Dockerfile -t ghcr.io/giropops/giropops-senhas:dev .",
    "minikube image load ghcr.io/giropops/giropops-senhas:dev --profile=giropops",
  ]);
  assert.ok(kube.get("Application", "root", "argocd"));
  assert.is(kube.get("Application", "root", "argocd")!.spec.source.path, "clusters/minikube");

  const again = harness({ kube, machine, overrides: { root } });
  assert.is(await bootstrap(MINIKUBE, again.deps), 0, again.output());
  assert.not.ok(again.runner.calls.some((c) => c.startsWith("minikube start")), "profile not started twice");
  assert.not.ok(again.runner.calls.some((c) => c.startsWith("minikube image load")), "the same build is not loaded twice");
  // a new build is loaded again
  machine.localImageId = "9".repeat(64);
  const rebuilt = harness({ kube, machine, overrides: { root } });
  assert.is(await bootstrap(MINIKUBE, rebuilt.deps), 0, rebuilt.output());
  assert.ok(rebuilt.runner.calls.includes("minikube image load ghcr.io/giropops/giropops-senhas:dev --profile=giropops"));
  assert.match(again.output(), /reused minikube profile giropops/);
});

test("minikube: a stopped profile is started as it is (its settings kept)", async () => {
  await setup("giropops");
  const machine = healthyMachine({ minikubeProfiles: new Map([["giropops", "Stopped"]]) });
  const h = harness({ kube, machine, overrides: { root } });
  assert.is(await bootstrap(MINIKUBE, h.deps), 0, h.output());
  assert.ok(h.runner.calls.includes("minikube start --profile=giropops --keep-context"));
  assert.match(h.output(), /started minikube profile giropops/);
});

// ------------------------------------------------------------------ OKE

const OKE_ENV: Record<string, string> = {
  OCI_REGION: "sa-saopaulo-1",
  OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaatest",
  PLATFORM_DOMAIN: "giropops.example.com",
};
const OKE = ["--cluster", "oke", "--repo", REPO, "--revision", "main", "--timeout", "20s"];

function okeMachine(): Machine {
  return healthyMachine({ okeServer: kube.url });
}

// kubectl and the Kubernetes client run the kubeconfig's token command: this `oci` answers it and logs its arguments.
const OCI_LOG = join(mkdtempSync(join(tmpdir(), "giropops-oci-")), "calls.log");
fakeOciOnPath(join(OCI_LOG, "../bin"), OCI_LOG);
const tokenCalls = () => (existsSync(OCI_LOG) ? readFileSync(OCI_LOG, "utf8").trim().split("\n").filter(Boolean) : []);

test("oke: tofu plan shown, applied with --yes, kubeconfig written by the OCI CLI and its context named", async () => {
  await setup("oke-giropops");
  const machine = okeMachine();
  const h = harness({ kube, machine, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 0, h.output());
  const file = join(root, "clusters/oke/giropops.kubeconfig");
  assert.equal(JSON.parse(readFileSync(join(root, TFVARS_FILE), "utf8")), {
    region: "sa-saopaulo-1",
    compartment_ocid: "ocid1.compartment.oc1..aaaatest",
    oci_profile: "DEFAULT",
    cluster_name: "giropops",
    kubernetes_version: "v1.34.1",
    node_count: 2,
    node_ocpus: 1,
    node_memory_gb: 6,
    free_tier: { ocpus: 2, memory_gb: 12 },
    api_allowed_cidrs: ["0.0.0.0/0"],
  }, "every variable in the file tofu reads on its own: a hint's bare tofu command works as printed");
  assert.equal(changing(h.runner.calls), [
    "tofu -chdir=clusters/oke/tofu init -input=false",
    "tofu -chdir=clusters/oke/tofu plan -input=false -detailed-exitcode -out=giropops.tfplan",
    "tofu -chdir=clusters/oke/tofu apply -input=false giropops.tfplan",
    `oci ce cluster create-kubeconfig --cluster-id ${OKE_CLUSTER_ID} --file ${file} --region sa-saopaulo-1 --token-version 2.0.0 --kube-endpoint PUBLIC_ENDPOINT --with-auth-context --profile DEFAULT`,
    `kubectl config rename-context context-${OKE_CLUSTER_ID.slice(-11)} oke-giropops --kubeconfig ${file}`,
    `kubectl --kubeconfig ${file} --context oke-giropops wait --for=condition=Ready nodes --all --timeout=60s`,
  ]);
  assert.ok(h.runner.calls.some((c) => c.startsWith(`oci ce node-pool get --node-pool-id ${OKE_NODE_POOL_ID} --region sa-saopaulo-1 --profile DEFAULT`)), "the nodes are checked in OCI before Kubernetes is asked");
  assert.match(readFileSync(file, "utf8"), /oke-giropops/);
  assert.match(h.output(), /Plan: 14 to add/, "the plan is shown");
  assert.not.ok(h.runner.calls.some((c) => c.startsWith("docker") || c.includes("image load")), "OKE pulls the image from the registry");
  assert.match(h.output(), /https:\/\/grafana\.giropops\.example\.com/);
  assert.match(h.output(), /--context oke-giropops --kubeconfig \S+giropops\.kubeconfig/);

  const again = harness({ kube, machine, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap(OKE, again.deps), 0, again.output());
  assert.equal(changing(again.runner.calls), [
    "tofu -chdir=clusters/oke/tofu init -input=false",
    "tofu -chdir=clusters/oke/tofu plan -input=false -detailed-exitcode -out=giropops.tfplan",
    `kubectl --kubeconfig ${file} --context oke-giropops wait --for=condition=Ready nodes --all --timeout=60s`,
  ]);
  assert.match(again.output(), /reused OKE cluster giropops \(sa-saopaulo-1\) \(no infrastructure changes\)/);
});

test("oke: OCI_CLI_PROFILE reaches the kubeconfig's token command; a kubeconfig of an older cluster or another profile is rewritten", async () => {
  await setup("oke-giropops");
  writeFileSync(OKE_ENV.OCI_CLI_CONFIG_FILE!, "[DEFAULT]\nuser=ocid1.user.oc1..aaaatest\n[WORK]\nuser=ocid1.user.oc1..aaaawork\n");
  const machine = okeMachine();
  const work = { ...OKE_ENV, OCI_CLI_PROFILE: "WORK" };
  const h = harness({ kube, machine, env: work, overrides: { root } });
  const before = tokenCalls().length;
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 0, h.output());
  const calls = tokenCalls().slice(before);
  assert.ok(calls.length > 0, "the Kubernetes calls ran the token command");
  for (const call of calls) assert.is(call, `ce cluster generate-token --cluster-id ${OKE_CLUSTER_ID} --region sa-saopaulo-1 --profile WORK`);
  // oci-cli 3.51.9 has no --with-auth-context (CHANGELOG.rst: added in 3.52.0).
  const old = okeMachine();
  old.tools.oci = "3.51.9";
  const tooOld = harness({ kube, machine: old, env: work, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], tooOld.deps), 1);
  assert.match(tooOld.output(), /oci 3\.51\.9 is too old \(need >= 3\.52\.0\)/);
  // kubectl two minors newer than the cluster's Kubernetes (v1.34.1) is outside the supported skew.
  const skewed = okeMachine();
  skewed.tools.kubectl = "Client Version: v1.36.2\nKustomize Version: v5.7.1";
  const skew = harness({ kube, machine: skewed, env: work, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], skew.deps), 1);
  assert.match(skew.output(), /kubectl 1\.36\.2 is outside the version skew Kubernetes supports for the OKE cluster \(OKE_KUBERNETES_VERSION\) \(v1\.34\.1: kubectl 1\.33 to 1\.35\)/);
  assert.match(skew.output(), /fix: install kubectl 1\.34/);
  const writes = (r: { calls: string[] }) => r.calls.filter((c) => c.includes("create-kubeconfig")).length;

  // Same cluster, same profile: the file is kept.
  const same = harness({ kube, machine, env: work, overrides: { root } });
  assert.is(await bootstrap(OKE, same.deps), 0, same.output());
  assert.is(writes(same.runner), 0);
  // Another profile: rewritten.
  const other = harness({ kube, machine, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap(OKE, other.deps), 0, other.output());
  assert.is(writes(other.runner), 1);
  // The cluster destroyed and created again under the same name: a new OCID, rewritten.
  machine.okeClusterId = OKE_CLUSTER_ID.replace("c123", "c456");
  const recreated = harness({ kube, machine, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap(OKE, recreated.deps), 0, recreated.output());
  assert.is(writes(recreated.runner), 1);
  assert.match(readFileSync(join(root, "clusters/oke/giropops.kubeconfig"), "utf8"), /c456/);
});

test("oke: out of host capacity, at apply or on a node after it, stops with its own message and what to do", async () => {
  await setup("oke-giropops");
  // The provider fails the node pool's work request with OCI's message (the pool is deleted again);
  // the words as Rapha-Borges/oke-free's README troubleshooting section quotes them.
  const apply = okeMachine();
  apply.tofuApplyError = "Error: 500-InternalError, Out of host capacity.\nSuggestion: The service for this resource encountered an error.";
  const h = harness({ kube, machine: apply, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 1);
  assert.match(h.output(), /OCI is out of host capacity for VM\.Standard\.A1\.Flex in sa-saopaulo-1/);
  assert.match(h.output(), /fix: Always Free A1 capacity comes and goes: re-run bootstrap later .*Pay As You Go.*home region/);
  assert.not.ok(h.runner.calls.some((c) => c.includes("create-kubeconfig")));

  // The apply "succeeds" with a NEEDS_ATTENTION pool whose node never started.
  const needs = okeMachine();
  needs.okeNodePoolState = "NEEDS_ATTENTION";
  needs.okeNodes = [{ state: "ACTIVE" }, { state: "FAILING", error: "Out of host capacity." }];
  const n = harness({ kube, machine: needs, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], n.deps), 1);
  assert.match(n.output(), /OCI is out of host capacity/);
  assert.not.ok(n.runner.calls.some((c) => c.includes(" wait --for=condition=Ready nodes")), "Argo CD is not installed on a pool that never came up");

  // Another node failure: OCI's reason, and where to look.
  const other = okeMachine();
  other.okeNodePoolState = "NEEDS_ATTENTION";
  other.okeNodes = [{ state: "ACTIVE" }, { state: "FAILING", error: "Node failed to register with the cluster" }];
  const o = harness({ kube, machine: other, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], o.deps), 1);
  assert.match(o.output(), /the node pool is NEEDS_ATTENTION: Node failed to register with the cluster/);
  assert.match(o.output(), /fix: look at the node pool in the OCI console/);
});

test("oke: bootstrap waits while the nodes are CREATING and goes on once every node is ACTIVE", async () => {
  await setup("oke-giropops");
  const machine = okeMachine();
  machine.okeNodes = [{ state: "CREATING" }, { state: "CREATING" }];
  const h = harness({ kube, machine, env: OKE_ENV, overrides: { root } });
  let polls = 0;
  const inner = h.runner.run.bind(h.runner);
  h.runner.run = async (command, args, options) => {
    if (command === "oci" && args[1] === "node-pool" && ++polls === 3) machine.okeNodes = [{ state: "ACTIVE" }, { state: "ACTIVE" }];
    return inner(command, args, options);
  };
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 0, h.output());
  assert.is(polls, 3);
  assert.match(h.output(), /2 node\(s\) ACTIVE in OCI and Ready in Kubernetes/);
});

test("oke: the load balancer's address and DNS records are printed once it exists; a Degraded traefik (waiting on DNS) is waited for", async () => {
  kube = await startFakeKube({ context: "oke-giropops" });
  // traefik stays Degraded until "DNS" is in place; grace 0 would end any other app's wait at once.
  const traefik: ChildPlan = { name: "traefik", stuck: { health: "Degraded" } };
  argo = simulateArgoCd(kube, [traefik, { name: "monitoring", healthyAfter: 1 }]);
  // What the cloud controller writes once the network load balancer exists.
  kube.put({ apiVersion: "v1", kind: "Service", metadata: { name: "traefik", namespace: "traefik" }, spec: { type: "LoadBalancer" }, status: { loadBalancer: { ingress: [{ ip: "203.0.113.10", ipMode: "VIP" }] } } });
  const h = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root, degradedGraceMs: 0 } });
  // A long timeout: only the end of the wait is under test, and a loaded machine is slow to reach it.
  const running = bootstrap([...OKE.slice(0, -1), "120s", "--yes"], h.deps);
  const started = Date.now();
  while (!/203\.0\.113\.10/.test(h.output()) && Date.now() - started < 90_000) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 300));
  delete traefik.stuck; // the records resolve, the certificate is issued
  assert.is(await running, 0, h.output());
  assert.match(h.output(), /The load balancer's address is 203\.0\.113\.10\. Create these DNS records now/);
  for (const host of ["argocd", "grafana", "senhas", "locust"]) assert.match(h.output(), new RegExp(`${host}\\.giropops\\.example\\.com  A  203\\.0\\.113\\.10`));
  assert.not.match(h.output(), /prometheus\.giropops\.example\.com  A/, "not published on OKE");
  assert.match(h.output(), /\*\.giropops\.example\.com  A  203\.0\.113\.10/);
  assert.is(h.output().match(/The load balancer's address is/g)!.length, 1, "printed once");
});

test("oke: an app other than traefik that stays Degraded still ends the wait after the grace", async () => {
  kube = await startFakeKube({ context: "oke-giropops" });
  argo = simulateArgoCd(kube, [{ name: "monitoring", stuck: { health: "Degraded" } }]);
  const h = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root, degradedGraceMs: 0 } });
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 1);
  assert.match(h.output(), /monitoring is Degraded/);
});

test("oke --dry-run: says what it would write and apply, writes and applies nothing", async () => {
  await setup("oke-giropops");
  const machine = okeMachine();
  const h = harness({ kube, machine, env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--dry-run"], h.deps), 0, h.output());
  assert.match(h.output(), /would write clusters\/oke\/tofu\/giropops\.auto\.tfvars\.json: \{"region":"sa-saopaulo-1"/);
  assert.match(h.output(), /would run: tofu -chdir=clusters\/oke\/tofu apply -input=false giropops\.tfplan/);
  assert.match(h.output(), /would wait until the node pool's 2 nodes are ACTIVE and Ready/);
  assert.not.ok(existsSync(join(root, TFVARS_FILE)));
  assert.not.ok(machine.tofuApplied);
});

test("oke: CLOUDFLARE_API_TOKEN becomes Secret cert-manager/cloudflare-api-token, never printed, kept on re-run", async () => {
  await setup("oke-giropops");
  const machine = okeMachine();
  const token = "cf-token-0123456789abcdefghij";
  const h = harness({ kube, machine, env: { ...OKE_ENV, CLOUDFLARE_API_TOKEN: token }, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 0, h.output());
  const secret = kube.get("Secret", "cloudflare-api-token", "cert-manager")!;
  assert.is(Buffer.from(secret.data["api-token"], "base64").toString(), token);
  assert.match(h.output(), /cert-manager\/cloudflare-api-token created/);
  assert.not.ok(h.output().includes(token), "the token is never printed");
  assert.not.ok(h.output().includes("ca.crt"), "OKE has no local CA");

  const again = harness({ kube, machine, env: { ...OKE_ENV, CLOUDFLARE_API_TOKEN: "cf-token-another-value-000000" }, overrides: { root } });
  assert.is(await bootstrap(OKE, again.deps), 0, again.output());
  assert.is(Buffer.from(kube.get("Secret", "cloudflare-api-token", "cert-manager")!.data["api-token"], "base64").toString(), token, "kept");
  assert.match(again.output(), /CLOUDFLARE_API_TOKEN differs from the value stored in cert-manager\/cloudflare-api-token/);
  assert.not.ok(again.output().includes("cf-token-another-value"));
});

test("oke without CLOUDFLARE_API_TOKEN: no Cloudflare Secret (HTTP-01)", async () => {
  await setup("oke-giropops");
  const h = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], h.deps), 0, h.output());
  assert.is(kube.get("Secret", "cloudflare-api-token", "cert-manager"), undefined);
});

test("oke: without --yes and without a terminal the plan is not applied", async () => {
  await setup("oke-giropops");
  const h = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap(OKE, h.deps), 1);
  assert.match(h.output(), /Apply this plan to create\/update OKE cluster giropops .* cannot ask without a terminal/);
  assert.match(h.output(), /fix: re-run with --yes/);
  assert.not.ok(h.runner.calls.some((c) => c.includes(" apply ")));
  assert.not.ok(existsSync(join(root, "clusters/oke/giropops.kubeconfig")));
});

test("oke: answering the prompt with y applies; anything else changes nothing", async () => {
  await setup("oke-giropops");
  const no = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root }, stdin: "n\n" });
  assert.is(await bootstrap(OKE, no.deps), 1);
  assert.match(no.output(), /OpenTofu plan not applied: nothing was changed/);
  const yes = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root }, stdin: "y\n" });
  assert.is(await bootstrap(OKE, yes.deps), 0, yes.output());
  assert.ok(yes.runner.calls.includes("tofu -chdir=clusters/oke/tofu apply -input=false giropops.tfplan"));
});

test("oke: a node pool beyond the Always Free allowance is a config error", async () => {
  const h = harness({ env: { ...OKE_ENV, OKE_NODE_COUNT: "2", OKE_NODE_OCPUS: "2", OKE_NODE_MEMORY_GB: "12" }, overrides: { root } });
  assert.is(await bootstrap(OKE, h.deps), 1);
  assert.match(h.output(), /OKE_NODE_COUNT × OKE_NODE_OCPUS = 4 OCPUs exceeds the Always Free 2 OCPUs/);
  assert.match(h.output(), /OKE_NODE_COUNT × OKE_NODE_MEMORY_GB = 24 GB exceeds the Always Free 12 GB/);
});

test("oke: a missing OCI CLI configuration or profile is a preflight problem with its fix", async () => {
  await setup("oke-giropops");
  const missing = harness({ kube, machine: okeMachine(), env: { ...OKE_ENV, OCI_CLI_CONFIG_FILE: join(root, "nope") }, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], missing.deps), 1);
  assert.match(missing.output(), /the OCI CLI is not configured \(\S+nope is missing\)/);
  assert.match(missing.output(), /fix: run: oci setup config/);
  const profile = harness({ kube, machine: okeMachine(), env: { ...OKE_ENV, OCI_CLI_PROFILE: "WORK" }, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], profile.deps), 1);
  assert.match(profile.output(), /has no profile \[WORK\]/);
  assert.not.ok(profile.runner.calls.some((c) => c.includes(" init ")), "nothing ran after preflight");
});

test("oke: preflight stops while the overlay deploys the app by tag, or another owner's image, with the fix", async () => {
  await setup("oke-giropops");
  writeFileSync(join(root, OKE_APP_OVERLAY), overlay({ newTag: "0.1.0" }));
  const tag = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap([...OKE, "--yes"], tag.deps), 1);
  assert.match(tag.output(), /clusters\/oke\/giropops-senhas\/kustomization\.yaml deploys the app by tag \(0\.1\.0\): on OKE only ghcr\.io\/giropops\/giropops-senhas by a signed digest is admitted/);
  assert.match(tag.output(), /fix: run the image workflow on main of giropops\/giropops-platform \(GitHub → Actions → image → Run workflow\)/);
  assert.not.ok(tag.runner.calls.some((c) => c.includes(" init ")), "nothing ran after preflight");

  // A fork (GHCR owner Some-One → some-one) whose overlay still carries upstream's digest.
  writeFileSync(join(root, OKE_APP_OVERLAY), overlay({ digest: DIGEST }));
  const forkArgs = ["--cluster", "oke", "--repo", "https://github.com/Some-One/giropops-platform.git", "--revision", "main", "--timeout", "20s", "--yes"];
  const fork = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap(forkArgs, fork.deps), 1);
  assert.match(fork.output(), new RegExp(`deploys ghcr\\.io/giropops/giropops-senhas@${DIGEST}, but on OKE only ghcr\\.io/some-one/giropops-senhas, signed by Some-One/giropops-platform's image workflow, is admitted`));
  // After the fork's own workflow run: its image, its digest.
  writeFileSync(join(root, OKE_APP_OVERLAY), overlay({ newName: "ghcr.io/some-one/giropops-senhas", digest: DIGEST }));
  const fixed = harness({ kube, machine: okeMachine(), env: OKE_ENV, overrides: { root } });
  assert.is(await bootstrap(forkArgs, fixed.deps), 0, fixed.output());
  const root_ = kube.get("Application", "root", "argocd")!;
  const patches = root_.spec.source.kustomize.patches.map((p: any) => p.patch).join("\n");
  assert.match(patches, /ghcr\.io\/some-one\/giropops-senhas/);
});

test.run();
