// Argo CD: the root Application that hands the cluster over to git, the
// day-0 install, and watching Applications until they are Synced and Healthy
// (or explaining why not). Shared by bootstrap, status and verify.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import type { Config } from "./config.mts";
import { UserError } from "./errors.mts";
import { FIELD_MANAGER, describeObject, isReady, kubectl, parseManifests, secretData, type Kube, type KubeObject, type WaitOutcome } from "./kube.mts";
import { appImagePolicyPatches } from "./image.mts";
import { monitoringPatches, notificationsPatches, type AlertConfig } from "./alerts.mts";
import { lastLine, type Runner } from "./runner.mts";

export const ARGOCD_NAMESPACE = "argocd";
export const ROOT_APP = "root";
export const APPLICATION = { apiVersion: "argoproj.io/v1alpha1", kind: "Application" } as const;
/** Child Applications with this label point at this repository (gitops/README.md, Conventions). */
export const SOURCE_LABEL = "giropops.dev/source";
/** What the Applications and AppProjects in git say; the root Application patches it. */
export const PLACEHOLDER_SOURCE = { repoURL: "https://github.com/giropops/giropops-platform.git", targetRevision: "main" } as const;

export type RootInput = Pick<Config, "cluster"> & Partial<Pick<Config, "gitRepoUrl" | "gitRevision" | "domain">> & AlertConfig;

type JsonPatch = { op: "replace"; path: string; value: string }[];

/** The one change every AppProject gets: the user's repository replaces the placeholder (listed first). */
export function projectSourcePatch(repoURL: string): JsonPatch {
  return [{ op: "replace", path: "/spec/sourceRepos/0", value: repoURL }];
}

/** Applies a JSON6902 replace patch to a copy of `object` (only what projectSourcePatch produces). */
function patched<T extends Record<string, any>>(object: T, patch: JsonPatch): T {
  const copy = structuredClone(object);
  for (const op of patch) {
    const keys = op.path.split("/").slice(1);
    const last = keys.pop()!;
    const parent = keys.reduce<any>((node, key) => node?.[key], copy);
    if (parent === undefined || !(last in parent)) throw new Error(`cannot replace ${op.path}: it does not exist in ${describeObject(object as unknown as KubeObject)}`);
    parent[last] = op.value;
  }
  return copy;
}

/**
 * The AppProjects (gitops/projects) as bootstrap applies them at day 0: the
 * same /spec/sourceRepos/0 replacement the root Application's patches make,
 * so project platform admits the root Application before Argo CD syncs it.
 */
export function projectsForRepo(objects: KubeObject[], repoURL: string): KubeObject[] {
  return objects.map((object) => (object.kind === "AppProject" ? patched(object, projectSourcePatch(repoURL)) : object));
}

/**
 * The root Application (not in git): clusters/<cluster> from the user's repo
 * and revision, passed down to every child Application labelled
 * giropops.dev/source=git and to every AppProject by kustomize patches
 * (on OKE also into the app image policies, see appImagePolicyPatches); the
 * alert destinations set in .env choose the receivers (alerts.mts).
 * Offline validation renders with exactly these patches.
 */
