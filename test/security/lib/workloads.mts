// Every Pod-bearing object this repo deploys (test/lib/render.mts: every
// cluster's repo-sourced Applications and every kustomization under apps/),
// with the namespace it lands in: its own, or its Application's destination.
import { renderAllWorkloads, renderCluster } from "../../lib/render.mts";
import type { ClusterKind } from "../../../scripts/lib/config.mts";

export type Workload = { source: string; object: Record<string, any>; namespace: string };

function destinationNamespace(cluster: string | undefined, application: string | undefined): string | undefined {
  if (!cluster || !application) return undefined;
  const app = renderCluster(cluster as ClusterKind).root.find(
    (r) => r.object.kind === "Application" && r.object.metadata?.name === application,
  );
  return app?.object.spec?.destination?.namespace;
}

export function repoWorkloads(): Workload[] {
  return renderAllWorkloads().map((r) => {
    const namespace = r.object.metadata?.namespace ?? destinationNamespace(r.cluster, r.application);
    const where = `${r.cluster ? `${r.cluster}: ` : ""}${r.source}`;
    if (!namespace) throw new Error(`${where}: ${r.object.kind}/${r.object.metadata?.name} has no namespace`);
    return { source: where, object: r.object, namespace };
  });
}
