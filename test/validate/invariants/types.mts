// What every invariant of the offline validation shares: the problem type,
// the cluster as the validation renders it, and small typed views of the
// rendered objects the checks read (Applications, AppProjects, pod specs).
import type { ClusterKind } from "../../../scripts/lib/config.mts";
import { describe, type ClusterRender, type Rendered } from "../../lib/render.mts";

export type Problem = { file: string; object?: string; message: string };
export type Requests = { cpuMilli: number; memoryBytes: number; counted: string[] };

/** Where a problem is: a rendered object, or a file with an optional object. */
export type Subject = Rendered | { source: string; object?: Record<string, any> };
export type ProblemSink = (r: Subject, message: string) => void;

/** A sink and the problems it collected, for checks that return their problems. */
export function collect(): { problems: Problem[]; problem: ProblemSink } {
  const problems: Problem[] = [];
  return { problems, problem: (r, message) => problems.push({ file: r.source, object: r.object ? describe(r.object) : undefined, message }) };
}

/**
 * One cluster as validation renders it: the root (clusters/<name> with the
 * root Application's patches), what each repo-sourced child Application
 * deploys (byApplication), and all of it plus the objects chart values add
 * (extraObjects).
 */
export type ClusterContext = {
  cluster: ClusterKind;
  /** The repository root (absolute). */
  root: string;
  /** clusters/<name>/kustomization.yaml, where cluster-wide problems are reported. */
  rootFile: string;
  render: ClusterRender;
  /** The root Application bootstrap creates for this cluster. */
  rootApp: Application;
  /** The Applications the root renders, in render order. */
  apps: Rendered[];
  projects: Map<string, AppProject>;
  /** Application name -> its sync wave. */
  waves: Map<string, number>;
};

/** An invariant over one cluster: the problems it finds. */
export type ClusterCheck = (ctx: ClusterContext) => Problem[] | Promise<Problem[]>;

// ---- typed views -----------------------------------------------------------------

export type Metadata = { name?: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };

export type ApplicationSource = {
  repoURL?: string;
  targetRevision?: string;
  path?: string;
  chart?: string;
  helm?: { valuesObject?: Record<string, any> };
  kustomize?: Record<string, any>;
};

export type Application = {
  apiVersion?: string;
  kind?: string;
  metadata?: Metadata;
  spec?: {
    project?: string;
    source?: ApplicationSource;
    sources?: unknown[];
    destination?: { server?: string; namespace?: string };
    syncPolicy?: { automated?: { prune?: boolean; selfHeal?: boolean }; retry?: { limit?: number; backoff?: unknown }; syncOptions?: string[] };
    revisionHistoryLimit?: number | string;
    ignoreDifferences?: { kind?: string; jsonPointers?: string[]; jqPathExpressions?: string[] }[];
  };
};

export type ResourceRule = { group?: string; kind?: string };
export type AppProject = {
  metadata?: Metadata;
  spec?: {
    sourceRepos?: string[];
    destinations?: { server?: string; namespace?: string }[];
    clusterResourceWhitelist?: ResourceRule[];
    namespaceResourceWhitelist?: ResourceRule[];
  };
};

export type Quantities = { cpu?: string | number; memory?: string | number };
export type SecurityContext = {
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[] };
  seccompProfile?: { type?: string };
};
export type Container = {
  name?: string;
  image?: unknown;
  resources?: { requests?: Quantities; limits?: Quantities };
  readinessProbe?: unknown;
  livenessProbe?: unknown;
  securityContext?: SecurityContext;
};
export type PodSpec = { containers?: Container[]; initContainers?: Container[]; securityContext?: SecurityContext };

const POD_TEMPLATE: Record<string, (o: Record<string, any>) => PodSpec | undefined> = {
  Deployment: (o) => o.spec?.template?.spec,
  StatefulSet: (o) => o.spec?.template?.spec,
  DaemonSet: (o) => o.spec?.template?.spec,
  ReplicaSet: (o) => o.spec?.template?.spec,
  Job: (o) => o.spec?.template?.spec,
  CronJob: (o) => o.spec?.jobTemplate?.spec?.template?.spec,
  Pod: (o) => o.spec,
};

/** Does this kind carry a pod template (or is it a Pod)? */
export function isWorkload(o: Record<string, any>): boolean {
  return Object.hasOwn(POD_TEMPLATE, o.kind);
}

/** The pod spec of a Pod-bearing object, undefined for other kinds. */
export function podSpecOf(o: Record<string, any>): PodSpec | undefined {
  return isWorkload(o) ? POD_TEMPLATE[o.kind]!(o) : undefined;
}

/** Every container of a pod spec, init containers first. */
export function containersOf(pod: PodSpec | undefined): { name: string; init: boolean; c: Container }[] {
  return [
    ...(pod?.initContainers ?? []).map((c) => ({ name: String(c.name), init: true, c })),
    ...(pod?.containers ?? []).map((c) => ({ name: String(c.name), init: false, c })),
  ];
}

// ---- shared helpers ----------------------------------------------------------------

export function wave(o: Record<string, any>): number {
  return Number(o.metadata?.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0) || 0;
}

export function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

export const CLUSTER_SCOPED = new Set([
  "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService",
  "GatewayClass", "PriorityClass", "StorageClass", "PersistentVolume", "ClusterPolicy", "ValidatingPolicy",
  "ImageValidatingPolicy", "MutatingPolicy", "GeneratingPolicy", "DeletingPolicy", "ClusterIssuer",
]);

/** The Application a rendered child belongs to (set by renderApplication). */
export function applicationOf(ctx: ClusterContext, name: string): Rendered {
  return ctx.apps.find((a) => a.object.metadata.name === name)!;
}
