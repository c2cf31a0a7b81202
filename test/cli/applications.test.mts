import { test } from "uvu";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import * as assert from "uvu/assert";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { simulateArgoCd, type ChildPlan } from "../lib/fake-argocd.mts";
import { harness, REPO } from "../lib/cli-harness.mts";
import { healthyMachine } from "../lib/fake-runner.mts";

let kube: FakeKube;
let argo: { stop(): void; ticks(): number } | undefined;
test.before.each(async () => {
  kube = await startFakeKube({ context: "kind-giropops" });
});
test.after.each(async () => {
  argo?.stop();
  await kube.close();
});

async function run(children: ChildPlan[], options: { timeout?: string; degradedGraceMs?: number } = {}) {
  argo = simulateArgoCd(kube, children);
  const h = harness({ kube, machine: healthyMachine(), overrides: { degradedGraceMs: options.degradedGraceMs ?? 60_000 } });
  const code = await bootstrap(["--cluster", "kind", "--repo", REPO, "--revision", "main", "--timeout", options.timeout ?? "20s"], h.deps);
  return { code, out: h.output() };
}

/** What Grafana looks like when its pod cannot be scheduled. */
function brokenGrafana() {
  kube.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "monitoring" } });
  kube.put({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name: "grafana", namespace: "monitoring" },
    spec: { replicas: 1 },
  });
  kube.update("Deployment", "grafana", "monitoring", (d) => {
    d.status = { observedGeneration: 1, conditions: [{ type: "Available", status: "False", reason: "MinimumReplicasUnavailable", message: "Deployment does not have minimum availability." }] };
  });
  kube.put({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "grafana.1", namespace: "monitoring" },
    involvedObject: { kind: "Deployment", name: "grafana", namespace: "monitoring" },
    type: "Warning",
    reason: "FailedScheduling",
    message: "0/1 nodes are available: 1 Insufficient memory.",
    lastTimestamp: "2026-11-23T10:00:00Z",
  });
  kube.put({
    apiVersion: "v1",
    kind: "Event",
    metadata: { name: "other.1", namespace: "monitoring" },
    involvedObject: { kind: "Deployment", name: "prometheus", namespace: "monitoring" },
    type: "Normal",
    reason: "ScalingReplicaSet",
    message: "unrelated event",
  });
}

/** status.resources as Argo CD writes them with controller.resource.health.persist "true" (gitops/argocd sets it). */
const grafanaResources = [
  { group: "apps", version: "v1", kind: "Deployment", namespace: "monitoring", name: "grafana", status: "Synced", health: { status: "Progressing", message: "Waiting for rollout to finish: 0 of 1 updated replicas are available..." } },
  { group: "", version: "v1", kind: "Service", namespace: "monitoring", name: "grafana", status: "Synced", health: { status: "Healthy" } },
];

test("an app that becomes healthy after a few updates ends in success", async () => {
  const { code, out } = await run([{ name: "kyverno", healthyAfter: 3 }, { name: "falco", healthyAfter: 5 }]);
  assert.is(code, 0, out);
  assert.ok(argo!.ticks() >= 5);
  // plain (non-TTY) progress prints each state change once
  assert.match(out, /… falco\s+OutOfSync\s+Progressing/);
  assert.match(out, /✔ falco\s+Synced\s+Healthy/);
  assert.match(out, /is ready\./);
});

test("an app that never gets healthy: timeout, diagnosis with resources, conditions and events, exit 1", async () => {
  brokenGrafana();
  const { code, out } = await run([{ name: "gateway" }, { name: "monitoring", stuck: { health: "Progressing", resources: grafanaResources } }], { timeout: "2s" });
  assert.is(code, 1);
  assert.match(out, /Diagnosis/);
  assert.match(out, /✖ monitoring: Synced \/ Progressing/);
  assert.match(out, /Deployment monitoring\/grafana: Synced \/ Progressing — Waiting for rollout to finish/);
  assert.match(out, /condition Available=False \(MinimumReplicasUnavailable\): Deployment does not have minimum availability\./);
  assert.match(out, /event Warning FailedScheduling: 0\/1 nodes are available: 1 Insufficient memory\./);
  assert.not.match(out, /unrelated event/);
  assert.not.match(out, /Service monitoring\/grafana/, "healthy resources are not listed");
  assert.match(out, /next: kubectl --kubeconfig \S+ --context kind-giropops -n monitoring describe deployment grafana/);
  assert.match(out, /error: the platform is not healthy: not all Synced and Healthy within 2s \(--timeout covers Argo CD and the Applications together\)/);
  assert.not.match(out, /✖ gateway/, "healthy apps are not diagnosed");
  // the summary is still printed, so a person sees the whole picture
  assert.match(out, /gateway\s+Synced\s+Healthy/);
});

test("health not persisted (Argo CD 3.x's default): the diagnosis finds the unready resource from the live objects' conditions", async () => {
  brokenGrafana();
  kube.put({ apiVersion: "v1", kind: "Service", metadata: { name: "grafana", namespace: "monitoring" }, spec: { ports: [{ name: "http-web", port: 80 }] } });
  const resources = grafanaResources.map(({ health: _health, ...r }) => r);
  const { code, out } = await run([{ name: "monitoring", stuck: { health: "Progressing", resources } }], { timeout: "2s" });
  assert.is(code, 1);
  assert.match(out, /Deployment monitoring\/grafana: Synced/);
  assert.match(out, /condition Available=False \(MinimumReplicasUnavailable\)/);
  assert.match(out, /event Warning FailedScheduling/);
  assert.not.match(out, /Service monitoring\/grafana/, "a Service with nothing wrong is not listed");
});

