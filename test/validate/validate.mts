// The offline validation of the GitOps tree: render every cluster the way
// Argo CD would (scripts/lib/render.mts), validate every object against real
// schemas, and check the platform's invariants. Problems name the file and
// the object; `npm run validate` (main.mts) prints them with a short report.
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { parseAllDocuments } from "yaml";
import { CLUSTER_KINDS, type ClusterKind } from "../../scripts/lib/config.mts";
import { DAY0_KUSTOMIZATIONS } from "../../scripts/lib/plan.mts";
import { pinChecks, type PinsReport } from "./pin-checks.mts";
import {
  REPO_ROOT,
  RenderError,
  SAMPLE_REPO,
  SOURCE_LABEL,
  describe,
  findKustomizations,
  isApplication,
  isRepoSourced,
  kustomize,
  remoteEntries,
  renderApplication,
  renderRoot,
  rootApplicationFor,
  rootBuilderSource,
  type RemoteEntry,
  type RenderOptions,
  type Rendered,
} from "../lib/render.mts";

export type Problem = { file: string; object?: string; message: string };
export type Requests = { cpuMilli: number; memoryBytes: number; counted: string[] };
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

/** What a kind cluster on an 8 GB laptop can give the platform. */
export const KIND_BUDGET = { cpuMilli: 4000, memoryBytes: 6 * 1024 ** 3 };

/** The platform Gateway every HTTPRoute attaches to, and the Application running its controller. */
export const PLATFORM_GATEWAY = { name: "platform", namespace: "traefik", controller: "traefik" };

/** Domain of each cluster's hostnames (render.mts's sample config uses example.com for OKE). */
export const CLUSTER_DOMAIN: Record<ClusterKind, string> = { kind: "localhost", minikube: "localhost", oke: "example.com" };

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

const CLUSTER_SCOPED = new Set([
  "Namespace", "CustomResourceDefinition", "ClusterRole", "ClusterRoleBinding", "ValidatingWebhookConfiguration",
  "MutatingWebhookConfiguration", "ValidatingAdmissionPolicy", "ValidatingAdmissionPolicyBinding", "APIService",
  "GatewayClass", "PriorityClass", "StorageClass", "PersistentVolume", "ClusterPolicy", "ValidatingPolicy",
  "ImageValidatingPolicy", "MutatingPolicy", "GeneratingPolicy", "DeletingPolicy", "ClusterIssuer",
]);

const POD_TEMPLATE: Record<string, (o: any) => any> = {
  Deployment: (o) => o.spec?.template?.spec,
  StatefulSet: (o) => o.spec?.template?.spec,
  DaemonSet: (o) => o.spec?.template?.spec,
  ReplicaSet: (o) => o.spec?.template?.spec,
  Job: (o) => o.spec?.template?.spec,
  CronJob: (o) => o.spec?.jobTemplate?.spec?.template?.spec,
  Pod: (o) => o.spec,
};

// ---- schemas -------------------------------------------------------------------

const MODEL_PACKAGES = [
  "kubernetes-models",
  "@kubernetes-models/argo-cd",
  "@kubernetes-models/prometheus-operator",
  "@kubernetes-models/gateway-api",
  "@kubernetes-models/cert-manager",
  "@kubernetes-models/kyverno",
  "@kubernetes-models/traefik",
  "@kubernetes-models/sealed-secrets",
];
type Model = new (data: any) => { validate(): void };
const models = new Map<string, Model | null>();

async function loadModel(apiVersion: string, kind: string): Promise<Model | null> {
  const key = `${apiVersion}/${kind}`;
  if (models.has(key)) return models.get(key)!;
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) as [string, string] : ["", apiVersion];
  let model: Model | null = null;
  for (const pkg of MODEL_PACKAGES) {
    const file = join(REPO_ROOT, "node_modules", pkg, group, version, `${kind}.js`);
    if (!existsSync(file)) continue;
    const mod = await import(file);
    model = (mod[kind] ?? mod.default) as Model;
    break;
  }
  models.set(key, model);
  return model;
}

