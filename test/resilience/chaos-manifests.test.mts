// The chaos component as git holds it: an optional, pinned, laptop-sized Chaos
// Mesh Application; experiments that render, are never synced, and aim at the
// real app and Redis pods with the same grace period as those workloads.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CLUSTER_KINDS } from "../../scripts/lib/config.mts";
import { labelSelectorOf } from "../../scripts/lib/verify/chaos.mts";
import { kustomize, renderCluster, renderRoot, REPO_ROOT } from "../lib/render.mts";

type Obj = Record<string, any>;
const objects = (dir: string) => kustomize(dir).map((r) => r.object);

const [application] = objects("gitops/chaos");
const values = application?.spec?.source?.helm?.valuesObject ?? {};
const app = objects("apps/giropops-senhas/deploy/app").find((o) => o.kind === "Deployment")!;
const redis = objects("apps/giropops-senhas/deploy/redis").find((o) => o.kind === "StatefulSet")!;

const EXPERIMENTS: { dir: string; kind: string; target: Obj; podChaos: (o: Obj) => Obj }[] = [
  { dir: "app-pod-kill", kind: "Schedule", target: app, podChaos: (o) => o.spec.podChaos },
  { dir: "redis-pod-kill", kind: "PodChaos", target: redis, podChaos: (o) => o.spec },
];

test("gitops/chaos renders only the chaos-mesh Application", () => {
  const rendered = objects("gitops/chaos");
  assert.equal(rendered.map((o) => `${o.kind}/${o.metadata.name}`), ["Application/chaos-mesh"]);
  assert.equal(application!.metadata.namespace, "argocd");
  assert.equal(application!.spec.project, "platform");
  assert.equal(application!.spec.destination.namespace, "chaos-mesh");
});

