// Invariant: Argo CD can sync the tree in wave order. Custom resources come
// after the Application providing their CRDs (and say
// SkipDryRunOnMissingResource), HTTPRoutes after the Gateway controller, and
// bootstrap's day-0 kustomizations use no API a later wave installs.
import { DAY0_KUSTOMIZATIONS } from "../../../scripts/lib/plan.mts";
import { RenderError, describe, kustomize, type Rendered } from "../../lib/render.mts";
import { chartExtraObjects } from "./cluster.mts";
import { PLATFORM_GATEWAY } from "./routes.mts";
import { applicationOf, collect, groupOf, wave, type ClusterContext, type Problem, type ProblemSink } from "./types.mts";

// API group -> the Application that installs its CRDs. Chart-provided CRDs
// cannot be rendered offline, so this map says who provides what.
export const CRD_PROVIDERS: Record<string, string> = {
  "gateway.networking.k8s.io": "gateway-api-crds",
  "monitoring.coreos.com": "monitoring",
  "kyverno.io": "kyverno",
  "policies.kyverno.io": "kyverno",
  "reports.kyverno.io": "kyverno",
  "traefik.io": "traefik",
  "cert-manager.io": "cert-manager",
  "chaos-mesh.org": "chaos-mesh",
  "falco.org": "falco",
  "bitnami.com": "sealed-secrets",
};

// What chart Applications create from CRDs of other Applications (the chart
// is not rendered offline). serviceMonitor.enabled in values is detected too.
const CHART_CONSUMES: Record<string, string[]> = { traefik: ["gateway.networking.k8s.io"] };

// API groups a fresh cluster plus Argo CD's install serve (besides the core groups without a dot).
const DAY0_GROUPS = new Set(["argoproj.io", "rbac.authorization.k8s.io", "apiextensions.k8s.io", "networking.k8s.io", "admissionregistration.k8s.io", "policy", "apps", "batch", "autoscaling"]);

function checkWave(app: Rendered, group: string, waves: Map<string, number>, problem: ProblemSink, consumer?: Rendered): void {
  const provider = CRD_PROVIDERS[group];
  const name = app.object.metadata.name;
  if (!provider || provider === name) return;
  const what = consumer ? `${describe(consumer.object)} (${group})` : `its chart's ${group} objects`;
  if (!waves.has(provider)) {
    problem(consumer ?? app, `Application ${name} deploys ${what} but no Application provides the ${group} CRDs (expected ${provider})`);
    return;
  }
  if (waves.get(provider)! >= wave(app.object)) {
    problem(consumer ?? app, `sync wave inversion: Application ${name} (wave ${wave(app.object)}) deploys ${what} whose CRDs come from ${provider} (wave ${waves.get(provider)}); the provider must sync first`);
  }
}

/** A chart Application syncs after the providers of the CRDs its chart (and its extraObjects) use. */
export function chartWaves(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const app of ctx.apps) {
    const source = app.object.spec?.source;
    if (!source?.chart) continue;
    const consumes = [
      ...(CHART_CONSUMES[app.object.metadata.name] ?? []),
      ...(JSON.stringify(source.helm?.valuesObject ?? {}).match(/"serviceMonitor":\{"enabled":true/) ? ["monitoring.coreos.com"] : []),
      ...chartExtraObjects(app).map((r) => groupOf(r.object.apiVersion ?? "")),
    ];
    for (const group of new Set(consumes)) checkWave(app, group, ctx.waves, problem);
  }
  return problems;
}

/** A repo-sourced Application syncs after the providers of its custom resources, and after the Gateway controller when it deploys HTTPRoutes. */
export function renderedWaves(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const [name, rendered] of ctx.render.byApplication) {
    const app = applicationOf(ctx, name);
    const syncOptions: string[] = app.object.spec.syncPolicy?.syncOptions ?? [];
    let usesForeignCrd = false;
    for (const r of rendered) {
      const group = groupOf(r.object.apiVersion ?? "");
      const provider = CRD_PROVIDERS[group];
      if (provider && provider !== name && !(group === "argoproj.io")) {
        usesForeignCrd = true;
        checkWave(app, group, ctx.waves, problem, r);
      }
      if (r.object.kind === "HTTPRoute") {
        // Argo CD calls an HTTPRoute Healthy only once the Gateway controller
        // has accepted it: in an earlier or the same wave, the sync would wait forever.
        const controller = ctx.waves.get(PLATFORM_GATEWAY.controller);
        if (controller !== undefined && wave(app.object) <= controller) {
          problem(r, `sync wave deadlock: Application ${name} (wave ${wave(app.object)}) deploys an HTTPRoute, which stays Progressing until the Gateway controller (${PLATFORM_GATEWAY.controller}, wave ${controller}) runs; move it to a later wave`);
        }
      }
    }
    if (usesForeignCrd && !syncOptions.includes("SkipDryRunOnMissingResource=true")) {
      problem(app, "deploys custom resources whose CRD another Application provides: add SkipDryRunOnMissingResource=true");
    }
  }
  return problems;
}

/** bootstrap applies DAY0_KUSTOMIZATIONS before any CRD but Argo CD's own exists. */
export function day0Objects(root: string): Problem[] {
  const { problems, problem } = collect();
  for (const dir of DAY0_KUSTOMIZATIONS) {
    try {
      for (const r of kustomize(dir, { root })) {
        const group = groupOf(r.object.apiVersion ?? "");
        if (group.includes(".") && !DAY0_GROUPS.has(group)) problem(r, `bootstrap applies ${dir} at day 0, when no ${group} CRD exists yet: move this object to an Application of a later wave`);
      }
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      problems.push({ file: dir, message: error.message });
    }
  }
  return problems;
}
