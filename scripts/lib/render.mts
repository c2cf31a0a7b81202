// Renders the GitOps tree offline, the way Argo CD would (shared by the
// offline validation in test/validate and by scripts/diff.mts): `kubectl kustomize`
// over a clusters/<name> root with the root Application's patches applied,
// then every repo-sourced child Application's path.
//
// Renders run in a throw-away copy of the repository (made once per root) so
// that two things Argo CD does not need can be added without touching git:
// remote resources (Argo CD's pinned install.yaml) are removed, since there is
// no internet here, and every kustomization gets `buildMetadata:
// [originAnnotations]`, so each object knows the file it came from.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { parseAllDocuments, parse as parseYaml, stringify } from "yaml";
import { PLACEHOLDER_SOURCE, SOURCE_LABEL, rootApplication } from "./argocd.mts";
import { CLUSTER_KINDS, type ClusterKind } from "./config.mts";
import { REPO_ROOT as RUNTIME_ROOT, onExit } from "./runtime.mts";

export type Rendered = {
  /** The file the object came from (repo-relative), or the dir rendered when kustomize cannot say. */
  source: string;
  object: Record<string, any>;
  /** The kustomization dir (repo-relative) whose render produced it. */
  dir?: string;
  /** Set by renderCluster/renderAllWorkloads: the cluster and the Application that deploys it. */
  cluster?: string;
  application?: string;
};

export type KustomizePatch = { target: Record<string, string>; patch: string };

export type RenderOptions = {
  root?: string;
  /** The root Application's patches to render with (default: rootPatches(cluster), this code's). */
  rootPatches?: KustomizePatch[];
};

/** A resource that cannot be fetched offline: left out of renders, listed in the report. */
export type RemoteEntry = { kustomization: string; url: string; droppedPatches: string[] };

export class RenderError extends Error {
  readonly dir: string;
  constructor(dir: string, message: string) {
    super(message);
    this.name = "RenderError";
    this.dir = dir;
  }
}

export const REPO_ROOT = resolve(RUNTIME_ROOT);
/** The repoURL and revision bootstrap writes into the tree; validation renders with these. */
export const SAMPLE_REPO = { url: "https://github.com/example-user/giropops-platform.git", revision: "main" };
/** The placeholder every repo-sourced Application and AppProject carries in git. */
export const PLACEHOLDER_REPO = PLACEHOLDER_SOURCE.repoURL;
export { SOURCE_LABEL };

const KUSTOMIZATION_FILES = ["kustomization.yaml", "kustomization.yml", "Kustomization"];
const SKIP_DIRS = new Set(["node_modules", ".git", ".artifacts", ".terraform"]);
const ORIGIN = "config.kubernetes.io/origin";
const REMOTE = /^(https?:\/\/|git@|ssh:\/\/|github\.com\/|gitlab\.com\/)|\?ref=/;

export function isRemote(entry: string): boolean {
  return REMOTE.test(entry);
}

export function kustomizationFile(dir: string): string | undefined {
  return KUSTOMIZATION_FILES.map((name) => join(dir, name)).find((path) => existsSync(path));
}

/** Every dir under `start` (repo-relative) holding a kustomization, sorted. */
export function findKustomizations(start: string, root = REPO_ROOT): string[] {
  const found: string[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) return;
    if (kustomizationFile(dir)) found.push(relative(root, dir));
    for (const entry of readdirSync(dir)) if (!SKIP_DIRS.has(entry) && statSync(join(dir, entry)).isDirectory()) walk(join(dir, entry));
  };
  walk(join(root, start));
  return found.sort();
}

// ---- the offline copy --------------------------------------------------------

type Workspace = { copy: string; options: string[]; remotes: RemoteEntry[]; cache: Map<string, Rendered[]>; rootPatched: Set<string> };
const workspaces = new Map<string, Workspace>();

onExit(() => {
  for (const ws of workspaces.values()) rmSync(ws.copy, { recursive: true, force: true });
});

function workspace(root = REPO_ROOT): Workspace {
  const key = resolve(root);
  let ws = workspaces.get(key);
  if (ws) return ws;
  const copy = mkdtempSync(join(tmpdir(), "giropops-render-"));
  cpSync(key, copy, { recursive: true, filter: (src) => !SKIP_DIRS.has(basename(src)) });
  ws = { copy, options: buildOptions(key), remotes: [], cache: new Map(), rootPatched: new Set() };
  for (const dir of [...findKustomizations("gitops", copy), ...findKustomizations("clusters", copy), ...findKustomizations("apps", copy)]) {
    prepareForOffline(copy, dir, ws.remotes, ws.options);
  }
  workspaces.set(key, ws);
  return ws;
}

