import { test } from "uvu";
import * as assert from "uvu/assert";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { simulateArgoCd } from "../lib/fake-argocd.mts";
import { harness, REPO } from "../lib/cli-harness.mts";
import { healthyMachine } from "../lib/fake-runner.mts";

const ARGS = ["--cluster", "kind", "--repo", REPO, "--revision", "main", "--timeout", "20s"];

let kube: FakeKube;
let argo: { stop(): void };
test.before.each(async () => {
  kube = await startFakeKube({ context: "kind-giropops" });
  argo = simulateArgoCd(kube, [{ name: "gateway", healthyAfter: 2 }, { name: "monitoring", healthyAfter: 4 }, { name: "giropops-senhas", healthyAfter: 3 }]);
});
test.after.each(async () => {
  argo.stop();
  await kube.close();
});

test("a first kind bootstrap creates the cluster, loads the image, installs Argo CD and hands over", async () => {
  const h = harness({ kube });
  const code = await bootstrap(ARGS, h.deps);
  assert.is(code, 0, h.output());
  const commands = h.runner.calls.filter((c) => !/^git (remote|rev-parse|cat-file|rev-list|status)/.test(c));
  // The image goes in as an archive of the node's platform only (kind#3795).
  const archive = /--output (\S+app-image\.tar)/.exec(commands.join("\n"))?.[1] ?? "(no archive)";
  assert.equal(commands, [
    "kind get clusters",
    "git --version",
    "docker --version",
    "kind version",
    "kubectl version --client",
    "docker info --format '{{json .}}'",
    `git ls-remote ${REPO} main`,
    "kind get clusters",
    "kind create cluster --name giropops --config clusters/kind/kind-config.yaml --wait 120s",
    "docker build -f apps/giropops-senhas/Dockerfile -t ghcr.io/giropops/giropops-senhas:dev .",
    "docker version --format {{.Server.Os}}/{{.Server.Arch}}",
    `docker image save --platform linux/amd64 --output ${archive} ghcr.io/giropops/giropops-senhas:dev`,
    `kind load image-archive ${archive} --name giropops`,
    "docker image inspect --format {{.Id}} ghcr.io/giropops/giropops-senhas:dev",
    "kubectl kustomize gitops/argocd",
    "kubectl kustomize gitops/projects",
  ]);
  const root = kube.get("Application", "root", "argocd");
  assert.ok(root, "root Application applied");
  assert.is(root!.spec.source.repoURL, REPO);
  assert.is(root!.spec.source.path, "clusters/kind");
  assert.ok(kube.get("AppProject", "platform", "argocd"));
  // upstream's install.yaml has no Namespace: bootstrap makes argocd before anything in it
  const firstInArgocd = kube.changes.findIndex((c) => / argocd\//.test(c));
  assert.ok(kube.changes.indexOf("created Namespace argocd") >= 0 && kube.changes.indexOf("created Namespace argocd") < firstInArgocd, kube.changes.slice(0, 3).join("; "));
  assert.ok(kube.get("Secret", "redis-auth", "giropops-senhas"));
  assert.ok(kube.get("Secret", "grafana-admin", "monitoring"));
  // every apply was server-side, with our field manager (the alert Secrets with their own), forcing conflicts
  const applies = kube.requests.filter((r) => r.method === "PATCH");
  assert.ok(applies.length > 5);
  for (const r of applies) {
    assert.is(r.contentType, "application/apply-patch+yaml");
    // argocd-notifications-secret comes (empty) with Argo CD's install, then gets the destinations
    const managers = r.path.endsWith("/secrets/alert-destinations") ? ["giropops-bootstrap-alerts"] : r.path.endsWith("/secrets/argocd-notifications-secret") ? ["giropops-bootstrap", "giropops-bootstrap-alerts"] : ["giropops-bootstrap"];
    assert.ok(managers.includes(r.query.get("fieldManager") ?? ""), `${r.path}: ${r.query.get("fieldManager")}`);
    assert.is(r.query.get("force"), "true");
  }
  assert.ok(applies.some((r) => r.path.endsWith("/secrets/argocd-notifications-secret") && r.query.get("fieldManager") === "giropops-bootstrap-alerts"));
  const out = h.output();
  assert.match(out, /Applications: all Synced and Healthy/);
  assert.match(out, /monitoring\s+Synced\s+Healthy/);
  assert.match(out, /https:\/\/grafana\.localhost/);
  assert.match(out, /kubectl --context kind-giropops -n monitoring get secret grafana-admin/);
});

test("the AppProjects applied at day 0 list the user's repository first, as root's patches do", async () => {
  const fork = "https://github.com/someone/giropops-platform.git";
  const h = harness({ kube });
  const code = await bootstrap(["--cluster", "kind", "--repo", fork, "--revision", "main", "--timeout", "20s"], h.deps);
  assert.is(code, 0, h.output());
  for (const name of ["platform", "apps"]) {
    const project = kube.get("AppProject", name, "argocd")!;
    assert.is(project.spec.sourceRepos[0], fork, `${name} allows the fork`);
    assert.not.ok(project.spec.sourceRepos.includes(REPO), `${name} no longer lists the placeholder`);
  }
  assert.is(kube.get("Application", "root", "argocd")!.spec.source.repoURL, fork);
  assert.match(h.output(), /2 AppProjects allow https:\/\/github\.com\/someone\/giropops-platform\.git/);
});

test("a Docker before 28 (no `image save --platform`) saves the image as it is", async () => {
  const machine = healthyMachine();
  machine.dockerSavePlatform = false;
  const h = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());
  const saves = h.runner.calls.filter((c) => c.startsWith("docker image save"));
  assert.is(saves.length, 2);
  assert.not.match(saves[1]!, /--platform/);
  assert.ok(h.runner.calls.some((c) => c.startsWith("kind load image-archive")));
});

