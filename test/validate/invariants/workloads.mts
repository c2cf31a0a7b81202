// Invariant: every workload of ours is a restricted workload: a pinned
// image, cpu and memory requests and limits, readiness and liveness probes
// (not on init containers), non-root, read-only root filesystem, no privilege
// escalation, all capabilities dropped, the RuntimeDefault seccomp profile.
import { imageProblem } from "./image-pins.mts";
import { collect, containersOf, podSpecOf, type ClusterContext, type Problem } from "./types.mts";

/** The restricted-workload rules for one Pod-bearing object of ours. */
export function workloadProblems(o: Record<string, any>): string[] {
  const pod = podSpecOf(o);
  if (!pod) return [];
  const out: string[] = [];
  const psc = pod.securityContext ?? {};
  for (const { name, init, c } of containersOf(pod)) {
    const where = `container ${name}`;
    const sc = c.securityContext ?? {};
    const img = imageProblem(c.image);
    if (img) out.push(`${where}: ${img}`);
    for (const kind of ["requests", "limits"] as const) {
      for (const res of ["cpu", "memory"] as const) if (c.resources?.[kind]?.[res] === undefined) out.push(`${where}: no ${res} ${kind.slice(0, -1)}`);
    }
    if (!init && !c.readinessProbe) out.push(`${where}: no readinessProbe`);
    if (!init && !c.livenessProbe) out.push(`${where}: no livenessProbe`);
    if ((sc.runAsNonRoot ?? psc.runAsNonRoot) !== true) out.push(`${where}: runAsNonRoot is not true`);
    if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
    if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
    if (!(sc.capabilities?.drop ?? []).includes("ALL")) out.push(`${where}: capabilities.drop does not include ALL`);
    if ((sc.seccompProfile?.type ?? psc.seccompProfile?.type) !== "RuntimeDefault") out.push(`${where}: seccompProfile is not RuntimeDefault`);
  }
  return out;
}

/** The workload rules over everything the repo-sourced Applications deploy. */
export function restrictedWorkloads(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  for (const rendered of ctx.render.byApplication.values()) {
    for (const r of rendered) for (const p of workloadProblems(r.object)) problem(r, p);
  }
  return problems;
}
