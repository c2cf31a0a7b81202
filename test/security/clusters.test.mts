// What each cluster's GitOps tree runs for security, rendered the way Argo CD
// renders the root Application: Kyverno and its policies and Falco everywhere,
// sized for a laptop on kind/minikube, admission highly available on OKE; the app
// image's signature checked only on OKE, where the image comes from GHCR.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderCluster } from "../lib/render.mts";
import { EXCEPTION_NAMESPACE } from "./lib/admission.mts";
import type { ClusterKind } from "../../scripts/lib/config.mts";

type Obj = Record<string, any>;
const CLUSTERS: ClusterKind[] = ["kind", "minikube", "oke"];

function application(cluster: ClusterKind, name: string): Obj | undefined {
  return renderCluster(cluster).root.find((r) => r.object.kind === "Application" && r.object.metadata?.name === name)?.object;
}

for (const cluster of CLUSTERS) {
  test(`${cluster}: Kyverno 3.9.0 under Argo CD the way Kyverno needs`, () => {
    const app = application(cluster, "kyverno");
    assert.ok(app, "no kyverno Application");
    assert.is(app.spec.source.chart, "kyverno");
    assert.is(app.spec.source.targetRevision, "3.9.0");
    assert.is(app.spec.project, "platform");
    assert.is(app.spec.destination.namespace, "kyverno");
    assert.ok(app.spec.syncPolicy.syncOptions.includes("ServerSideApply=true"));
    assert.is(app.metadata.annotations["argocd.argoproj.io/compare-options"], "ServerSideDiff=true,IncludeMutationWebhook=true");
    const values = app.spec.source.helm.valuesObject;
    assert.is(values.config.preserve, false);
    // Kyverno v1.19.0 reads CEL PolicyExceptions from every namespace when this is
    // unset or "*" (pkg/cel/engine/exception.go; the chart's default is ""), i.e.
    // any namespace admin could exempt their own workloads.
    assert.equal(values.features.policyExceptions, { enabled: true, namespace: EXCEPTION_NAMESPACE });
    assert.is(EXCEPTION_NAMESPACE, "kyverno");
    // The chart's default resource filters stay (the offline evaluator applies them, fixtures/kyverno-3.9.0-resource-filters.yaml).
    assert.is(values.config.resourceFilters, undefined);
    for (const controller of ["admissionController", "backgroundController", "cleanupController", "reportsController"]) {
      assert.is(values[controller].serviceMonitor.enabled, true, `${controller} ServiceMonitor`);
      const resources = controller === "admissionController" ? values[controller].container.resources : values[controller].resources;
      for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) assert.ok(resources[kind][r], `${controller} ${kind}.${r}`);
      const replicas = values[controller].replicas;
      // OKE: only the webhooks are highly available (2 OCPUs in all, clusters/oke/README.md).
      assert.is(replicas, cluster === "oke" && controller === "admissionController" ? 2 : 1, `${controller} replicas on ${cluster}`);
    }
    if (cluster === "oke") assert.is(values.admissionController.podDisruptionBudget.minAvailable, 1, "one webhook pod stays through a drain");
  });

  test(`${cluster}: the policies come after Kyverno and from this repository`, () => {
    const kyverno = application(cluster, "kyverno")!;
    const policies = application(cluster, "policies");
    assert.ok(policies, "no policies Application");
    assert.is(policies.spec.source.path, "gitops/policies");
    const wave = (a: Obj) => Number(a.metadata.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0);
    assert.ok(wave(policies) > wave(kyverno));
    assert.ok(renderCluster(cluster).byApplication.get("policies")!.some((r) => r.object.kind === "ValidatingPolicy"));
  });

  test(`${cluster}: the app image signature is checked ${cluster === "oke" ? "" : "not "}here`, () => {
    const app = application(cluster, "image-verification");
    if (cluster === "oke") {
      assert.ok(app, "OKE pulls from GHCR: image-verification must run");
      assert.is(app.spec.source.path, "gitops/image-verification");
      const kinds = renderCluster(cluster).byApplication.get("image-verification")!.map((r) => r.object.kind);
      assert.equal(kinds, ["ImageValidatingPolicy"]);
    } else {
      assert.is(app, undefined, "images are loaded locally: no signature to verify");
    }
  });

  test(`${cluster}: Falco 9.1.0 with the modern eBPF driver, Falcosidekick and our rules`, () => {
    const falco = application(cluster, "falco");
    assert.ok(falco, "no falco Application");
    assert.is(falco.spec.source.chart, "falco");
    assert.is(falco.spec.source.targetRevision, "9.1.0");
    const values = falco.spec.source.helm.valuesObject;
    assert.is(values.driver.kind, "modern_ebpf");
    assert.is(values.falcosidekick.enabled, true);
    const rules = application(cluster, "falco-rules");
    assert.ok(rules, "no falco-rules Application");
    const configMaps = renderCluster(cluster).byApplication.get("falco-rules")!.filter((r) => r.object.kind === "ConfigMap");
    const mounted = values.mounts.volumes.map((v: Obj) => v.configMap?.name).filter(Boolean);
    for (const name of mounted) assert.ok(configMaps.some((c) => c.object.metadata.name === name), `ConfigMap ${name} is deployed`);
  });
}

test.run();
