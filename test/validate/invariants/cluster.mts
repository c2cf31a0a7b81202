// The cluster as the validation sees it: clusters/<name> rendered with the
// root Application's patches, then each repo-sourced Application's path, plus
// the objects chart values add. What keeps an Application from rendering is
// a problem here; the invariants run over what did render.
import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ClusterKind } from "../../../scripts/lib/config.mts";
import { RenderError, isApplication, isRepoSourced, renderApplication, renderRoot, rootApplicationFor, type Rendered } from "../../lib/render.mts";
import { collect, wave, type AppProject, type Application, type ClusterContext, type Problem } from "./types.mts";

/** Objects a chart Application adds through its values' `extraObjects` (rendered by the chart as they are). */
export function chartExtraObjects(app: Rendered): Rendered[] {
  const extra = app.object.spec?.source?.helm?.valuesObject?.extraObjects;
  if (!Array.isArray(extra)) return [];
  const namespace = app.object.spec?.destination?.namespace;
  return extra
    .filter((o): o is Record<string, any> => !!o && typeof o === "object")
    .map((o) => ({ source: app.source, object: { ...o, metadata: { namespace, ...o.metadata } }, application: app.object.metadata?.name }));
}

/** Renders one cluster for the invariants; ctx is null when the root itself does not render. */
export function renderForChecks(cluster: ClusterKind, root: string): { ctx: ClusterContext | null; problems: Problem[] } {
  const { problems, problem } = collect();
  const rootFile = `clusters/${cluster}/kustomization.yaml`;
  let rootObjects: Rendered[];
  try {
    rootObjects = renderRoot(cluster, { root });
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    problem({ source: rootFile }, error.message);
    return { ctx: null, problems };
  }
  const apps = rootObjects.filter((r) => isApplication(r.object));
  const projects = new Map(rootObjects.filter((r) => r.object.kind === "AppProject").map((r) => [r.object.metadata.name as string, r.object as AppProject]));
  const waves = new Map(apps.map((a) => [a.object.metadata.name as string, wave(a.object)]));
  const all: Rendered[] = [...rootObjects];
  const byApplication = new Map<string, Rendered[]>();
  for (const app of apps) {
    const o = app.object as Application;
    const name = o.metadata!.name!;
    const source = o.spec?.source;
    if (!source) continue;
    if (source.chart) {
      all.push(...chartExtraObjects(app));
      continue;
    }
    if (!isRepoSourced(o)) {
      problem(app, "source is neither a chart nor a path in this repository");
      continue;
    }
    const path = String(source.path);
    if (!existsSync(join(root, path)) || !statSync(join(root, path)).isDirectory()) {
      problem(app, `spec.source.path "${path}" does not exist in the repository`);
      continue;
    }
    let rendered: Rendered[];
    try {
      rendered = renderApplication({ ...app, cluster }, { root });
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      problem(app, error.message);
      continue;
    }
    byApplication.set(name, rendered);
    all.push(...rendered);
  }
  const ctx: ClusterContext = {
    cluster,
    root,
    rootFile,
    render: { root: rootObjects, byApplication, all },
    rootApp: rootApplicationFor(cluster) as Application,
    apps,
    projects,
    waves,
  };
  return { ctx, problems };
}
