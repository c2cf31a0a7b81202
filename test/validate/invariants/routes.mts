// Invariant: every HTTPRoute attaches to the platform Gateway, under its
// cluster's domain.
import type { ClusterKind } from "../../../scripts/lib/config.mts";
import type { Rendered } from "../../lib/render.mts";
import { collect, type ClusterContext, type Problem, type ProblemSink } from "./types.mts";

/** The platform Gateway every HTTPRoute attaches to, and the Application running its controller. */
export const PLATFORM_GATEWAY = { name: "platform", namespace: "traefik", controller: "traefik" };

/** Domain of each cluster's hostnames (render.mts's sample config uses example.com for OKE). */
export const CLUSTER_DOMAIN: Record<ClusterKind, string> = { kind: "localhost", minikube: "localhost", oke: "example.com" };

export type ParentRef = { name?: string; namespace?: string; sectionName?: string };

function checkRoute(r: Rendered, cluster: ClusterKind, problem: ProblemSink): void {
  const refs: ParentRef[] = r.object.spec?.parentRefs ?? [];
  if (refs.length === 0 || !refs.every((p) => p.name === PLATFORM_GATEWAY.name && (p.namespace ?? r.object.metadata?.namespace) === PLATFORM_GATEWAY.namespace)) {
    problem(r, `HTTPRoute must attach to the platform Gateway (${PLATFORM_GATEWAY.namespace}/${PLATFORM_GATEWAY.name})`);
  }
  for (const host of r.object.spec?.hostnames ?? []) {
    if (!String(host).endsWith(`.${CLUSTER_DOMAIN[cluster]}`)) problem(r, `hostname ${host} is not under ${cluster}'s domain ${CLUSTER_DOMAIN[cluster]}`);
  }
}

/** The routes the repo-sourced Applications deploy. */
export function routes(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const rendered of ctx.render.byApplication.values()) {
    for (const r of rendered) if (r.object.kind === "HTTPRoute") checkRoute(r, ctx.cluster, problem);
  }
  return problems;
}
