// Invariant: the platform fits the kind budget. Sums the requests of every
// long-running pod (replicas, HPA minimums and init containers counted as
// Kubernetes schedules them), of chart values, and of patches on remote
// manifests (Argo CD's own); the sum is the report's requests.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";
import { remoteEntries, type Rendered } from "../../lib/render.mts";
import { collect, isWorkload, podSpecOf, type ClusterContext, type Problem, type Requests } from "./types.mts";

/** What a kind cluster on an 8 GB laptop can give the platform. */
export const KIND_BUDGET = { cpuMilli: 4000, memoryBytes: 6 * 1024 ** 3 };

/** `1.5` -> 1500, `250m` -> 250 */
export function cpuMilli(q: unknown): number {
  if (q === undefined || q === null) return 0;
  const s = String(q);
  return s.endsWith("m") ? Number(s.slice(0, -1)) : Math.round(Number(s) * 1000);
}

const UNITS: Record<string, number> = { "": 1, k: 1e3, M: 1e6, G: 1e9, T: 1e12, Ki: 1024, Mi: 1024 ** 2, Gi: 1024 ** 3, Ti: 1024 ** 4 };
export function memoryBytes(q: unknown): number {
  if (q === undefined || q === null) return 0;
  const m = /^(\d+(?:\.\d+)?)([kMGT]i?|)$/.exec(String(q));
  return m ? Number(m[1]) * (UNITS[m[2]!] ?? 1) : NaN;
}

/** Requests set in chart values: every `resources.requests` block, times a sibling replicas/replicaCount. */
export function valuesRequests(values: unknown, path: string, into: Requests): void {
  if (!values || typeof values !== "object" || Array.isArray(values)) return;
  const v = values as Record<string, any>;
  const requests = v.resources?.requests;
  if (requests && typeof requests === "object") {
    const replicas = Number(v.replicas ?? v.replicaCount ?? v.deployment?.replicas ?? 1);
    into.cpuMilli += cpuMilli(requests.cpu) * replicas;
    into.memoryBytes += memoryBytes(requests.memory) * replicas;
    into.counted.push(`${path}.resources.requests${replicas !== 1 ? ` x${replicas}` : ""}`);
  }
  for (const [key, child] of Object.entries(v)) if (key !== "resources") valuesRequests(child, `${path}.${key}`, into);
}

function podRequests(o: Record<string, any>, replicas: number, into: Requests, label: string): void {
  const pod = podSpecOf(o);
  if (!pod || replicas === 0) return;
  // Init containers run before the others: a pod requests the larger of the two.
  let cpu = 0;
  let mem = 0;
  for (const c of pod.containers ?? []) {
    cpu += cpuMilli(c.resources?.requests?.cpu);
    mem += memoryBytes(c.resources?.requests?.memory);
  }
  for (const c of pod.initContainers ?? []) {
    cpu = Math.max(cpu, cpuMilli(c.resources?.requests?.cpu));
    mem = Math.max(mem, memoryBytes(c.resources?.requests?.memory));
  }
  into.cpuMilli += cpu * replicas;
  into.memoryBytes += mem * replicas;
  into.counted.push(`${label}${replicas !== 1 ? ` x${replicas}` : ""}`);
}

function countRequests(o: Record<string, any>, siblings: Rendered[], into: Requests, label: string): void {
  if (!isWorkload(o)) return;
  if (o.kind === "CronJob" && o.spec?.suspend === true) return; // runs only when verify starts it
  if (o.kind === "Job" || o.kind === "CronJob") return; // short-lived
  let replicas = o.kind === "DaemonSet" ? 1 : Number(o.spec?.replicas ?? 1);
  const hpa = siblings.find((s) => s.object.kind === "HorizontalPodAutoscaler" && s.object.spec?.scaleTargetRef?.name === o.metadata?.name);
  if (hpa) replicas = Math.max(replicas, Number(hpa.object.spec?.minReplicas ?? 1));
  podRequests(o, replicas, into, label);
}

/** The cluster's requests (the report part): chart values, then rendered workloads, then patches on remote manifests. */
export function clusterRequests(ctx: ClusterContext): Requests {
  const requests: Requests = { cpuMilli: 0, memoryBytes: 0, counted: [] };
  for (const app of ctx.apps) {
    const source = app.object.spec?.source;
    if (source?.chart) valuesRequests(source.helm?.valuesObject, `${app.object.metadata.name}(${source.chart})`, requests);
  }
  for (const [name, rendered] of ctx.render.byApplication) {
    for (const r of rendered) countRequests(r.object, rendered, requests, `${name}:${r.object.kind}/${r.object.metadata?.name}`);
  }
  // Requests set by patches on remote (not rendered) manifests, e.g. Argo CD's own.
  for (const remote of remoteEntries({ root: ctx.root })) {
    const app = ctx.apps.find((a) => a.object.spec?.source?.path === remote.kustomization.replace(/\/kustomization\.ya?ml$/, ""));
    if (!app) continue;
    for (const patch of remote.droppedPatches) {
      const file = join(ctx.root, remote.kustomization.replace(/kustomization\.ya?ml$/, ""), patch);
      if (!existsSync(file)) continue;
      for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
        const o = doc.toJS();
        if (o && isWorkload(o)) podRequests(o, Number(o.spec?.replicas ?? 1), requests, `${app.object.metadata.name}:${o.kind}/${o.metadata?.name} (patch)`);
      }
    }
  }
  return requests;
}

/** On kind, the requests stay within KIND_BUDGET. */
export function kindBudget(ctx: ClusterContext): Problem[] {
  if (ctx.cluster !== "kind") return [];
  const { cpuMilli: cpu, memoryBytes: mem } = clusterRequests(ctx);
  const { problems, problem } = collect();
  if (cpu > KIND_BUDGET.cpuMilli || mem > KIND_BUDGET.memoryBytes) {
    problem({ source: ctx.rootFile }, `platform requests ${cpu}m CPU / ${(mem / 1024 ** 3).toFixed(2)} GiB memory exceed the kind budget (${KIND_BUDGET.cpuMilli}m / 6 GiB on an 8 GB laptop)`);
  }
  return problems;
}