export function rootApplication(config: RootInput): KubeObject {
  const repoURL = config.gitRepoUrl ?? PLACEHOLDER_SOURCE.repoURL;
  const targetRevision = config.gitRevision ?? PLACEHOLDER_SOURCE.targetRevision;
  const group = "argoproj.io";
  return {
    apiVersion: APPLICATION.apiVersion,
    kind: APPLICATION.kind,
    metadata: { name: ROOT_APP, namespace: ARGOCD_NAMESPACE, labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER } },
    spec: {
      project: "platform",
      source: {
        repoURL,
        targetRevision,
        path: `clusters/${config.cluster}`,
        kustomize: {
          patches: [
            {
              target: { group, kind: "Application", labelSelector: `${SOURCE_LABEL}=git` },
              patch: JSON.stringify([
                { op: "replace", path: "/spec/source/repoURL", value: repoURL },
                { op: "replace", path: "/spec/source/targetRevision", value: targetRevision },
              ]),
            },
            { target: { group, kind: "AppProject" }, patch: JSON.stringify(projectSourcePatch(repoURL)) },
            // Runbook links follow the repository; alert destinations not set in .env leave the receivers.
            ...monitoringPatches(repoURL, targetRevision, config),
            ...notificationsPatches(config),
            // OKE pulls the app from the repository owner's GHCR: the image policies name that owner.
            ...(config.cluster === "oke" ? appImagePolicyPatches(repoURL) : []),
          ],
        },
      },
      destination: { server: "https://kubernetes.default.svc", namespace: ARGOCD_NAMESPACE },
      syncPolicy: {
        automated: { prune: true, selfHeal: true },
        // A person may pause auto-sync on one child to roll it back; root must not undo that.
        syncOptions: ["RespectIgnoreDifferences=true"],
        retry: { limit: 10, backoff: { duration: "10s", factor: 2, maxDuration: "5m" } },
      },
      ignoreDifferences: [{ group, kind: "Application", jsonPointers: ["/spec/syncPolicy/automated/enabled"] }],
      revisionHistoryLimit: 10,
    },
  };
}

/** Argo CD's declarative repository: a Secret labelled secret-type=repository. */
export function repositorySecret(url: string, sshPrivateKey: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: "repo-giropops-platform",
      namespace: ARGOCD_NAMESPACE,
      labels: { "argocd.argoproj.io/secret-type": "repository", "app.kubernetes.io/managed-by": FIELD_MANAGER },
    },
    type: "Opaque",
    data: secretData({ type: "git", url, sshPrivateKey }),
  };
}

/** A kustomization whose resources include a URL needs the network to render. */
export function remoteResources(dir: string): string[] {
  const file = ["kustomization.yaml", "kustomization.yml", "Kustomization"].map((name) => join(dir, name)).find(existsSync);
  if (!file) return [];
  const kustomization = (parseYaml(readFileSync(file, "utf8")) ?? {}) as { resources?: unknown[] };
  return (kustomization.resources ?? []).filter((r): r is string => typeof r === "string" && /^(https?:\/\/|github\.com\/|git@|ssh:\/\/)/.test(r));
}

/** `kubectl kustomize <path>` (relative to the repository root) through the runner, parsed into objects. */
export async function renderKustomization(runner: Runner, root: string, path: string): Promise<KubeObject[]> {
  const dir = join(root, path);
  if (!existsSync(dir)) throw new UserError(`${path} does not exist in this checkout`, { fix: "update your checkout (git pull); bootstrap applies it at day 0" });
  const result = await runner.run("kubectl", ["kustomize", path], { cwd: root, readOnly: true, check: false });
  if (result.code !== 0) {
    throw new UserError(`rendering ${path} failed: ${lastLine(result.stderr)}`, {
      fix: `run "kubectl kustomize ${path}" to see the whole error${remoteResources(dir).length ? "; its remote resources need network access" : ""}`,
    });
  }
  return parseManifests(result.stdout);
}

/** Waits until every CRD, Deployment and StatefulSet among `objects` is ready; else a UserError naming the laggards. */
export async function waitForReady(kube: Kube, objects: KubeObject[], options: { timeoutMs: number; pollMs?: number; onProgress?: (text: string) => void }): Promise<void> {
  const groups = new Map<string, { apiVersion: string; kind: string; namespace?: string; names: Set<string> }>();
  for (const object of objects) {
    if (!["CustomResourceDefinition", "Deployment", "StatefulSet"].includes(object.kind)) continue;
    const key = `${object.apiVersion}|${object.kind}|${object.metadata.namespace ?? ""}`;
    const group = groups.get(key) ?? { apiVersion: object.apiVersion, kind: object.kind, namespace: object.metadata.namespace, names: new Set() };
    group.names.add(object.metadata.name);
    groups.set(key, group);
  }
  const deadline = Date.now() + options.timeoutMs;
  for (const group of groups.values()) {
    const notReady = (items: KubeObject[]) => [...group.names].filter((name) => !items.some((item) => item.metadata.name === name && isReady(item)));
    const outcome = await kube.waitUntil({ apiVersion: group.apiVersion, kind: group.kind, namespace: group.namespace }, {
      timeoutMs: Math.max(0, deadline - Date.now()),
      pollMs: options.pollMs,
      done: (items) => notReady(items).length === 0,
      onChange: (items) => {
        const waiting = notReady(items);
        options.onProgress?.(`${group.kind}: ${group.names.size - waiting.length}/${group.names.size} ready${waiting.length ? ` (waiting for ${waiting.slice(0, 3).join(", ")}${waiting.length > 3 ? ", …" : ""})` : ""}`);
      },
    });
    if (outcome.outcome !== "done") {
      const waiting = notReady(outcome.items);
      const first = waiting[0] ?? "";
      throw new UserError(`timed out waiting for ${group.kind} ${waiting.join(", ")} to be ready`, {
        fix: `look at ${kubectl(kube.target, ...(group.namespace ? ["-n", group.namespace] : []), "describe", group.kind.toLowerCase(), first)}, then re-run bootstrap (it resumes)`,
      });
    }
  }
}

