// Pod Security on the application namespaces is the platform's to set: the
// `apps` AppProject may not create, relabel or delete a Namespace, its
// Applications do not create theirs (CreateNamespace, managedNamespaceMetadata),
// and the platform's own render creates each with Pod Security "restricted".
// Argo CD v3.5.1 checks every sync task, CreateNamespace's Namespace included,
// against the project (gitops-engine/pkg/sync/sync_context.go permissionValidator,
// controller/sync.go IsGroupKindNamePermitted): an empty clusterResourceWhitelist
// permits no cluster-scoped kind at all.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderCluster } from "../lib/render.mts";
import { wildcard } from "./lib/admission.mts";
import type { ClusterKind } from "../../scripts/lib/config.mts";

type Obj = Record<string, any>;
const CLUSTERS: ClusterKind[] = ["kind", "minikube", "oke"];

// IsGroupKindNamePermitted for a cluster-scoped kind: whitelisted and not
// blacklisted (isNamedResourceInList: group, kind and name are filepath.Match
// globs, no name meaning any). The names here hold no "/" or "[", where
// filepath.Match and Kyverno's wildcard differ.
const listed = (list: Obj[] | undefined, group: string, kind: string, name: string) =>
  (list ?? []).some((e) => wildcard(e.group ?? "", group) && wildcard(e.kind ?? "", kind) && (!e.name || wildcard(e.name, name)));
const mayManageNamespace = (project: Obj, name: string) =>
  listed(project.spec.clusterResourceWhitelist, "", "Namespace", name) && !listed(project.spec.clusterResourceBlacklist, "", "Namespace", name);

for (const cluster of CLUSTERS) {
  test(`${cluster}: the apps project cannot touch a Namespace, and the platform creates the app namespaces restricted`, () => {
    const { root, byApplication } = renderCluster(cluster);
    const objects = root.map((r) => r.object);
    const apps = objects.find((o) => o.kind === "AppProject" && o.metadata.name === "apps")!;
    assert.ok(apps, "no apps AppProject");
    const destinations: string[] = apps.spec.destinations.map((d: Obj) => d.namespace);
    assert.ok(destinations.length > 0);
    for (const ns of [...destinations, "kube-system", "anything"]) assert.not.ok(mayManageNamespace(apps, ns), `apps may manage Namespace ${ns}`);

    const appApplications = objects.filter((o) => o.kind === "Application" && o.spec.project === "apps");
    assert.ok(appApplications.length > 0);
    for (const app of appApplications) {
      const name = app.metadata.name;
      assert.not.ok((app.spec.syncPolicy?.syncOptions ?? []).includes("CreateNamespace=true"), `${name}: CreateNamespace needs Namespace rights`);
      assert.is(app.spec.syncPolicy?.managedNamespaceMetadata, undefined, `${name}: managedNamespaceMetadata`);
      assert.ok(destinations.includes(app.spec.destination.namespace), `${name}: destination outside the apps project`);
      assert.equal((byApplication.get(name) ?? []).filter((r) => r.object.kind === "Namespace").map((r) => r.object.metadata.name), [], `${name} ships a Namespace`);
    }

    const platform = objects.find((o) => o.kind === "AppProject" && o.metadata.name === "platform")!;
    for (const ns of destinations) {
      const namespace = objects.find((o) => o.kind === "Namespace" && o.metadata.name === ns);
      assert.ok(namespace, `the root render creates no Namespace ${ns}`);
      assert.is(namespace.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted", ns);
      assert.ok(mayManageNamespace(platform, ns), `the platform project (root) may not create ${ns}`);
      // Before the Applications that deploy into it, and never pruned with their data.
      assert.ok(Number(namespace.metadata.annotations["argocd.argoproj.io/sync-wave"]) < 0, ns);
      assert.match(namespace.metadata.annotations["argocd.argoproj.io/sync-options"], /Prune=false/);
    }
  });
}

test.run();
