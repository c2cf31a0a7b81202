// "Changing the cluster is a commit": the example edits of gitops/README.md,
// each applied to a copy of the repository, change the rendered tree exactly
// as intended and nothing else.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderCluster } from "../lib/render.mts";
import { copyRepo, diffRenders, edit, type Change } from "./support.mts";

const summary = (changes: Change[]) => changes.map((c) => `${c.object} ${c.path}: ${JSON.stringify(c.before)} -> ${JSON.stringify(c.after)}`).join("\n");

// Before and after both come from copies taken from one snapshot, so edits
// made meanwhile in the working tree cannot show up in the diff.
const snapshot = copyRepo();

type Cluster = "kind" | "minikube" | "oke";

/** Applies `change` to a fresh copy of the snapshot; returns the diff per cluster. */
function changesAfter(clusters: Cluster[], change: (root: string) => void): Record<Cluster, Change[]> {
  const root = copyRepo(snapshot);
  change(root);
  const out = {} as Record<Cluster, Change[]>;
  for (const cluster of clusters) out[cluster] = diffRenders(renderCluster(cluster, { root: snapshot }).all, renderCluster(cluster, { root }).all);
  return out;
}

test("scale the app on kind: the HPA floor in clusters/kind/giropops-senhas", () => {
  const { kind: changes } = changesAfter(["kind"], (root) =>
    edit(root, "clusters/kind/giropops-senhas/kustomization.yaml", "path: /spec/minReplicas, value: 3 }", "path: /spec/minReplicas, value: 4 }"),
  );
  assert.equal(changes, [{ object: "HorizontalPodAutoscaler giropops-senhas/giropops-senhas", path: "/spec/minReplicas", before: 3, after: 4 }], summary(changes));
});

test("change an alert threshold: GiropopsSenhasHighLatency fires above 500 ms instead of 250 ms", () => {
  const { kind: changes } = changesAfter(["kind"], (root) =>
    edit(root, "gitops/monitoring/config/rules/giropops-senhas.yaml", "giropops:http_request_duration_seconds:p95_rate5m > 0.25", "giropops:http_request_duration_seconds:p95_rate5m > 0.5"),
  );
  assert.is(changes.length, 1, summary(changes));
  const [change] = changes;
  assert.is(change!.object, "PrometheusRule monitoring/giropops-senhas");
  assert.match(change!.path, /^\/spec\/groups\/\d+\/rules\/\d+\/expr$/);
  assert.match(String(change!.after), /> 0\.5$/);
});

test("bump a chart version: metrics-server 3.13.1 -> 3.13.2 changes one field of one Application on every cluster", () => {
  const all = changesAfter(["kind", "minikube", "oke"], (root) => edit(root, "gitops/metrics-server/application.yaml", "targetRevision: 3.13.1", "targetRevision: 3.13.2"));
  for (const [cluster, changes] of Object.entries(all)) {
    assert.equal(changes, [{ object: "Application argocd/metrics-server", path: "/spec/source/targetRevision", before: "3.13.1", after: "3.13.2" }], `${cluster}:\n${summary(changes)}`);
  }
});

test("set the OKE domain: only OKE hostnames change", () => {
  const { oke, kind } = changesAfter(["oke", "kind"], (root) => edit(root, "clusters/oke/patches/domain.yaml", /example\.com/g, "senhas.dev"));
  assert.ok(oke.length >= 6, summary(oke));
  assert.ok(oke.every((c) => /HTTPRoute|Application/.test(c.object) && String(c.after).includes("senhas.dev")), summary(oke));
  assert.equal(kind, []);
});

test.run();