/** True when the root Application exists: Argo CD runs from git and owns itself. */
export async function handedOver(kube: Kube): Promise<boolean> {
  return (await kube.get(APPLICATION.apiVersion, APPLICATION.kind, ROOT_APP, ARGOCD_NAMESPACE)) !== undefined;
}

/** Argo CD's field manager for server-side apply (argo-cd v3.5.1 common/common.go ArgoCDSSAManager). */
export const ARGOCD_FIELD_MANAGER = "argocd-controller";

/** The kinds bootstrap applies at day 0 (gitops/argocd and gitops/projects render to these), namespaced ones in argocd. */
const DAY0_KINDS: { apiVersion: string; kind: string; namespaced: boolean }[] = [
  { apiVersion: "apiextensions.k8s.io/v1", kind: "CustomResourceDefinition", namespaced: false },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRole", namespaced: false },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "ClusterRoleBinding", namespaced: false },
  { apiVersion: "v1", kind: "ServiceAccount", namespaced: true },
  { apiVersion: "v1", kind: "ConfigMap", namespaced: true },
  { apiVersion: "v1", kind: "Secret", namespaced: true },
  { apiVersion: "v1", kind: "Service", namespaced: true },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "Role", namespaced: true },
  { apiVersion: "rbac.authorization.k8s.io/v1", kind: "RoleBinding", namespaced: true },
  { apiVersion: "apps/v1", kind: "Deployment", namespaced: true },
  { apiVersion: "apps/v1", kind: "StatefulSet", namespaced: true },
  { apiVersion: "networking.k8s.io/v1", kind: "NetworkPolicy", namespaced: true },
  { apiVersion: "argoproj.io/v1alpha1", kind: "AppProject", namespaced: true },
];

type ManagedFieldsEntry = { manager?: string; operation?: string };


/**
 * Once Argo CD applies the day-0 objects from git itself, bootstrap's field
 * manager lets go of them: otherwise a field later removed from git stays in
 * the cluster, still owned by the day-0 apply. Only objects Argo CD co-owns
 * (its server-side apply manager is in managedFields) are handed over; each
 * removal is guarded by a JSON patch `test` of the entry it removes
 * (kubernetes.io docs, Server-Side Apply: "Transferring ownership" and
 * clearing managedFields with a non-apply patch).
 */
export async function handOverFieldOwnership(kube: Kube): Promise<string[]> {
  const handed: string[] = [];
  for (const type of DAY0_KINDS) {
    const objects = await kube.list({ apiVersion: type.apiVersion, kind: type.kind, ...(type.namespaced ? { namespace: ARGOCD_NAMESPACE } : {}) }).catch(() => []);
    for (const object of objects) {
      const entries = (object.metadata.managedFields ?? []) as ManagedFieldsEntry[];
      const ours = entries.findIndex((e) => e.manager === FIELD_MANAGER && e.operation === "Apply");
      if (ours === -1 || !entries.some((e) => e.manager === ARGOCD_FIELD_MANAGER)) continue;
      await kube.jsonPatch(object, [
        { op: "test", path: `/metadata/managedFields/${ours}/manager`, value: FIELD_MANAGER },
        { op: "remove", path: `/metadata/managedFields/${ours}` },
      ]);
      handed.push(describeObject(object));
    }
  }
  return handed;
}

