// Invariant: no object is rendered twice in a cluster (same kind, namespace
// and name), counting the root render and every repo-sourced Application.
import type { Rendered } from "../../lib/render.mts";
import { CLUSTER_SCOPED, applicationOf, collect, type ClusterContext, type Problem } from "./types.mts";

function identity(o: Record<string, any>, destination: string): string {
  const ns = CLUSTER_SCOPED.has(o.kind) ? "" : (o.metadata?.namespace ?? destination);
  return `${o.kind} ${ns ? `${ns}/` : ""}${o.metadata?.name}`;
}

export function duplicates(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  const identities = new Map<string, Rendered>();
  for (const r of ctx.render.root) identities.set(identity(r.object, "argocd"), r);
  for (const [name, rendered] of ctx.render.byApplication) {
    const destination = applicationOf(ctx, name).object.spec.destination?.namespace ?? "";
    for (const r of rendered) {
      const id = identity(r.object, destination);
      const twin = identities.get(id);
      if (twin) problem(r, `duplicate object: ${id} is also rendered from ${twin.source}`);
      else identities.set(id, r);
    }
  }
  return problems;
}
