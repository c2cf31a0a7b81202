// The offline validation of the GitOps tree: render every cluster the way
// Argo CD would (scripts/lib/render.mts), validate every object against real
// schemas, and check the platform's invariants, one module each under
// invariants/. Problems name the file and the object; `npm run validate`
// (main.mts) prints them with a short report.
import { resolve } from "node:path";
import { CLUSTER_KINDS, type ClusterKind } from "../../scripts/lib/config.mts";
import { pinChecks, type PinsReport } from "./pin-checks.mts";
import { REPO_ROOT, RenderError, findKustomizations, kustomize, rootBuilderSource, type RemoteEntry, type RenderOptions } from "../lib/render.mts";
import { applications, optionalApplications, repoSources, rootApplicationChecks } from "./invariants/applications.mts";
import { renderForChecks } from "./invariants/cluster.mts";
import { duplicates } from "./invariants/duplicates.mts";
import { remotePins } from "./invariants/image-pins.mts";
import { reachability } from "./invariants/network-policies.mts";
import { projectResources } from "./invariants/projects.mts";
import { clusterRequests, kindBudget } from "./invariants/resources.mts";
import { routes } from "./invariants/routes.mts";
import { schemaChecker } from "./invariants/schemas.mts";
import { chartWaves, day0Objects, renderedWaves } from "./invariants/sync-waves.mts";
import { tls } from "./invariants/tls.mts";
import { wave, type ClusterCheck, type Problem, type Requests } from "./invariants/types.mts";
import { restrictedWorkloads } from "./invariants/workloads.mts";

export type { Problem, Requests } from "./invariants/types.mts";
export { checkApplication } from "./invariants/applications.mts";
export { chartExtraObjects } from "./invariants/cluster.mts";
export { EXACT_SEMVER, imageProblem, valuesImageProblems } from "./invariants/image-pins.mts";
export { blockedFrom } from "./invariants/network-policies.mts";
export { projectRefusal } from "./invariants/projects.mts";
export { KIND_BUDGET, cpuMilli, memoryBytes, valuesRequests } from "./invariants/resources.mts";
export { CLUSTER_DOMAIN, PLATFORM_GATEWAY } from "./invariants/routes.mts";
export { schemaCheck } from "./invariants/schemas.mts";
export { CRD_PROVIDERS } from "./invariants/sync-waves.mts";
export { checkTls, covers, gatewayListeners, isHttpsRedirect } from "./invariants/tls.mts";
export { wave } from "./invariants/types.mts";
export { workloadProblems } from "./invariants/workloads.mts";

export type ClusterReport = {
  cluster: ClusterKind;
  objects: number;
  byKind: Record<string, number>;
  applications: { name: string; wave: number; source: string }[];
  applicationFiles: string[];
  requests: Requests;
};
export type Report = {
  problems: Problem[];
  clusters: ClusterReport[];
  remotes: (RemoteEntry & { pinned: boolean })[];
  standalone: string[];
  /** application.yaml files no cluster includes (opt-in components), checked on their own. */
  optional: string[];
  schemaless: Record<string, number>;
  schemaChecked: number;
  rootBuilder: string;
  pins: PinsReport;
};

/** The invariants over each rendered cluster, in the order their problems are listed. */
export const CLUSTER_CHECKS: readonly ClusterCheck[] = [
  rootApplicationChecks, // the root Application: valid, rollback-ready, same rules as its children
  applications, // every Application: project, automated sync, retry, history, exact chart versions
  repoSources, // repo-sourced Applications: source label, repoURL and revision after the root patches
  chartWaves, // chart Applications sync after the providers of the CRDs they use
  duplicates, // no object rendered twice
  restrictedWorkloads, // requests/limits, probes, non-root, read-only, no escalation, pinned images
  renderedWaves, // custom resources after their CRDs, HTTPRoutes after the Gateway controller
  routes, // HTTPRoutes on the platform Gateway, under the cluster's domain
  projectResources, // AppProjects allow every kind and namespace deployed
  reachability, // NetworkPolicies let the Gateway and Locust through
  tls, // HTTPS listeners, certificates covering every hostname, the http->https redirect
  kindBudget, // the kind cluster's requests fit an 8 GB laptop
];

export async function validate(opts: RenderOptions = {}): Promise<Report> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const problems: Problem[] = [];
  const schemas = schemaChecker();

  const clusters: ClusterReport[] = [];
  for (const cluster of CLUSTER_KINDS) {
    const report: ClusterReport = { cluster, objects: 0, byKind: {}, applications: [], applicationFiles: [], requests: { cpuMilli: 0, memoryBytes: 0, counted: [] } };
    clusters.push(report);
    const rendered = renderForChecks(cluster, root);
    problems.push(...rendered.problems);
    const ctx = rendered.ctx;
    if (!ctx) continue;
    report.applicationFiles = [...new Set(ctx.apps.map((a) => a.source))];
    report.applications = ctx.apps.map((a) => {
      const source = a.object.spec?.source;
      return { name: a.object.metadata.name as string, wave: wave(a.object), source: source?.chart ? `${source.chart}@${source.targetRevision}` : source?.path ?? "?" };
    });
    for (const check of CLUSTER_CHECKS) problems.push(...(await check(ctx)));
    report.requests = clusterRequests(ctx);
    problems.push(...(await schemas.check(ctx.render.all)));
    for (const r of ctx.render.all) {
      report.objects++;
      report.byKind[r.object.kind] = (report.byKind[r.object.kind] ?? 0) + 1;
    }
  }

  // Every kustomization under apps/ and gitops/ renders on its own.
  const standalone = [...findKustomizations("apps", root), ...findKustomizations("gitops", root)];
  for (const dir of standalone) {
    try {
      problems.push(...(await schemas.check(kustomize(dir, { root }))));
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      problems.push({ file: dir, message: error.message });
    }
  }

  const optional = optionalApplications(root, new Set(clusters.flatMap((c) => c.applicationFiles)));
  problems.push(...optional.problems);
  problems.push(...day0Objects(root));
  const remotes = remotePins(root);
  problems.push(...remotes.problems);
  const pins = pinChecks(root);
  problems.push(...pins.problems);

  // One problem once, even when every cluster finds it.
  const unique = new Map(problems.map((p) => [`${p.file}|${p.object}|${p.message}`, p]));
  return {
    problems: [...unique.values()],
    clusters,
    remotes: remotes.remotes,
    standalone,
    optional: optional.optional,
    schemaless: schemas.tally.schemaless,
    schemaChecked: schemas.tally.schemaChecked,
    rootBuilder: rootBuilderSource,
    pins: pins.report,
  };
}