// ---------------------------------------------------------------- Applications

export type AppState = {
  name: string;
  sync: string;
  health: string;
  revision: string;
  message?: string;
  operation?: string;
};

/** The first managed resource whose persisted health (controller.resource.health.persist) says why. */
function unhealthyResource(resources: ResourceStatus[] | undefined): string | undefined {
  const bad = (resources ?? []).find((r) => r.health?.message && r.health.status !== "Healthy");
  return bad && `${bad.kind} ${bad.namespace ? `${bad.namespace}/` : ""}${bad.name}: ${bad.health!.message}`;
}

export function appState(app: KubeObject): AppState {
  const status = app.status ?? {};
  const operation = status.operationState;
  return {
    name: app.metadata.name,
    sync: status.sync?.status ?? "Unknown",
    health: status.health?.status ?? "Unknown",
    revision: String(status.sync?.revision ?? "").slice(0, 7) || "-",
    // status.health.message is deprecated and never written (argo-cd v3.5.1
    // pkg/apis/application/v1alpha1/types.go AppHealthStatus): conditions say why.
    message: (status.conditions ?? [])[0]?.message ?? unhealthyResource(status.resources),
    operation: operation && operation.phase !== "Succeeded" ? `${operation.phase}${operation.message ? `: ${operation.message}` : ""}` : undefined,
  };
}

const isGood = (app: AppState) => app.sync === "Synced" && app.health === "Healthy";

/** The child Applications the root says it manages. */
function expectedChildren(apps: KubeObject[]): string[] {
  const root = apps.find((app) => app.metadata.name === ROOT_APP);
  const resources = (root?.status?.resources ?? []) as { kind?: string; name?: string }[];
  return resources.filter((r) => r.kind === "Application" && r.name).map((r) => r.name!);
}

/** Done: root exists, every child it lists exists, and all are Synced and Healthy. */
export function allSyncedAndHealthy(apps: KubeObject[]): boolean {
  if (!apps.some((app) => app.metadata.name === ROOT_APP)) return false;
  const names = new Set(apps.map((app) => app.metadata.name));
  return expectedChildren(apps).every((name) => names.has(name)) && apps.map(appState).every(isGood);
}

export function progressText(apps: KubeObject[]): string {
  const states = apps.map(appState).sort((a, b) => (a.name === ROOT_APP ? -1 : b.name === ROOT_APP ? 1 : a.name.localeCompare(b.name)));
  const width = Math.max(0, ...states.map((s) => s.name.length));
  const present = new Set(states.map((s) => s.name));
  const missing = expectedChildren(apps).filter((name) => !present.has(name));
  return [
    ...states.map((s) => `${isGood(s) ? "✔" : s.health === "Degraded" || s.operation?.startsWith("Failed") ? "✖" : "…"} ${s.name.padEnd(width)}  ${s.sync.padEnd(10)} ${s.health}`),
    ...missing.map((name) => `… ${name.padEnd(width)}  (not created yet)`),
  ].join("\n");
}

/**
 * How long an Application may stay bad (Degraded, or its sync Failed) with
 * nothing about it changing before bootstrap gives up on it. A first sync on
 * a laptop passes through Degraded on its way to Healthy (a ClusterIssuer
 * before its Secret, Prometheus' NoPodReady while images pull, an HPA before
 * metrics arrive); those states change as they resolve, and every change
 * restarts the clock.
 */
export const DEGRADED_GRACE_MS = 5 * 60_000;

export type WatchOptions = {
  timeoutMs: number;
  pollMs?: number;
  /** How long an app may stay Degraded (or its sync Failed) without progress before we stop waiting. */
  degradedGraceMs?: number;
  /** Applications that wait on something outside the cluster (DNS): Degraded does not end the watch, the timeout does. */
  patient?: readonly string[];
  onProgress?: (text: string) => void;
};

