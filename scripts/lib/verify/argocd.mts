// Every Argo CD Application Synced and Healthy, and Argo CD managing itself:
// the `argocd` Application is there and fine, and argocd-server carries the
// tracking annotation Argo CD writes on what it manages.
import { appState, type AppState } from "../argocd.mts";
import type { KubeObject } from "../kube.mts";
import { getJson, plural, resultOf, type Check, type Verdict } from "./checks.mts";

export const TRACKING_ANNOTATION = "argocd.argoproj.io/tracking-id";

export type ApplicationList = { items?: KubeObject[] };
export type DeploymentLike = { metadata?: { annotations?: Record<string, string> } };

function describe(state: AppState): string {
  const why = [state.message, state.operation && `last sync ${state.operation}`].filter(Boolean).join("; ").replace(/\s+/g, " ").slice(0, 300);
  return `${state.name}: ${state.sync}/${state.health}${why ? ` — ${why}` : ""}`;
}

const isFine = (state: AppState) => state.sync === "Synced" && state.health === "Healthy";

export function judgeArgoCd(list: ApplicationList, server: DeploymentLike | undefined): Verdict {
  const apps = (list.items ?? []).map(appState).sort((a, b) => a.name.localeCompare(b.name));
  const hint = "kubectl -n argocd get applications; kubectl -n argocd describe application NAME";
  if (apps.length === 0) return { ok: false, summary: "no Argo CD Applications in namespace argocd", evidence: [], hint };
  const bad = apps.filter((app) => !isFine(app));
  const self = apps.find((app) => app.name === "argocd");
  const tracking = server?.metadata?.annotations?.[TRACKING_ANNOTATION];
  const evidence = [
    `${apps.length - bad.length}/${apps.length} Applications Synced and Healthy: ${apps.filter(isFine).map((a) => a.name).join(", ") || "none"}`,
    ...bad.map(describe),
    self ? `argocd Application (Argo CD managing itself): ${self.sync}/${self.health}` : "argocd Application (Argo CD managing itself): missing",
    server === undefined
      ? "Deployment argocd/argocd-server: missing"
      : tracking
        ? `argocd-server ${TRACKING_ANNOTATION}: ${tracking}`
        : `argocd-server has no ${TRACKING_ANNOTATION} annotation (not managed by Argo CD)`,
  ];
  const problems = [
    bad.length > 0 ? `${plural(bad.length, "Application")} not Synced/Healthy (${bad.map((a) => a.name).join(", ")})` : "",
    self ? "" : "the argocd Application is missing",
    tracking ? "" : "argocd-server is not tracked by Argo CD",
  ].filter(Boolean);
  if (problems.length > 0) return { ok: false, summary: problems.join("; "), evidence, hint };
  return { ok: true, summary: `${plural(apps.length, "Application")} Synced and Healthy, Argo CD manages itself`, evidence };
}

export const argocdCheck: Check = {
  name: "argocd",
  title: "Argo CD Applications Synced/Healthy and Argo CD manages itself",
  async run(ctx) {
    const list = await getJson<ApplicationList>(ctx.kube, "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications");
    const response = await ctx.kube.request("GET", "/apis/apps/v1/namespaces/argocd/deployments/argocd-server");
    const server = response.status === 200 ? (response.body as DeploymentLike) : undefined;
    return resultOf("argocd", judgeArgoCd(list, server));
  },
};