test("re-running on a healthy cluster creates nothing and changes no object", async () => {
  const machine = healthyMachine();
  const first = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, first.deps), 0, first.output());
  const before = kube.changes.length;
  const redis = kube.get("Secret", "redis-auth", "giropops-senhas")!.data.password;

  const again = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, again.deps), 0, again.output());
  assert.equal(kube.changes.slice(before), [], "no object changed on re-run");
  assert.not.ok(again.runner.calls.some((c) => c.startsWith("kind create")), "cluster not created twice");
  assert.not.ok(again.runner.calls.some((c) => c.startsWith("kubectl kustomize")), "Argo CD not re-rendered once it manages itself");
  assert.is(kube.get("Secret", "redis-auth", "giropops-senhas")!.data.password, redis, "password kept");
  assert.match(again.output(), /reused kind cluster giropops/);
  assert.match(again.output(), /manages itself from git: left as it is/);
  assert.match(again.output(), /giropops-senhas\/redis-auth kept, monitoring\/grafana-admin kept/);
});

test("a re-run with a new :dev build restarts the Deployments that run it; the same build restarts nothing", async () => {
  const machine = healthyMachine();
  assert.is(await bootstrap(ARGS, harness({ kube, machine }).deps), 0);
  // What Argo CD created from the kind overlay, plus a Deployment of another image.
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "giropops-senhas" } });
  const deployment = (name: string, image: string) => ({
    apiVersion: "apps/v1", kind: "Deployment", metadata: { name, namespace: "giropops-senhas" },
    spec: { replicas: 1, selector: { matchLabels: { app: name } }, template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: "app", image }] } } },
  });
  kube.put(deployment("giropops-senhas", "ghcr.io/giropops/giropops-senhas:dev"));
  kube.put(deployment("redis", "docker.io/library/redis:8.4.0"));
  const generation = () => kube.get("Deployment", "giropops-senhas", "giropops-senhas")!.metadata.generation;
  const before = generation();

  machine.localImageId = "1111111111111111111111111111111111111111111111111111111111111111";
  const rebuilt = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, rebuilt.deps), 0, rebuilt.output());
  const app = kube.get("Deployment", "giropops-senhas", "giropops-senhas")!;
  assert.is(app.spec.template.metadata.annotations["giropops.dev/image-id"], `sha256:${machine.localImageId}`);
  assert.is(app.spec.template.spec.containers[0].image, "ghcr.io/giropops/giropops-senhas:dev", "the rest of the Deployment kept");
  assert.ok(generation() > before, "the pod template changed: the Deployment rolls");
  assert.not.ok(kube.get("Deployment", "redis", "giropops-senhas")!.spec.template.metadata.annotations, "other images untouched");
  assert.match(rebuilt.output(), /App rollout: restarted Deployment giropops-senhas\/giropops-senhas on the new build \(111111111111\)/);

  const changes = kube.changes.length;
  const same = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, same.deps), 0, same.output());
  assert.equal(kube.changes.slice(changes), [], "same build: nothing restarted");
  assert.match(same.output(), /Deployment giropops-senhas\/giropops-senhas already runs this build/);
});