/** What counts as progress of an app: its sync, health, operation and each resource's status and health. */
function progressMark(app: KubeObject): string {
  const status = app.status ?? {};
  const resources = ((status.resources ?? []) as ResourceStatus[]).map((r) => `${r.kind}/${r.namespace ?? ""}/${r.name}=${r.status ?? ""}/${r.health?.status ?? ""}`);
  const results = ((status.operationState?.syncResult?.resources ?? []) as SyncResult[]).map((r) => `${r.kind}/${r.name}=${r.status ?? ""}/${r.hookPhase ?? ""}`);
  return JSON.stringify([status.sync?.status, status.sync?.revision, status.health?.status, status.operationState?.phase, status.operationState?.retryCount, resources, results]);
}

/** Watches every Application in argocd until all are Synced and Healthy, one stays Degraded without progress, or time runs out. */
export async function watchApplications(kube: Kube, options: WatchOptions): Promise<WaitOutcome<KubeObject>> {
  const grace = options.degradedGraceMs ?? DEGRADED_GRACE_MS;
  const badSince = new Map<string, { since: number; mark: string }>();
  return kube.waitUntil({ ...APPLICATION, namespace: ARGOCD_NAMESPACE }, {
    timeoutMs: options.timeoutMs,
    pollMs: options.pollMs,
    done: allSyncedAndHealthy,
    onChange: (apps) => options.onProgress?.(progressText(apps)),
    failed: (apps) => {
      const now = Date.now();
      for (const app of apps) {
        const state = appState(app);
        const degraded = state.health === "Degraded" && !options.patient?.includes(state.name);
        const bad = degraded || state.operation?.startsWith("Failed") || state.operation?.startsWith("Error");
        const mark = progressMark(app);
        const seen = badSince.get(state.name);
        if (!bad) badSince.delete(state.name);
        else if (!seen || seen.mark !== mark) badSince.set(state.name, { since: now, mark });
        if (bad && now - badSince.get(state.name)!.since >= grace) {
          const minutes = Math.round(grace / 60_000);
          return `${state.name} is ${state.health === "Degraded" ? "Degraded" : `failing to sync (${state.operation})`}${grace > 0 ? `, unchanged for ${minutes >= 1 ? `${minutes} min` : `${Math.round(grace / 1000)}s`}` : ""}`;
        }
      }
      return undefined;
    },
  });
}

type ResourceStatus = { group?: string; version: string; kind: string; namespace?: string; name: string; status?: string; health?: { status?: string; message?: string } };
type SyncResult = { group?: string; version?: string; kind: string; namespace?: string; name: string; status?: string; message?: string; hookPhase?: string };

/** A live object's conditions that say something is wrong (status False/Unknown where True is good, or a failure reason). */
function badConditions(object: KubeObject | undefined): { type: string; status: string; reason?: string; message?: string }[] {
  const conditions = (object?.status?.conditions ?? []) as { type: string; status: string; reason?: string; message?: string }[];
  // Conditions whose True means trouble (Deployment's ReplicaFailure, Pod's DisruptionTarget, …).
  const troubleWhenTrue = /Failure|Failed|Degraded|Stalled|DisruptionTarget/;
  return conditions.filter((c) => (troubleWhenTrue.test(c.type) ? c.status === "True" : c.status !== "True") || /Failure|Error/.test(c.reason ?? ""));
}

const apiVersionOf = (r: { group?: string; version?: string }) => (r.group ? `${r.group}/${r.version ?? ""}` : r.version ?? "v1");

/**
 * Why the platform is not healthy: per app, the reasons Argo CD recorded
 * (status.conditions, status.operationState and its failed sync results), its
 * unhealthy resources with their conditions and last events, and what to run
 * next. Argo CD 3.x keeps per-resource health out of the Application unless
 * controller.resource.health.persist is "true" (gitops/argocd sets it); when
 * no resource carries health, the live objects' conditions are judged instead.
 */
