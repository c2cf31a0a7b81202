// Invariant: the AppProjects admit what their Applications do: the source
// repository and destination of each Application, and every kind and
// namespace a repo-sourced Application deploys.
import { applicationOf, collect, CLUSTER_SCOPED, groupOf, type AppProject, type Application, type ClusterContext, type Problem, type ResourceRule } from "./types.mts";

/** What an AppProject would refuse about an Application: its source repository or its destination. */
export function projectRefusal(project: AppProject, app: Application): string[] {
  const out: string[] = [];
  const name = project.metadata?.name;
  const repo = app.spec?.source?.repoURL;
  const repos: string[] = project.spec?.sourceRepos ?? [];
  if (repo && !repos.includes("*") && !repos.includes(repo)) out.push(`AppProject ${name} does not list source repository ${repo}`);
  const dest = app.spec?.destination ?? {};
  const ok = (project.spec?.destinations ?? []).some(
    (d) => (d.server === "*" || d.server === dest.server) && (d.namespace === "*" || d.namespace === (dest.namespace ?? "")),
  );
  // Argo CD matches destination.namespace against the project even for
  // cluster-scoped content: "" matches no destination and the app is refused.
  if (!dest.namespace) out.push(`spec.destination.namespace is empty: AppProject ${name} refuses it (set one of its destination namespaces, even for cluster-scoped content)`);
  else if (!ok) out.push(`AppProject ${name} has no destination ${dest.server} namespace ${dest.namespace}`);
  return out;
}

function allowed(list: ResourceRule[] | undefined, group: string, kind: string): boolean {
  return (list ?? []).some((e) => (e.group === "*" || (e.group ?? "") === group) && (e.kind === "*" || e.kind === kind));
}

/** Every object a repo-sourced Application deploys is of a kind, and in a namespace, its AppProject allows. */
export function projectResources(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const [name, rendered] of ctx.render.byApplication) {
    const app = applicationOf(ctx, name).object as Application;
    const destination = app.spec?.destination?.namespace ?? "";
    const project = ctx.projects.get(app.spec?.project as string);
    if (!project) continue;
    for (const r of rendered) {
      const o = r.object;
      const group = groupOf(o.apiVersion ?? "");
      const ns = o.metadata?.namespace ?? destination;
      if (CLUSTER_SCOPED.has(o.kind)) {
        if (!allowed(project.spec?.clusterResourceWhitelist, group, o.kind)) problem(r, `AppProject ${project.metadata?.name} does not allow cluster-scoped ${group || "core"}/${o.kind}`);
      } else {
        const list = project.spec?.namespaceResourceWhitelist;
        if (list && !allowed(list, group, o.kind)) problem(r, `AppProject ${project.metadata?.name} does not allow ${group || "core"}/${o.kind}`);
        if (!(project.spec?.destinations ?? []).some((d) => d.namespace === "*" || d.namespace === ns)) problem(r, `AppProject ${project.metadata?.name} has no destination for namespace ${ns}`);
      }
    }
  }
  return problems;
}