function readKustomization(file: string): Record<string, any> {
  const parsed = parseYaml(readFileSync(file, "utf8"));
  return parsed && typeof parsed === "object" ? parsed : {};
}

function prepareForOffline(copy: string, dir: string, remotes: RemoteEntry[], options: string[]): void {
  const file = kustomizationFile(join(copy, dir))!;
  const k = readKustomization(file);
  const resources: string[] = Array.isArray(k.resources) ? k.resources : [];
  const remote = resources.filter((r) => typeof r === "string" && isRemote(r));
  if (remote.length > 0) {
    k.resources = resources.filter((r) => !remote.includes(r));
    const dropped = dropPatchesWithoutTarget(join(copy, dir), k, options);
    for (const url of remote) remotes.push({ kustomization: join(dir, basename(file)), url, droppedPatches: dropped });
  }
  k.buildMetadata = [...new Set([...(k.buildMetadata ?? []), "originAnnotations"])];
  writeFileSync(file, stringify(k));
}

// Once the remote base is gone, patches aimed at its objects have nothing to
// patch and kustomize would fail: render without patches, keep only those whose
// target is still there, and say which were dropped.
function dropPatchesWithoutTarget(dir: string, k: Record<string, any>, options: string[]): string[] {
  const patches: any[] = [...(k.patches ?? []), ...(k.patchesStrategicMerge ?? []).map((path: string) => ({ path }))];
  if (patches.length === 0) return [];
  const bare = { ...k, patches: undefined, patchesStrategicMerge: undefined, patchesJson6902: undefined };
  const file = kustomizationFile(dir)!;
  writeFileSync(file, stringify(bare));
  const objects = runKustomize(dir, dir, options).map((r) => r.object);
  const kept: any[] = [];
  const dropped: string[] = [];
  for (const patch of patches) {
    const targets = patchTargets(dir, patch);
    const hit = targets.some((t) => objects.some((o) => (!t.kind || o.kind === t.kind) && (!t.name || o.metadata?.name === t.name)));
    if (hit) kept.push(patch);
    else dropped.push(patch.path ?? `${patch.target?.kind ?? "?"}/${patch.target?.name ?? "?"}`);
  }
  k.patches = kept.length ? kept : undefined;
  delete k.patchesStrategicMerge;
  return dropped;
}

function patchTargets(dir: string, patch: any): { kind?: string; name?: string }[] {
  if (patch.target) return [{ kind: patch.target.kind, name: patch.target.name }];
  const text = patch.path ? readFileSync(join(dir, patch.path), "utf8") : String(patch.patch ?? "");
  return parseAllDocuments(text)
    .map((d) => d.toJS())
    .filter((o) => o && typeof o === "object" && !Array.isArray(o))
    .map((o) => ({ kind: o.kind, name: o.metadata?.name }));
}

/** Remote resources left out of offline renders (after the first render of that root). */
export function remoteEntries(opts: RenderOptions = {}): RemoteEntry[] {
  return workspace(opts.root).remotes;
}

// ---- kustomize ---------------------------------------------------------------

// Argo CD builds with argocd-cm's kustomize.buildOptions; so do we.
export const ARGOCD_CM_PATCH = "gitops/argocd/patches/argocd-cm.yaml";
export function buildOptions(root = REPO_ROOT): string[] {
  const file = join(root, ARGOCD_CM_PATCH);
  if (!existsSync(file)) return [];
  const options = parseYaml(readFileSync(file, "utf8"))?.data?.["kustomize.buildOptions"];
  return typeof options === "string" ? options.split(/\s+/).filter(Boolean) : [];
}