export async function diagnose(kube: Kube, apps: KubeObject[]): Promise<string[]> {
  const lines: string[] = [];
  const present = new Set(apps.map((app) => app.metadata.name));
  for (const name of expectedChildren(apps).filter((n) => !present.has(n))) {
    lines.push(`✖ ${name}: not created yet (root has not synced it)`);
  }
  let next: string | undefined;
  for (const app of apps) {
    const state = appState(app);
    if (isGood(state)) continue;
    lines.push(`✖ ${state.name}: ${state.sync} / ${state.health}`);
    for (const c of (app.status?.conditions ?? []) as { type: string; message?: string }[]) lines.push(`    ${c.type}: ${c.message ?? ""}`);
    if (state.operation) lines.push(`    last sync: ${state.operation}`);
    const results = ((app.status?.operationState?.syncResult?.resources ?? []) as SyncResult[]).filter((r) => r.status === "SyncFailed" || r.hookPhase === "Failed" || r.hookPhase === "Error");
    for (const r of results.slice(0, 5)) lines.push(`    ${describeObject({ kind: r.kind, metadata: { name: r.name, namespace: r.namespace || undefined } })}: ${r.status ?? r.hookPhase}${r.message ? ` — ${r.message}` : ""}`);

    const all = ((app.status?.resources ?? []) as ResourceStatus[]).filter((r) => r.kind !== "Application");
    const healthPersisted = all.some((r) => r.health !== undefined);
    const shown: { resource: ResourceStatus; object: KubeObject | undefined; bad: ReturnType<typeof badConditions> }[] = [];
    let looked = 0;
    for (const resource of all) {
      if (shown.length >= 5 || looked >= 40) break;
      const flagged = (resource.health?.status && resource.health.status !== "Healthy") || resource.status === "OutOfSync";
      if (healthPersisted && !flagged) continue;
      looked++;
      const object = await kube.get(apiVersionOf(resource), resource.kind, resource.name, resource.namespace).catch(() => undefined);
      const bad = badConditions(object);
      if (!flagged && bad.length === 0) continue;
      shown.push({ resource, object, bad });
    }
    for (const { resource, bad } of shown) {
      const ref = { kind: resource.kind, metadata: { name: resource.name, namespace: resource.namespace } };
      const judged = [resource.status, resource.health?.status].filter(Boolean).join(" / ");
      lines.push(`    ${describeObject(ref)}: ${judged || "not ready"}${resource.health?.message ? ` — ${resource.health.message}` : ""}`);
      for (const c of bad) lines.push(`      condition ${c.type}=${c.status}${c.reason ? ` (${c.reason})` : ""}${c.message ? `: ${c.message}` : ""}`);
      if (resource.namespace) {
        const events = await kube
          .list({ apiVersion: "v1", kind: "Event", namespace: resource.namespace, fieldSelector: `involvedObject.kind=${resource.kind},involvedObject.name=${resource.name}` })
          .catch(() => []);
        const when = (e: KubeObject) => String(e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? "");
        for (const event of events.sort((a, b) => when(a).localeCompare(when(b))).slice(-3)) {
          lines.push(`      event ${event.type ?? ""} ${event.reason ?? ""}: ${event.message ?? ""}`.replace(/\s+/g, " ").trimEnd());
        }
      }
      next ??= kubectl(kube.target, ...(resource.namespace ? ["-n", resource.namespace] : []), "describe", resource.kind.toLowerCase(), resource.name);
    }
    next ??= kubectl(kube.target, "-n", ARGOCD_NAMESPACE, "get", "application", state.name, "-o", "yaml");
  }
  if (next) lines.push("", `next: ${next}`, "then re-run bootstrap: it resumes and keeps waiting");
  return lines;
}

/** Argo CD's own Deployments and StatefulSets in argocd are ready. */
export async function argoCdRunning(kube: Kube): Promise<boolean> {
  const workloads = [
    ...(await kube.list({ apiVersion: "apps/v1", kind: "Deployment", namespace: ARGOCD_NAMESPACE })),
    ...(await kube.list({ apiVersion: "apps/v1", kind: "StatefulSet", namespace: ARGOCD_NAMESPACE })),
  ];
  return workloads.length > 0 && workloads.every(isReady);
}