/** Validates against the schema package; returns an error text, null if valid, or "no-schema". */
export async function schemaCheck(object: Record<string, any>): Promise<string | null | "no-schema"> {
  if (typeof object.apiVersion !== "string" || typeof object.kind !== "string" || !object.metadata?.name) {
    return "apiVersion, kind and metadata.name are required";
  }
  const Model = await loadModel(object.apiVersion, object.kind);
  if (!Model) return "no-schema";
  try {
    new Model(structuredClone(object)).validate();
    return null;
  } catch (error) {
    return (error as Error).message.replace(/^data\//, "").replace(/\bdata\//g, "");
  }
}

// ---- helpers -------------------------------------------------------------------

export function wave(o: Record<string, any>): number {
  return Number(o.metadata?.annotations?.["argocd.argoproj.io/sync-wave"] ?? 0) || 0;
}

function groupOf(apiVersion: string): string {
  return apiVersion.includes("/") ? apiVersion.split("/")[0]! : "";
}

export const EXACT_SEMVER = /^v?\d+\.\d+\.\d+(-[\w.]+)?$/;
const FLOATING_REF = /^(HEAD|main|master|latest|stable|trunk|develop)$/i;

/** An image reference is pinned when it carries a tag other than latest, or a digest. */
export function imageProblem(image: unknown): string | null {
  if (typeof image !== "string" || image.trim() === "") return "has no image";
  if (/@sha256:[a-f0-9]{64}$/.test(image)) return null;
  const last = image.split("/").pop()!;
  if (!last.includes(":")) return `image ${image} has no tag`;
  const tag = last.split(":").pop()!;
  if (tag === "" || tag === "latest") return `image ${image} uses the latest tag`;
  return null;
}

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

function containersOf(pod: any): { name: string; init: boolean; c: any }[] {
  return [
    ...(pod?.initContainers ?? []).map((c: any) => ({ name: c.name, init: true, c })),
    ...(pod?.containers ?? []).map((c: any) => ({ name: c.name, init: false, c })),
  ];
}

/** The restricted-workload rules for one Pod-bearing object of ours. */
export function workloadProblems(o: Record<string, any>): string[] {
  const pod = POD_TEMPLATE[o.kind]?.(o);
  if (!pod) return [];
  const out: string[] = [];
  const psc = pod.securityContext ?? {};
  for (const { name, init, c } of containersOf(pod)) {
    const where = `container ${name}`;
    const sc = c.securityContext ?? {};
    const img = imageProblem(c.image);
    if (img) out.push(`${where}: ${img}`);
    for (const kind of ["requests", "limits"] as const) {
      for (const res of ["cpu", "memory"]) if (c.resources?.[kind]?.[res] === undefined) out.push(`${where}: no ${res} ${kind.slice(0, -1)}`);
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

/** Every image tag or image string set in a chart's valuesObject. */
export function valuesImageProblems(values: unknown, path = "valuesObject"): string[] {
  const out: string[] = [];
  if (Array.isArray(values)) values.forEach((v, i) => out.push(...valuesImageProblems(v, `${path}[${i}]`)));
  else if (values && typeof values === "object") {
    for (const [key, value] of Object.entries(values)) {
      const at = `${path}.${key}`;
      if (key === "tag" && (value === "latest" || value === "")) out.push(`${at} is "${value}"`);
      else if (key === "image" && typeof value === "string") {
        const p = imageProblem(value);
        if (p) out.push(`${at}: ${p}`);
      } else out.push(...valuesImageProblems(value, at));
    }
  }
  return out;
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
  const pod = POD_TEMPLATE[o.kind]?.(o);
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

function allowed(list: { group?: string; kind?: string }[] | undefined, group: string, kind: string): boolean {
  return (list ?? []).some((e) => (e.group === "*" || (e.group ?? "") === group) && (e.kind === "*" || e.kind === kind));
}

// ---- the validation ----------------------------------------------------------------

export async function validate(opts: RenderOptions = {}): Promise<Report> {
  const root = resolve(opts.root ?? REPO_ROOT);
  const problems: Problem[] = [];
  const problem = (r: Rendered | { source: string; object?: Record<string, any> }, message: string) =>
    problems.push({ file: r.source, object: r.object ? describe(r.object) : undefined, message });
  const schemaless: Record<string, number> = {};
  const schemaSeen = new Set<string>();
  let schemaChecked = 0;
  const checkSchema = async (r: Rendered) => {
    const key = `${r.source}\n${JSON.stringify(r.object)}`;
    if (schemaSeen.has(key)) return;
    schemaSeen.add(key);
    const result = await schemaCheck(r.object);
    if (result === "no-schema") {
      const id = `${r.object.apiVersion} ${r.object.kind}`;
      schemaless[id] = (schemaless[id] ?? 0) + 1;
    } else if (result) problem(r, `schema: ${result}`);
    else schemaChecked++;
  };

  const clusters: ClusterReport[] = [];
  for (const cluster of CLUSTER_KINDS) clusters.push(await validateCluster(cluster, root, problem, checkSchema));

  // Every kustomization under apps/ and gitops/ renders on its own.
  const standalone = [...findKustomizations("apps", root), ...findKustomizations("gitops", root)];
  for (const dir of standalone) {
    try {
      for (const r of kustomize(dir, { root })) await checkSchema(r);
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      problems.push({ file: dir, message: error.message });
    }
  }

  // Optional components (an application.yaml no cluster includes yet) must
  // work the day a cluster opts in: same checks on the Application itself.
  const included = new Set(clusters.flatMap((c) => c.applicationFiles));
  const kindProjects = new Map(renderRoot("kind", { root }).filter((r) => r.object.kind === "AppProject").map((r) => [r.object.metadata.name as string, r.object]));
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

  // bootstrap applies these before any CRD but Argo CD's own exists.
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

  const remotes = remoteEntries({ root }).map((e) => {
    const pinned = /\/v?\d+\.\d+\.\d+\//.test(e.url) || /[?&]ref=(v?\d+\.\d+\.\d+|[0-9a-f]{40})\b/.test(e.url);
    if (!pinned) problems.push({ file: e.kustomization, message: `remote resource ${e.url} is not pinned to a release tag or commit` });
    return { ...e, pinned };
  });

  const pins = pinChecks(root);
  problems.push(...pins.problems);

  // One problem once, even when every cluster finds it.
  const unique = new Map(problems.map((p) => [`${p.file}|${p.object}|${p.message}`, p]));
  return { problems: [...unique.values()], clusters, remotes, standalone, optional, schemaless, schemaChecked, rootBuilder: rootBuilderSource, pins: pins.report };
}

/** The checks on an Application object itself (not on what it deploys). */
export function checkApplication(app: Rendered, projects: Map<string, Record<string, any>>, problem: ProblemSink): void {
  const o = app.object;
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

/** What an AppProject would refuse about an Application: its source repository or its destination. */
export function projectRefusal(project: Record<string, any>, app: Record<string, any>): string[] {
  const out: string[] = [];
  const name = project.metadata?.name;
  const repo = app.spec?.source?.repoURL;
  const repos: string[] = project.spec?.sourceRepos ?? [];
  if (repo && !repos.includes("*") && !repos.includes(repo)) out.push(`AppProject ${name} does not list source repository ${repo}`);
  const dest = app.spec?.destination ?? {};
  const ok = (project.spec?.destinations ?? []).some(
    (d: any) => (d.server === "*" || d.server === dest.server) && (d.namespace === "*" || d.namespace === (dest.namespace ?? "")),
  );
  // Argo CD matches destination.namespace against the project even for
  // cluster-scoped content: "" matches no destination and the app is refused.
  if (!dest.namespace) out.push(`spec.destination.namespace is empty: AppProject ${name} refuses it (set one of its destination namespaces, even for cluster-scoped content)`);
  else if (!ok) out.push(`AppProject ${name} has no destination ${dest.server} namespace ${dest.namespace}`);
  return out;
}

type ProblemSink = (r: Rendered | { source: string; object?: Record<string, any> }, message: string) => void;

async function validateCluster(cluster: ClusterKind, root: string, problem: ProblemSink, checkSchema: (r: Rendered) => Promise<void>): Promise<ClusterReport> {
  const report: ClusterReport = { cluster, objects: 0, byKind: {}, applications: [], applicationFiles: [], requests: { cpuMilli: 0, memoryBytes: 0, counted: [] } };
  const rootFile = `clusters/${cluster}/kustomization.yaml`;
  let rootObjects: Rendered[];
  try {
    rootObjects = renderRoot(cluster, { root });
  } catch (error) {
    if (!(error instanceof RenderError)) throw error;
    problem({ source: rootFile }, error.message);
    return report;
  }

  // The root Application bootstrap creates must let a child's auto-sync be
  // switched off in the UI (rollback), or its self-heal turns it back on.
  const rootApp = rootApplicationFor(cluster);
  {
    const src = { source: "scripts/lib/argocd.mts", object: rootApp };
    const result = await schemaCheck(rootApp);
    if (result && result !== "no-schema") problem(src, `schema: ${result}`);
    const ignores = (rootApp.spec?.ignoreDifferences ?? []).some(
      (d: any) => d.kind === "Application" && [...(d.jsonPointers ?? []), ...(d.jqPathExpressions ?? [])].some((p: string) => /syncPolicy[./]automated/.test(p)),
    );
    if (!ignores) problem(src, "root Application must ignoreDifferences on Application /spec/syncPolicy/automated (rollback from the UI)");
    if (!(rootApp.spec?.syncPolicy?.syncOptions ?? []).includes("RespectIgnoreDifferences=true")) {
      problem(src, "root Application must set syncOptions RespectIgnoreDifferences=true (rollback from the UI)");
    }
  }

  const apps = rootObjects.filter((r) => isApplication(r.object));
  report.applicationFiles = [...new Set(apps.map((a) => a.source))];
  const projects = new Map(rootObjects.filter((r) => r.object.kind === "AppProject").map((r) => [r.object.metadata.name as string, r.object]));
  // The root is held to the same rules as its children (project, automated sync, retry, history).
  checkApplication({ source: "scripts/lib/argocd.mts", object: rootApp }, projects, problem);
  const waves = new Map(apps.map((a) => [a.object.metadata.name as string, wave(a.object)]));
  const all: Rendered[] = [...rootObjects];
  const children = new Map<string, Rendered[]>();

  for (const app of apps) {
    const o = app.object;
    const name = o.metadata.name as string;
    const spec = o.spec ?? {};
    const source = spec.source;
    report.applications.push({ name, wave: wave(o), source: source?.chart ? `${source.chart}@${source.targetRevision}` : source?.path ?? "?" });
    checkApplication(app, projects, problem);
    if (!source) continue;
    if (source.chart) {
      valuesRequests(source.helm?.valuesObject, `${name}(${source.chart})`, report.requests);
      const extra = chartExtraObjects(app);
      const consumes = [
        ...(CHART_CONSUMES[name] ?? []),
        ...(JSON.stringify(source.helm?.valuesObject ?? {}).match(/"serviceMonitor":\{"enabled":true/) ? ["monitoring.coreos.com"] : []),
        ...extra.map((r) => groupOf(r.object.apiVersion ?? "")),
      ];
      for (const group of new Set(consumes)) checkWave(app, group, waves, problem);
      all.push(...extra);
      continue;
    }
    if (!isRepoSourced(o)) {
      problem(app, "source is neither a chart nor a path in this repository");
      continue;
    }
    if (o.metadata?.labels?.[SOURCE_LABEL] !== "git") problem(app, `a repo-sourced Application needs label ${SOURCE_LABEL}: git (the root patches repoURL through it)`);
    if (source.repoURL !== SAMPLE_REPO.url) problem(app, `repoURL is ${source.repoURL} after the root patches, expected the user's repository`);
    if (source.targetRevision !== SAMPLE_REPO.revision) problem(app, `targetRevision is ${source.targetRevision} after the root patches, expected ${SAMPLE_REPO.revision}`);
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
    children.set(name, rendered);
    all.push(...rendered);
  }

  // Checks on what each repo-sourced Application deploys.
  const identities = new Map<string, Rendered>();
  for (const r of rootObjects) identities.set(identity(r.object, "argocd"), r);
  for (const [name, rendered] of children) {
    const app = apps.find((a) => a.object.metadata.name === name)!;
    const destination = app.object.spec.destination?.namespace ?? "";
    const project = projects.get(app.object.spec.project);
    const syncOptions: string[] = app.object.spec.syncPolicy?.syncOptions ?? [];
    let usesForeignCrd = false;
    for (const r of rendered) {
      const o = r.object;
      const id = identity(o, destination);
      const twin = identities.get(id);
      if (twin) problem(r, `duplicate object: ${id} is also rendered from ${twin.source}`);
      else identities.set(id, r);
      for (const p of workloadProblems(o)) problem(r, p);
      const group = groupOf(o.apiVersion ?? "");
      const provider = CRD_PROVIDERS[group];
      if (provider && provider !== name && !(group === "argoproj.io")) {
        usesForeignCrd = true;
        checkWave(app, group, waves, problem, r);
      }
      if (o.kind === "HTTPRoute") {
        checkRoute(r, cluster, problem);
        // Argo CD calls an HTTPRoute Healthy only once the Gateway controller
        // has accepted it: in an earlier or the same wave, the sync would wait forever.
        const controller = waves.get(PLATFORM_GATEWAY.controller);
        if (controller !== undefined && wave(app.object) <= controller) {
          problem(r, `sync wave deadlock: Application ${name} (wave ${wave(app.object)}) deploys an HTTPRoute, which stays Progressing until the Gateway controller (${PLATFORM_GATEWAY.controller}, wave ${controller}) runs; move it to a later wave`);
        }
      }
      if (project) {
        const ns = o.metadata?.namespace ?? destination;
        if (CLUSTER_SCOPED.has(o.kind)) {
          if (!allowed(project.spec?.clusterResourceWhitelist, group, o.kind)) problem(r, `AppProject ${project.metadata.name} does not allow cluster-scoped ${group || "core"}/${o.kind}`);
        } else {
          const list = project.spec?.namespaceResourceWhitelist;
          if (list && !allowed(list, group, o.kind)) problem(r, `AppProject ${project.metadata.name} does not allow ${group || "core"}/${o.kind}`);
          if (!(project.spec?.destinations ?? []).some((d: any) => d.namespace === "*" || d.namespace === ns)) problem(r, `AppProject ${project.metadata.name} has no destination for namespace ${ns}`);
        }
      }
      countRequests(o, rendered, report.requests, `${name}:${o.kind}/${o.metadata?.name}`);
    }
    // Traffic the platform relies on must get through the NetworkPolicies.
    for (const r of rendered) {
      if (r.object.kind === "HTTPRoute") {
        for (const ref of r.object.spec?.rules?.flatMap((rule: any) => rule.backendRefs ?? []) ?? []) {
          const ns = ref.namespace ?? r.object.metadata?.namespace ?? destination;
          const blocked = blockedFrom(all, ns, ref.name, PLATFORM_GATEWAY.namespace);
          if (blocked) problem(r, `the Gateway (namespace ${PLATFORM_GATEWAY.namespace}) cannot reach backend ${ns}/${ref.name}: ${blocked}`);
        }
      }
      const target = r.object.kind === "ConfigMap" ? /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc/.exec(String(r.object.data?.LOCUST_HOST ?? "")) : null;
      if (target) {
        const blocked = blockedFrom(all, target[2]!, target[1]!, destination);
        if (blocked) problem(r, `Locust (namespace ${destination}) cannot reach its target ${target[2]}/${target[1]}: ${blocked}`);
      }
    }
    if (usesForeignCrd && !syncOptions.includes("SkipDryRunOnMissingResource=true")) {
      problem(app, "deploys custom resources whose CRD another Application provides: add SkipDryRunOnMissingResource=true");
    }
  }

  checkTls(apps, all, problem);

  // Requests set by patches on remote (not rendered) manifests, e.g. Argo CD's own.
  for (const remote of remoteEntries({ root })) {
    const app = apps.find((a) => a.object.spec?.source?.path === remote.kustomization.replace(/\/kustomization\.ya?ml$/, ""));
    if (!app) continue;
    for (const patch of remote.droppedPatches) {
      const file = join(root, remote.kustomization.replace(/kustomization\.ya?ml$/, ""), patch);
      if (!existsSync(file)) continue;
      for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
        const o = doc.toJS();
        if (o && POD_TEMPLATE[o.kind]) podRequests(o, Number(o.spec?.replicas ?? 1), report.requests, `${app.object.metadata.name}:${o.kind}/${o.metadata?.name} (patch)`);
      }
    }
  }

  for (const r of all) {
    await checkSchema(r);
    report.objects++;
    report.byKind[r.object.kind] = (report.byKind[r.object.kind] ?? 0) + 1;
  }
  if (cluster === "kind") {
    const { cpuMilli: cpu, memoryBytes: mem } = report.requests;
    if (cpu > KIND_BUDGET.cpuMilli || mem > KIND_BUDGET.memoryBytes) {
      problem({ source: rootFile }, `platform requests ${cpu}m CPU / ${(mem / 1024 ** 3).toFixed(2)} GiB memory exceed the kind budget (${KIND_BUDGET.cpuMilli}m / 6 GiB on an 8 GB laptop)`);
    }
  }
  return report;
}

function matches(selector: Record<string, any> | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e: any) => {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === "In") return has && e.values.includes(labels[e.key]);
    if (e.operator === "NotIn") return !has || !e.values.includes(labels[e.key]);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return false;
  });
  return byLabels && byExpressions;
}

/**
 * Why pods behind Service ns/name refuse traffic from namespace `from`
 * (ingress NetworkPolicies rendered in the same cluster), or null when they
 * accept it. Namespaces carry only their kubernetes.io/metadata.name label
 * here; port restrictions are not evaluated.
 */
export function blockedFrom(objects: Rendered[], ns: string, service: string, from: string): string | null {
  const svc = objects.find((r) => r.object.kind === "Service" && r.object.metadata?.name === service && (r.object.metadata?.namespace ?? ns) === ns)?.object;
  const selector = svc?.spec?.selector;
  if (!selector) return null;
  const policies = objects
    .map((r) => r.object)
    .filter((o) => o.kind === "NetworkPolicy" && (o.metadata?.namespace ?? ns) === ns)
    .filter((o) => (o.spec?.policyTypes ?? ["Ingress"]).includes("Ingress") && matches(o.spec?.podSelector, selector));
  if (policies.length === 0) return null;
  const nsLabels = { "kubernetes.io/metadata.name": from };
  // The source pods' labels are unknown here: a podSelector counts as admitting them.
  const peerAdmits = (peer: any) => (peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels) : peer.podSelector ? from === ns : false);
  const admitted = policies.some((o) => (o.spec?.ingress ?? []).some((rule: any) => !rule.from || rule.from.length === 0 || rule.from.some(peerAdmits)));
  return admitted ? null : `NetworkPolicy ${policies.map((o) => o.metadata?.name).join(", ")} admits no traffic from namespace ${from}`;
}

function findApplicationFiles(root: string, dir = "gitops"): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
    const rel = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...findApplicationFiles(root, rel));
    else if (entry.name === "application.yaml") out.push(rel);
  }
  return out.sort();
}

