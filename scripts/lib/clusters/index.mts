import type { ClusterKind } from "../config.mts";
import { kind } from "./kind.mts";
import { minikube } from "./minikube.mts";
import { oke } from "./oke.mts";
import type { ClusterProvider } from "./types.mts";

export type { ClusterContext, ClusterProvider } from "./types.mts";

const PROVIDERS: Record<ClusterKind, ClusterProvider> = { kind, minikube, oke };

export function clusterProvider(cluster: ClusterKind): ClusterProvider {
  return PROVIDERS[cluster];
}
