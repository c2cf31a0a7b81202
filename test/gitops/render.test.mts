import { test } from "uvu";
import * as assert from "uvu/assert";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { CLUSTER_KINDS } from "../../scripts/lib/config.mts";
import { PLACEHOLDER_REPO, RenderError, SAMPLE_REPO, kustomize, remoteEntries, renderAllWorkloads, renderCluster } from "../lib/render.mts";
import { copyRepo } from "./support.mts";

test("every cluster renders; the root patches put the user's repo into every repo-sourced Application and AppProject", () => {
  for (const cluster of CLUSTER_KINDS) {
    const { root, byApplication, all } = renderCluster(cluster);
    const apps = root.filter((r) => r.object.kind === "Application");
    assert.ok(apps.length >= 8, `${cluster}: ${apps.length} Applications`);
    for (const app of apps.filter((a) => a.object.metadata.labels?.["giropops.dev/source"] === "git")) {
      assert.is(app.object.spec.source.repoURL, SAMPLE_REPO.url, `${cluster} ${app.object.metadata.name}`);
      assert.ok(byApplication.has(app.object.metadata.name), `${cluster}: ${app.object.metadata.name} rendered`);
    }
    for (const project of root.filter((r) => r.object.kind === "AppProject")) assert.is(project.object.spec.sourceRepos[0], SAMPLE_REPO.url);
    assert.not.ok(JSON.stringify(root.map((r) => r.object)).includes(PLACEHOLDER_REPO), `${cluster}: placeholder left in the root render`);
    assert.ok(all.length > root.length);
  }
});

test("objects name the file they came from, not just the folder", () => {
  const { byApplication } = renderCluster("kind");
  const locust = byApplication.get("locust") ?? [];
  const master = locust.find((r) => r.object.kind === "Deployment" && r.object.metadata.name === "locust-master");
  assert.is(master?.source, "gitops/locust/master.yaml");
  assert.is(master?.object.metadata.annotations?.["config.kubernetes.io/origin"], undefined, "origin annotation stripped");
});

test("per-cluster overlays differ where they should (image, gateway Service, hostnames) and keep the HPA floor at 3", () => {
  const pick = (cluster: "kind" | "oke", kind: string, name: string) =>
    renderCluster(cluster).all.find((r) => r.object.kind === kind && r.object.metadata.name === name)?.object;
  assert.match(pick("kind", "Deployment", "giropops-senhas")?.spec.template.spec.containers[0].image, /:dev$/);
  for (const cluster of ["kind", "oke"] as const) assert.is(pick(cluster, "HorizontalPodAutoscaler", "giropops-senhas")?.spec.minReplicas, 3, `${cluster}: at least 3 replicas so one can die while the PDB keeps two`);
  assert.is(pick("kind", "Application", "traefik")?.spec.source.helm.valuesObject.service.spec.type, "NodePort");
  const okeTraefik = pick("oke", "Application", "traefik")?.spec.source.helm.valuesObject;
  assert.is(okeTraefik.service.spec.type, "LoadBalancer");
  assert.is(okeTraefik.service.spec.externalTrafficPolicy, "Local");
  assert.is(okeTraefik.service.annotations["oci.oraclecloud.com/load-balancer-type"], "nlb");
  assert.is(okeTraefik.ports.web.nodePort, undefined);
  assert.equal(pick("kind", "HTTPRoute", "locust")?.spec.hostnames, ["locust.localhost"]);
  assert.equal(pick("oke", "HTTPRoute", "locust")?.spec.hostnames, ["locust.example.com"]);
  assert.equal(pick("oke", "HTTPRoute", "argocd-server")?.spec.hostnames, ["argocd.example.com"]);
  assert.is(pick("oke", "StatefulSet", "redis")?.spec.volumeClaimTemplates[0].spec.storageClassName, "oci-bv");
});

test("renderAllWorkloads returns every Pod-bearing object, tagged with cluster and Application", () => {
  const workloads = renderAllWorkloads();
  const kinds = new Set(workloads.map((w) => w.object.kind));
  for (const kind of ["Deployment", "StatefulSet", "CronJob"]) assert.ok(kinds.has(kind), kind);
  assert.ok(workloads.every((w) => ["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"].includes(w.object.kind)));
  const app = workloads.filter((w) => w.object.metadata.name === "giropops-senhas" && w.cluster);
  assert.equal([...new Set(app.map((w) => w.cluster))].sort(), [...CLUSTER_KINDS].sort());
  assert.ok(app.every((w) => w.application === "giropops-senhas"));
});

test("remote resources are left out offline and listed with the patches that could not apply", () => {
  renderCluster("kind");
  const argocd = remoteEntries().find((e) => e.kustomization === "gitops/argocd/kustomization.yaml");
  assert.match(argocd?.url ?? "", /argo-cd\/v3\.5\.1\/manifests\/install\.yaml$/);
  assert.ok(argocd?.droppedPatches.includes("patches/argocd-cm.yaml"));
  assert.equal(kustomize("gitops/argocd"), [], "offline, the day-0 folder is only its remote install");
});

test("a broken kustomization is a RenderError naming its folder", () => {
  const root = copyRepo();
  writeFileSync(join(root, "gitops/locust/kustomization.yaml"), "resources:\n  - missing.yaml\n");
  try {
    kustomize("gitops/locust", { root });
    assert.unreachable("should fail");
  } catch (error) {
    assert.instance(error, RenderError);
    assert.match((error as Error).message, /^kubectl kustomize gitops\/locust failed: .*missing\.yaml/);
    assert.not.match((error as Error).message, /giropops-render-/, "no temp paths in the message");
  }
});

test.run();