test("gitops/argocd has Argo CD persist each resource's health in the Application (off by default since 3.0)", () => {
  const params = parseYaml(readFileSync(join(import.meta.dirname, "..", "..", "gitops", "argocd", "patches", "argocd-cmd-params-cm.yaml"), "utf8"));
  assert.is(params.data["controller.resource.health.persist"], "true");
});

test("one deadline: the time Argo CD takes to get ready comes off the Applications' wait", async () => {
  await kube.close();
  kube = await startFakeKube({ context: "kind-giropops", autoReady: false });
  // Argo CD's workloads (and CRDs) become ready 2.5 s after they are written.
  const readyLater = setTimeout(() => {
    for (const crd of kube.list("CustomResourceDefinition")) kube.update("CustomResourceDefinition", crd.metadata.name, undefined, (o) => (o.status = { conditions: [{ type: "Established", status: "True" }] }));
    for (const kind of ["Deployment", "StatefulSet"]) {
      for (const o of kube.list(kind)) kube.update(kind, o.metadata.name, o.metadata.namespace, (x) => (x.status = { observedGeneration: x.metadata.generation, readyReplicas: 1, conditions: [{ type: "Available", status: "True" }] }));
    }
  }, 2500);
  try {
    const started = Date.now();
    const { code, out } = await run([{ name: "monitoring", stuck: { health: "Progressing" } }], { timeout: "4s" });
    const took = Date.now() - started;
    assert.is(code, 1, out);
    assert.match(out, /Argo CD: applied/);
    assert.match(out, /not all Synced and Healthy within 4s/);
    // Two windows (2.5 s for Argo CD + 4 s for the apps) would take 6.5 s or more.
    assert.ok(took < 6000, `bootstrap took ${took} ms`);
  } finally {
    clearTimeout(readyLater);
  }
});

test("a Degraded app that keeps changing is given time; one that stays unchanged for the grace ends the wait", async () => {
  let flips = 0;
  const plan: ChildPlan = { name: "cert-manager-issuers", stuck: { health: "Degraded", resources: [{ group: "cert-manager.io", version: "v1", kind: "ClusterIssuer", name: "platform-ca", status: "Synced", health: { status: "Degraded" } }] } };
  // Progress: each 100 ms another resource of the app changes its state.
  const progress = setInterval(() => {
    flips++;
    plan.stuck!.resources = [...plan.stuck!.resources!, { group: "", version: "v1", kind: "Secret", namespace: "cert-manager", name: `s${flips}`, status: "Synced", health: { status: "Healthy" } }];
    if (flips === 12) clearInterval(progress);
  }, 100);
  try {
    const started = Date.now();
    const { code, out } = await run([plan], { timeout: "30s", degradedGraceMs: 600 });
    assert.is(code, 1, out);
    assert.match(out, /cert-manager-issuers is Degraded, unchanged for 1s/);
    assert.ok(Date.now() - started >= 1200, "kept waiting while the app changed");
  } finally {
    clearInterval(progress);
  }
});

test("a Degraded app stops the wait early with its sync failure explained", async () => {
  const { code, out } = await run(
    [
      {
        name: "giropops-senhas",
        stuck: {
          sync: "OutOfSync",
          health: "Degraded",
          conditions: [{ type: "SyncError", message: "Failed sync attempt to 4b825dc642cb6eb9a060e54bf8d69288fbee4904: one or more objects failed to apply (retried 5 times)." }],
          operation: {
            phase: "Failed",
            message: "one or more objects failed to apply, reason: admission webhook denied the request",
            syncResult: {
              revision: "4b825dc642cb6eb9a060e54bf8d69288fbee4904",
              resources: [
                { group: "apps", version: "v1", kind: "Deployment", namespace: "giropops-senhas", name: "giropops-senhas", status: "SyncFailed", message: "admission webhook \"vpol.validate.kyverno.svc-fail-3f9c2a71\" denied the request: Policy require-resources failed: Every container must set resources.limits.cpu and resources.limits.memory.", syncPhase: "Sync" },
                { group: "", version: "v1", kind: "Service", namespace: "giropops-senhas", name: "giropops-senhas", status: "Synced", message: "service/giropops-senhas created", syncPhase: "Sync" },
              ],
            },
          },
        },
      },
    ],
    { timeout: "60s", degradedGraceMs: 0 },
  );
  assert.is(code, 1);
  assert.match(out, /error: the platform is not healthy: giropops-senhas is Degraded/);
  assert.match(out, /✖ giropops-senhas: OutOfSync \/ Degraded/);
  assert.match(out, /SyncError: Failed sync attempt to 4b825dc642cb6eb9a060e54bf8d69288fbee4904: one or more objects failed to apply/);
  assert.match(out, /last sync: Failed: one or more objects failed to apply/);
  assert.match(out, /Deployment giropops-senhas\/giropops-senhas: SyncFailed — admission webhook "vpol\.validate\.kyverno\.svc-fail-3f9c2a71" denied the request: Policy require-resources failed/);
  assert.not.match(out, /Service giropops-senhas\/giropops-senhas: Synced/, "resources that synced are not listed");
  assert.match(out, /next: kubectl .* -n argocd get application giropops-senhas -o yaml/);
});

test.run();
