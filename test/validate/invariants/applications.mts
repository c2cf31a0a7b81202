// Invariant: every Application (the root one bootstrap creates included)
// follows the contract: a single source, a non-default AppProject that admits
// it, automated sync with prune and self-heal, retry, revision history, exact
// chart versions with pinned images in values; repo-sourced Applications
// carry the source label the root patches repoURL through. The root
// Application lets a child's auto-sync be switched off (rollback).
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { SAMPLE_REPO, SOURCE_LABEL, isApplication, isRepoSourced, renderRoot, type Rendered } from "../../lib/render.mts";
import { EXACT_SEMVER, valuesImageProblems } from "./image-pins.mts";
import { projectRefusal } from "./projects.mts";
import { schemaCheck } from "./schemas.mts";
import { collect, type AppProject, type Application, type ClusterContext, type Problem, type ProblemSink } from "./types.mts";

const ROOT_BUILDER = "scripts/lib/argocd.mts";

/** The checks on an Application object itself (not on what it deploys). */
export function checkApplication(app: Rendered, projects: Map<string, AppProject>, problem: ProblemSink): void {
  const o = app.object as Application;
  const spec = o.spec ?? {};
  const source = spec.source;
  if (spec.sources) problem(app, "uses spec.sources; a single spec.source is the contract (the root patches /spec/source)");
  if (!spec.project || spec.project === "default") problem(app, `project must be a non-default AppProject, not "${spec.project ?? ""}"`);
  else if (!projects.has(spec.project)) problem(app, `project "${spec.project}" does not exist in the tree`);
  else for (const p of projectRefusal(projects.get(spec.project)!, o)) problem(app, p);
  const auto = spec.syncPolicy?.automated;
  if (!auto || auto.prune !== true || auto.selfHeal !== true) problem(app, "syncPolicy.automated must set prune: true and selfHeal: true");
  if (!spec.syncPolicy?.retry?.limit || !spec.syncPolicy.retry.backoff) problem(app, "syncPolicy.retry with a limit and a backoff is required");
  if (!(Number(spec.revisionHistoryLimit) >= 1)) problem(app, "revisionHistoryLimit must be set (rollback needs history)");
  if (!source) problem(app, "has no spec.source");
  else if (source.chart) {
    if (!EXACT_SEMVER.test(String(source.targetRevision ?? ""))) problem(app, `chart ${source.chart} version "${source.targetRevision}" is not an exact version`);
    for (const p of valuesImageProblems(source.helm?.valuesObject)) problem(app, p);
  }
}

/** The root Application: valid, rollback-ready, and held to the same rules as its children. */
export async function rootApplicationChecks(ctx: ClusterContext): Promise<Problem[]> {
  const { problems, problem } = collect();
  const rootApp = ctx.rootApp;
  const src = { source: ROOT_BUILDER, object: rootApp };
  const result = await schemaCheck(rootApp);
  if (result && result !== "no-schema") problem(src, `schema: ${result}`);
  const ignores = (rootApp.spec?.ignoreDifferences ?? []).some(
    (d) => d.kind === "Application" && [...(d.jsonPointers ?? []), ...(d.jqPathExpressions ?? [])].some((p: string) => /syncPolicy[./]automated/.test(p)),
  );
  if (!ignores) problem(src, "root Application must ignoreDifferences on Application /spec/syncPolicy/automated (rollback from the UI)");
  if (!(rootApp.spec?.syncPolicy?.syncOptions ?? []).includes("RespectIgnoreDifferences=true")) {
    problem(src, "root Application must set syncOptions RespectIgnoreDifferences=true (rollback from the UI)");
  }
  checkApplication({ source: ROOT_BUILDER, object: rootApp }, ctx.projects, problem);
  return problems;
}

/** Every Application the root renders. */
export function applications(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const app of ctx.apps) checkApplication(app, ctx.projects, problem);
  return problems;
}

/** A repo-sourced Application carries the source label and, after the root patches, points at the user's repository and revision. */
export function repoSources(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const app of ctx.apps) {
    const o = app.object as Application;
    const source = o.spec?.source;
    if (!source || source.chart || !isRepoSourced(o)) continue;
    if (o.metadata?.labels?.[SOURCE_LABEL] !== "git") problem(app, `a repo-sourced Application needs label ${SOURCE_LABEL}: git (the root patches repoURL through it)`);
    if (source.repoURL !== SAMPLE_REPO.url) problem(app, `repoURL is ${source.repoURL} after the root patches, expected the user's repository`);
    if (source.targetRevision !== SAMPLE_REPO.revision) problem(app, `targetRevision is ${source.targetRevision} after the root patches, expected ${SAMPLE_REPO.revision}`);
  }
  return problems;
}

export function findApplicationFiles(root: string, dir = "gitops"): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findApplicationFiles(root, rel));
    else if (entry.name === "application.yaml") out.push(rel);
  }
  return out.sort();
}

/**
 * Optional components (an application.yaml no cluster includes yet) must
 * work the day a cluster opts in: the Application checks on the file itself,
 * against kind's AppProjects. `optional` is the report part.
 */
export function optionalApplications(root: string, included: Set<string>): { problems: Problem[]; optional: string[] } {
  const { problems, problem } = collect();
  const kindProjects = new Map(renderRoot("kind", { root }).filter((r) => r.object.kind === "AppProject").map((r) => [r.object.metadata.name as string, r.object as AppProject]));
  const optional: string[] = [];
  for (const file of findApplicationFiles(root)) {
    if (included.has(file)) continue;
    optional.push(file);
    for (const doc of parseAllDocuments(readFileSync(join(root, file), "utf8"))) {
      const object = doc.toJS();
      if (object && isApplication(object)) {
        if (object.metadata?.labels?.[SOURCE_LABEL] === "git") object.spec.source.repoURL = SAMPLE_REPO.url;
        checkApplication({ source: file, object }, kindProjects, problem);
      }
    }
  }
  return { problems, optional };
}