function identity(o: Record<string, any>, destination: string): string {
  const ns = CLUSTER_SCOPED.has(o.kind) ? "" : (o.metadata?.namespace ?? destination);
  return `${o.kind} ${ns ? `${ns}/` : ""}${o.metadata?.name}`;
}

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

function checkRoute(r: Rendered, cluster: ClusterKind, problem: ProblemSink): void {
  const refs: any[] = r.object.spec?.parentRefs ?? [];
  if (refs.length === 0 || !refs.every((p) => p.name === PLATFORM_GATEWAY.name && (p.namespace ?? r.object.metadata?.namespace) === PLATFORM_GATEWAY.namespace)) {
    problem(r, `HTTPRoute must attach to the platform Gateway (${PLATFORM_GATEWAY.namespace}/${PLATFORM_GATEWAY.name})`);
  }
  for (const host of r.object.spec?.hostnames ?? []) {
    if (!String(host).endsWith(`.${CLUSTER_DOMAIN[cluster]}`)) problem(r, `hostname ${host} is not under ${cluster}'s domain ${CLUSTER_DOMAIN[cluster]}`);
  }
}

/** Objects a chart Application adds through its values' `extraObjects` (rendered by the chart as they are). */
export function chartExtraObjects(app: Rendered): Rendered[] {
  const extra = app.object.spec?.source?.helm?.valuesObject?.extraObjects;
  if (!Array.isArray(extra)) return [];
  const namespace = app.object.spec?.destination?.namespace;
  return extra
    .filter((o): o is Record<string, any> => !!o && typeof o === "object")
    .map((o) => ({ source: app.source, object: { ...o, metadata: { namespace, ...o.metadata } }, application: app.object.metadata?.name }));
}