test("once Argo CD applies the day-0 objects itself, bootstrap's field manager lets go of them (and only of those)", async () => {
  const machine = healthyMachine();
  assert.is(await bootstrap(ARGS, harness({ kube, machine }).deps), 0);
  const managers = (kind: string, name: string) => (kube.get(kind, name, kind === "CustomResourceDefinition" ? undefined : "argocd")!.metadata.managedFields as { manager: string }[]).map((m) => m.manager);
  assert.equal(managers("Deployment", "argocd-server"), ["giropops-bootstrap"]);
  // The argocd Application synced gitops/argocd: Argo CD's server-side apply co-owns these now.
  for (const [kind, name] of [["Deployment", "argocd-server"], ["CustomResourceDefinition", "applications.argoproj.io"], ["Secret", "argocd-notifications-secret"]] as const) {
    kube.update(kind, name, kind === "CustomResourceDefinition" ? undefined : "argocd", (o) => o.metadata.managedFields.push({ manager: "argocd-controller", operation: "Apply", apiVersion: o.apiVersion }));
  }
  const h = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());
  assert.equal(managers("Deployment", "argocd-server"), ["argocd-controller"]);
  assert.equal(managers("CustomResourceDefinition", "applications.argoproj.io"), ["argocd-controller"]);
  assert.equal(managers("Deployment", "argocd-repo-server"), ["giropops-bootstrap"], "not applied by Argo CD yet: kept");
  // The day-0 part of the upstream notifications Secret is handed over; the destinations bootstrap
  // writes into it have their own manager (lib/alerts.mts ALERTS_FIELD_MANAGER), which stays.
  assert.equal(managers("Secret", "argocd-notifications-secret").sort(), ["argocd-controller", "giropops-bootstrap-alerts"]);
  assert.match(h.output(), /Field ownership: Argo CD alone owns the 3 day-0 object\(s\) it now applies from git/);
  const patches = kube.requests.filter((r) => r.method === "PATCH" && r.contentType === "application/json-patch+json");
  assert.is(patches.length, 3);
  assert.match(patches[0]!.body, /"op":"test","path":"\/metadata\/managedFields\/0\/manager","value":"giropops-bootstrap"/);
});

test("a kind cluster whose node is stopped (after a reboot) is started, not recreated", async () => {
  const machine = healthyMachine({ kindClusters: new Set(["giropops"]), stoppedKindNodes: new Set(["giropops-control-plane"]) });
  const h = harness({ kube, machine });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());
  assert.ok(h.runner.calls.includes("docker start giropops-control-plane"));
  assert.not.ok(h.runner.calls.some((c) => c.startsWith("kind create")));
  assert.match(h.output(), /started the stopped node of kind cluster giropops/);
});

test.run();