test("the chart and its images are pinned to one release", () => {
  const source = application!.spec.source;
  assert.equal([source.repoURL, source.chart], ["https://charts.chaos-mesh.org", "chaos-mesh"]);
  assert.match(source.targetRevision, /^\d+\.\d+\.\d+$/);
  // The chart's own images.tag applies (recorded: it is v + the chart version), so it moves with the chart.
  assert.is(values.images?.tag, undefined);
  const recorded = parseYaml(readFileSync(join(REPO_ROOT, "test/validate/chart-defaults.yaml"), "utf8"))["chaos-mesh"];
  assert.equal([recorded.version, recorded.defaults["images/tag"]], [source.targetRevision, `v${source.targetRevision}`]);
  assert.match(values.controllerManager.podChaos.podFailure.pauseImage, /^registry\.k8s\.io\/pause:[\d.]+@sha256:[0-9a-f]{64}$/);
  assert.not.match(JSON.stringify(values), /:latest"/);
});

test("sized for a laptop: one controller, no dashboard or DNS server, requests and limits set", () => {
  assert.equal(values.controllerManager.replicaCount, 1);
  assert.equal([values.dashboard.create, values.dnsServer.create], [false, false]);
  for (const part of ["controllerManager", "chaosDaemon"]) {
    const resources = values[part].resources;
    assert.ok(resources?.requests?.cpu && resources?.requests?.memory && resources?.limits?.memory, `${part} needs requests and a memory limit`);
  }
});

test("the chart's per-render randomness is ignored, so Argo CD stays Synced", () => {
  const ignored = application!.spec.ignoreDifferences as Obj[];
  const has = (kind: string, name: string | undefined, pointer: string) =>
    ignored.some((i) => i.kind === kind && (name === undefined || i.name === name) && [...(i.jsonPointers ?? []), ...(i.jqPathExpressions ?? [])].includes(pointer));
  for (const secret of ["chaos-mesh-webhook-certs", "chaos-mesh-daemon-certs", "chaos-mesh-daemon-client-certs", "chaos-mesh-chaosd-client-certs"]) assert.ok(has("Secret", secret, "/data"), secret);
  for (const webhook of ["MutatingWebhookConfiguration", "ValidatingWebhookConfiguration"]) assert.ok(has(webhook, undefined, ".webhooks[]?.clientConfig.caBundle"), webhook);
  assert.ok(has("Deployment", "chaos-controller-manager", "/spec/template/metadata/annotations/rollme"));
  assert.ok(has("DaemonSet", "chaos-daemon", "/spec/template/metadata/annotations/rollme"));
  const options: string[] = application!.spec.syncPolicy.syncOptions;
  for (const option of ["RespectIgnoreDifferences=true", "ServerSideApply=true", "CreateNamespace=true"]) assert.ok(options.includes(option), option);
});

for (const { dir, kind, target, podChaos } of EXPERIMENTS) {
  test(`experiment ${dir} renders one ${kind} aimed at the ${target.metadata.name} pods`, () => {
    const rendered = objects(`gitops/chaos/experiments/${dir}`);
    assert.equal(rendered.length, 1);
    const experiment = rendered[0]!;
    assert.equal([experiment.apiVersion, experiment.kind, experiment.metadata.namespace], ["chaos-mesh.org/v1alpha1", kind, "chaos-mesh"]);
    assert.equal(experiment.metadata.labels?.["giropops.dev/experiment"], dir);
    const spec = podChaos(experiment);
    assert.equal([spec.action, spec.mode], ["pod-kill", "one"]);
    assert.equal(spec.selector.namespaces, [target.metadata.namespace]);
    const podLabels: Obj = target.spec.template.metadata.labels;
    for (const pair of labelSelectorOf(spec.selector).split(",")) {
      const [key, value] = pair.split("=");
      assert.equal(podLabels[key!], value, `${dir} selects ${pair}, which the ${target.kind} pods do not carry`);
    }
  });

  test(`experiment ${dir} deletes with the ${target.kind}'s own grace period (a drain, not a force delete)`, () => {
    const spec = podChaos(objects(`gitops/chaos/experiments/${dir}`)[0]!);
    assert.ok(spec.gracePeriod > 0);
    assert.equal(spec.gracePeriod, target.spec.template.spec.terminationGracePeriodSeconds);
  });
}

test("the app pod-kill repeats on a fixed interval, one kill at a time", () => {
  const [schedule] = objects("gitops/chaos/experiments/app-pod-kill");
  assert.match(schedule!.spec.schedule, /^@every \d+s$/);
  assert.equal([schedule!.spec.type, schedule!.spec.concurrencyPolicy], ["PodChaos", "Forbid"]);
});

test("the optional latency experiment delays app-to-Redis traffic for a bounded time", () => {
  const [latency] = objects("gitops/chaos/experiments/app-redis-latency");
  assert.equal([latency!.kind, latency!.spec.action, latency!.spec.direction], ["NetworkChaos", "delay", "to"]);
  assert.match(latency!.spec.duration, /^\d+[sm]$/);
  assert.match(latency!.spec.delay.latency, /^\d+ms$/);
  assert.equal(labelSelectorOf(latency!.spec.target.selector), "app.kubernetes.io/name=redis");
});

test("no cluster syncs an experiment: they exist only while verify --chaos runs", () => {
  for (const cluster of CLUSTER_KINDS) {
    const synced = renderCluster(cluster).all.filter((r) => String(r.object.apiVersion).startsWith("chaos-mesh.org/"));
    assert.equal(synced.map((r) => r.source), [], `${cluster} syncs chaos experiments`);
  }
});

test("kind enables the chaos engine, and its AppProject admits it", () => {
  const root = renderRoot("kind").map((r) => r.object);
  const enabled = root.find((o) => o.kind === "Application" && o.metadata.name === "chaos-mesh");
  assert.ok(enabled, 'clusters/kind/kustomization.yaml does not list "- ../../gitops/chaos"');
  const project = root.find((o) => o.kind === "AppProject" && o.metadata.name === enabled!.spec.project)!;
  assert.ok(project.spec.sourceRepos.includes(enabled!.spec.source.repoURL), `AppProject ${project.metadata.name} lacks sourceRepo ${enabled!.spec.source.repoURL}`);
  assert.ok(
    project.spec.destinations.some((d: Obj) => d.namespace === "chaos-mesh" || d.namespace === "*"),
    `AppProject ${project.metadata.name} lacks destination namespace chaos-mesh`,
  );
});

test.run();