type Listener = { name: string; protocol: string; secrets: string[] };

/** The listeners of the platform Gateway, as the Traefik chart renders them from its values. */
export function gatewayListeners(apps: Rendered[]): Listener[] | undefined {
  const traefik = apps.find((a) => a.object.metadata?.name === PLATFORM_GATEWAY.controller);
  const listeners = traefik?.object.spec?.source?.helm?.valuesObject?.gateway?.listeners;
  if (!listeners || typeof listeners !== "object") return undefined;
  return Object.entries(listeners as Record<string, any>).map(([name, l]) => ({
    name,
    protocol: String(l?.protocol ?? ""),
    secrets: ((l?.certificateRefs ?? []) as any[]).filter((ref) => (ref.kind ?? "Secret") === "Secret").map((ref) => `${ref.namespace ?? PLATFORM_GATEWAY.namespace}/${ref.name}`),
  }));
}

/** A certificate name covers a host when equal, or as a wildcard for exactly one more label. */
export function covers(dnsName: string, host: string): boolean {
  if (dnsName === host) return true;
  return dnsName.startsWith("*.") && host.endsWith(dnsName.slice(1)) && !host.slice(0, -dnsName.length + 1).includes(".");
}

/** An HTTPRoute whose every rule redirects to https with a 301. */
export function isHttpsRedirect(route: Record<string, any>): boolean {
  const rules: any[] = route.spec?.rules ?? [];
  return rules.length > 0 && rules.every((rule) => (rule.filters ?? []).some((f: any) => f.type === "RequestRedirect" && f.requestRedirect?.scheme === "https" && f.requestRedirect?.statusCode === 301));
}