function runKustomize(absDir: string, shownDir: string, options: string[] = [], copy?: string): Rendered[] {
  const result = spawnSync("kubectl", ["kustomize", ...options, absDir], { encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new RenderError(shownDir, `kubectl kustomize ${shownDir}: ${result.error.message}`);
  if (result.status !== 0) {
    // kubectl wraps kustomize's message in a klog line: keep the message.
    const raw = result.stderr.trim().split("\n").slice(-3).join(" | ");
    const why = (raw.match(/err="(.*)"\s*$/)?.[1] ?? raw).replaceAll('\\"', '"').replaceAll(absDir, shownDir).replaceAll(`${copy ?? dirname(absDir)}/`, "");
    throw new RenderError(shownDir, `kubectl kustomize ${shownDir} failed: ${why}`);
  }
  return parseObjects(result.stdout, shownDir);
}

function parseObjects(text: string, source: string): Rendered[] {
  const out: Rendered[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length) throw new RenderError(source, `${source}: ${doc.errors[0]!.message}`);
    const object = doc.toJS();
    if (object && typeof object === "object") out.push({ source, object });
  }
  return out;
}

/** Renders a dir (repo-relative or absolute inside the root) with kubectl kustomize; cached per process. */
export function kustomize(dir: string, opts: RenderOptions = {}): Rendered[] {
  const root = resolve(opts.root ?? REPO_ROOT);
  const rel = isAbsolute(dir) ? relative(root, dir) : dir.replace(/\/+$/, "");
  const ws = workspace(root);
  const cached = ws.cache.get(rel);
  if (cached) return cached;
  const abs = join(ws.copy, rel);
  if (!existsSync(abs)) throw new RenderError(rel, `${rel}: no such directory`);
  if (!kustomizationFile(abs)) throw new RenderError(rel, `${rel}: no kustomization.yaml`);
  const rendered = runKustomize(abs, rel, ws.options, ws.copy).map((r) => withOrigin(r, rel));
  ws.cache.set(rel, rendered);
  return rendered;
}

// Moves kustomize's origin annotation into `source` (repo-relative), so the
// object is exactly what Argo CD would apply and errors can name the file.
function withOrigin(r: Rendered, dir: string): Rendered {
  const annotations = r.object.metadata?.annotations;
  const origin = annotations?.[ORIGIN];
  let source = dir;
  if (typeof origin === "string") {
    const o = parseYaml(origin) ?? {};
    const path = o.path ?? o.configuredIn;
    if (typeof path === "string" && !o.repo) source = join(dir, path);
    else if (o.repo) source = `${o.repo}${o.ref ? `@${o.ref}` : ""}/${path ?? ""}`;
    delete annotations[ORIGIN];
    if (Object.keys(annotations).length === 0) delete r.object.metadata.annotations;
  }
  return { source, object: r.object, dir };
}

/** Plain manifests in a dir without a kustomization (Argo CD's "directory" source). */
function readDirectory(rel: string, root: string): Rendered[] {
  const abs = join(root, rel);
  return readdirSync(abs)
    .filter((f) => /\.(ya?ml|json)$/.test(f))
    .sort()
    .flatMap((f) => parseObjects(readFileSync(join(abs, f), "utf8"), join(rel, f)).map((r) => ({ ...r, dir: rel })));
}

// ---- the root Application's patches ------------------------------------------


// bootstrap builds the root Application with rootApplication(); validation
// renders with the very same patches, so what is checked is what Argo CD renders.
export const rootBuilderSource = "scripts/lib/argocd.mts rootApplication()";

/** The root Application bootstrap creates for a cluster, with the sample repository. */
export function rootApplicationFor(cluster: ClusterKind): Record<string, any> {
  return rootApplication({ cluster, gitRepoUrl: SAMPLE_REPO.url, gitRevision: SAMPLE_REPO.revision });
}

export function rootPatches(cluster: ClusterKind): KustomizePatch[] {
  return rootApplicationFor(cluster).spec?.source?.kustomize?.patches ?? [];
}

/** clusters/<name> rendered as Argo CD renders the root Application (patches written into its kustomization). */
export function renderRoot(cluster: ClusterKind, opts: RenderOptions = {}): Rendered[] {
  const ws = workspace(opts.root);
  const dir = `clusters/${cluster}`;
  if (!ws.rootPatched.has(cluster)) {
    const file = kustomizationFile(join(ws.copy, dir));
    if (!file) throw new RenderError(dir, `${dir}: no kustomization.yaml`);
    const k = readKustomization(file);
    k.patches = [...(k.patches ?? []), ...(opts.rootPatches ?? rootPatches(cluster))];
    writeFileSync(file, stringify(k));
    ws.rootPatched.add(cluster);
    ws.cache.delete(dir);
  }
  return kustomize(dir, opts).map((r) => ({ ...r, cluster }));
}

// ---- child Applications -----------------------------------------------------

export function isApplication(o: Record<string, any>): boolean {
  return o.apiVersion?.startsWith("argoproj.io/") && o.kind === "Application";
}

/** Is this Application's source this repository (after the root patches)? */
export function isRepoSourced(app: Record<string, any>): boolean {
  const source = app.spec?.source;
  return !!source && !source.chart && typeof source.path === "string";
}

/** What a repo-sourced Application deploys; throws RenderError naming the Application and path. */
export function renderApplication(app: Rendered, opts: RenderOptions = {}): Rendered[] {
  const ws = workspace(opts.root);
  const name = app.object.metadata?.name;
  const path = String(app.object.spec.source.path).replace(/^\.?\/+|\/+$/g, "");
  const abs = join(ws.copy, path);
  if (!path || !existsSync(abs) || !statSync(abs).isDirectory()) {
    throw new RenderError(path, `Application ${name} (${app.source}): spec.source.path "${path}" does not exist in the repository`);
  }
  try {
    const options = app.object.spec.source.kustomize;
    const objects = options ? kustomize(wrapWithOptions(ws, app, path, options), opts) : kustomizationFile(abs) ? kustomize(path, opts) : readDirectory(path, ws.copy);
    return objects.map((r) => ({ ...r, cluster: app.cluster, application: name }));
  } catch (error) {
    if (error instanceof RenderError) throw new RenderError(path, `Application ${name} (${app.source}): ${error.message}`);
    throw error;
  }
}

// An Application's spec.source.kustomize (patches, images) is applied by Argo
// CD on top of the path's kustomization; here the same happens in a wrapper
// kustomization inside the workspace, one per cluster and Application.
const KUSTOMIZE_OPTIONS = new Set(["patches", "images"]);
function wrapWithOptions(ws: Workspace, app: Rendered, path: string, options: Record<string, any>): string {
  const name = String(app.object.metadata?.name);
  const unsupported = Object.keys(options).filter((key) => !KUSTOMIZE_OPTIONS.has(key));
  if (unsupported.length) {
    throw new RenderError(path, `Application ${name} (${app.source}): spec.source.kustomize.${unsupported[0]} is not rendered offline; use an overlay folder instead`);
  }
  const dir = join(".render-overlays", app.cluster ?? "any", name);
  const abs = join(ws.copy, dir);
  mkdirSync(abs, { recursive: true });
  const images = (options.images ?? []).map(parseImageOverride);
  const k = { resources: [relative(abs, join(ws.copy, path))], patches: options.patches, images: images.length ? images : undefined, buildMetadata: ["originAnnotations"] };
  writeFileSync(join(abs, "kustomization.yaml"), stringify(k));
  ws.cache.delete(dir);
  return dir;
}

// Argo CD writes images as "name=newName:tag", "name:tag" or "name@digest".
function parseImageOverride(spec: string): Record<string, string> {
  const [name, override] = spec.includes("=") ? spec.split("=", 2) as [string, string] : [spec.replace(/[:@].*$/, ""), spec];
  const digest = override.split("@")[1];
  const withoutDigest = override.split("@")[0]!;
  const tagAt = withoutDigest.lastIndexOf(":");
  const hasTag = tagAt > withoutDigest.lastIndexOf("/");
  const newName = hasTag ? withoutDigest.slice(0, tagAt) : withoutDigest;
  return { name, ...(newName !== name ? { newName } : {}), ...(hasTag ? { newTag: withoutDigest.slice(tagAt + 1) } : {}), ...(digest ? { digest } : {}) };
}

export type ClusterRender = { root: Rendered[]; byApplication: Map<string, Rendered[]>; all: Rendered[] };

/** A cluster's whole tree: the root render plus what every repo-sourced Application deploys (nested ones too). */
export function renderCluster(cluster: ClusterKind, opts: RenderOptions = {}): ClusterRender {
  const root = renderRoot(cluster, opts);
  const byApplication = new Map<string, Rendered[]>();
  const queue = root.filter((r) => isApplication(r.object) && isRepoSourced(r.object));
  while (queue.length > 0) {
    const app = queue.shift()!;
    const name = String(app.object.metadata?.name);
    if (byApplication.has(name)) continue;
    const children = renderApplication(app, opts);
    byApplication.set(name, children);
    queue.push(...children.filter((r) => isApplication(r.object) && isRepoSourced(r.object)));
  }
  return { root, byApplication, all: [...root, ...[...byApplication.values()].flat()] };
}

export const POD_BEARING = new Set(["Deployment", "StatefulSet", "DaemonSet", "Job", "CronJob", "Pod", "ReplicaSet"]);

/** Every Pod-bearing object from every cluster's repo-sourced Applications (once per cluster) and every kustomization under apps/. */
export function renderAllWorkloads(opts: RenderOptions = {}): Rendered[] {
  const seen = new Set<string>();
  const out: Rendered[] = [];
  const add = (r: Rendered) => {
    if (!POD_BEARING.has(r.object.kind)) return;
    const key = `${r.cluster ?? ""}\n${r.source}\n${JSON.stringify(r.object)}`;
    if (seen.has(key)) return;
    seen.add(key);
    out.push(r);
  };
  for (const cluster of CLUSTER_KINDS) for (const r of renderCluster(cluster, opts).all) add(r);
  for (const dir of findKustomizations("apps", resolve(opts.root ?? REPO_ROOT))) for (const r of kustomize(dir, opts)) add(r);
  return out;
}

/** "Kind namespace/name" for messages. */
export function describe(o: Record<string, any>): string {
  const ns = o.metadata?.namespace;
  return `${o.kind} ${ns ? `${ns}/` : ""}${o.metadata?.name}`;
}

/** The repo-relative dir of a source file (a helper for messages). */
export function sourceDir(r: Rendered): string {
  return r.dir ?? dirname(r.source);
}