/**
 * TLS on every endpoint: the Gateway has an HTTPS listener whose certificate
 * Secrets a Certificate issues; every service route attaches to an HTTPS
 * listener (sectionName) with each hostname covered by such a Certificate;
 * plain HTTP only carries a 301 redirect to https, and that redirect exists.
 */
export function checkTls(apps: Rendered[], objects: Rendered[], problem: ProblemSink): void {
  const traefik = apps.find((a) => a.object.metadata?.name === PLATFORM_GATEWAY.controller);
  const listeners = gatewayListeners(apps);
  if (!traefik || !listeners) return; // no gateway in this tree: nothing is served
  const https = listeners.filter((l) => l.protocol === "HTTPS" && l.secrets.length > 0);
  const http = listeners.filter((l) => l.protocol === "HTTP");
  if (https.length === 0) problem(traefik, `Gateway ${PLATFORM_GATEWAY.name} has no HTTPS listener with certificateRefs: every UI must be served over HTTPS`);
  const certificates = objects.filter((r) => r.object.kind === "Certificate" && r.object.apiVersion?.startsWith("cert-manager.io/"));
  const issued = (secret: string) => certificates.filter((c) => `${c.object.metadata?.namespace}/${c.object.spec?.secretName}` === secret);
  const served = new Map<string, string[]>(); // listener -> dnsNames of its certificates
  for (const listener of https) {
    const names: string[] = [];
    for (const secret of listener.secrets) {
      const certs = issued(secret);
      if (certs.length === 0) problem(traefik, `listener ${listener.name} uses Secret ${secret}, which no cert-manager Certificate issues (the Gateway would stay Degraded)`);
      for (const c of certs) names.push(...(c.object.spec?.dnsNames ?? []));
    }
    served.set(listener.name, names);
  }
  let redirects = 0;
  for (const r of objects.filter((o) => o.object.kind === "HTTPRoute")) {
    const refs: any[] = (r.object.spec?.parentRefs ?? []).filter((p: any) => p.name === PLATFORM_GATEWAY.name);
    if (refs.length === 0) continue; // checkRoute reports routes on another Gateway
    if (isHttpsRedirect(r.object)) {
      if (refs.every((p) => http.some((l) => l.name === p.sectionName))) redirects++;
      else problem(r, `an HTTPS redirect must attach to the plain-HTTP listener (sectionName: ${http[0]?.name ?? "web"})`);
      continue;
    }
    const hosts: string[] = r.object.spec?.hostnames ?? [];
    for (const ref of refs) {
      const listener = https.find((l) => l.name === ref.sectionName);
      if (!listener) {
        problem(r, ref.sectionName
          ? `attaches to listener ${ref.sectionName}, which is not an HTTPS listener: use sectionName: ${https[0]?.name ?? "websecure"}`
          : `has no sectionName, so it is also served over plain HTTP: set sectionName: ${https[0]?.name ?? "websecure"}`);
        continue;
      }
      if (hosts.length === 0) problem(r, "has no hostnames: no certificate can be checked to cover it");
      for (const host of hosts) {
        if (!(served.get(listener.name) ?? []).some((name) => covers(String(name), String(host)))) {
          problem(r, `hostname ${host} has no certificate: no Certificate behind listener ${listener.name} lists it (or a wildcard covering it) in dnsNames`);
        }
      }
    }
  }
  if (http.length > 0 && redirects === 0) problem(traefik, `no HTTPRoute redirects the plain-HTTP listener ${http[0]!.name} to https (a RequestRedirect filter, scheme https, statusCode 301)`);
}

function countRequests(o: Record<string, any>, siblings: Rendered[], into: Requests, label: string): void {
  if (!POD_TEMPLATE[o.kind]) return;
  if (o.kind === "CronJob" && o.spec?.suspend === true) return; // runs only when verify starts it
  if (o.kind === "Job" || o.kind === "CronJob") return; // short-lived
  let replicas = o.kind === "DaemonSet" ? 1 : Number(o.spec?.replicas ?? 1);
  const hpa = siblings.find((s) => s.object.kind === "HorizontalPodAutoscaler" && s.object.spec?.scaleTargetRef?.name === o.metadata?.name);
  if (hpa) replicas = Math.max(replicas, Number(hpa.object.spec?.minReplicas ?? 1));
  podRequests(o, replicas, into, label);
}
