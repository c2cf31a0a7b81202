// Every version pin in the tree, found from the files' own structure (not from
// the Renovate config), with the shape it is written in. test/renovate checks
// each against the managers of .github/renovate.json; image-digests.mts checks
// every image for a digest.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { isMap, isPair, isScalar, isSeq, LineCounter, parseAllDocuments, type Node } from "yaml";

/**
 * How a pin is written; each Renovate manager reads some of these shapes.
 * argocd-chart       an Argo CD Application's chart + targetRevision
 * values-image-map   a map under a key ending in "image" with repository and tag (chart values)
 * values-image-tag   the same with a tag but no repository (no manager can read it)
 * values-image       a string under a key ending in "image" inside chart values
 * manifest-image     an `image:` string in a Kubernetes-style YAML file
 * kustomize-image    an `images:` entry of a kustomization
 * kustomize-remote   a remote resource URL of a kustomization
 * dockerfile-image   a FROM image, or an ARG default a FROM uses
 * action             a workflow step's `uses: owner/repo@ref`
 * runner             a versioned runner image in `runs-on:` (ubuntu-24.04)
 * action-input       a version passed to an action in `with:`
 * npm / deno         a package.json dependency / a deno.json npm: import
 * tofu-provider / tofu-version / tofu-module   OpenTofu pins
 * data               a version written as data in a script or config (VERSION=, minimum:, ...Version:)
 */
export type Shape =
  | "argocd-chart"
  | "values-image-map"
  | "values-image-tag"
  | "values-image"
  | "manifest-image"
  | "kustomize-image"
  | "kustomize-remote"
  | "dockerfile-image"
  | "action"
  | "runner"
  | "action-input"
  | "npm"
  | "deno"
  | "tofu-provider"
  | "tofu-version"
  | "tofu-module"
  | "data";

export type Pin = { file: string; line: number; shape: Shape; name: string; version: string; digest?: string };

const SKIP_DIRS = new Set(["node_modules", ".git", ".artifacts", ".terraform", "test"]);
// Prose and generated files: versions there are not pins.
const SKIP_FILE = /(\.md|\.json|\.lock\.hcl|\.csv|\.txt|\.svg|\.css|\.js|\.py|\.conf|\.dockerignore|^\.gitignore|^\.editorconfig|^\.env\.example)$/;
const SEMVER = /^v?\d+\.\d+\.\d+([-+][\w.-]+)?$/;
const DIGEST = /@(sha256:[0-9a-f]{64})$/;

export function listFiles(root: string, dir = ""): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(root, dir)).sort()) {
    if (SKIP_DIRS.has(entry)) continue;
    const path = dir ? `${dir}/${entry}` : entry;
    if (statSync(join(root, path)).isDirectory()) out.push(...listFiles(root, path));
    else out.push(path);
  }
  return out;
}

/** "repo/name:tag@sha256:…" -> name, tag, digest. */
export function splitImage(ref: string): { name: string; tag: string; digest?: string } {
  const digest = DIGEST.exec(ref)?.[1];
  const rest = digest ? ref.slice(0, ref.indexOf("@")) : ref;
  const colon = rest.lastIndexOf(":");
  const hasTag = colon > rest.lastIndexOf("/");
  return { name: hasTag ? rest.slice(0, colon) : rest, tag: hasTag ? rest.slice(colon + 1) : "", digest };
}

type Walk = { file: string; line: (n: Node | null | undefined) => number; out: Pin[] };

function scalar(node: unknown): string | undefined {
  return isScalar(node) && node.value !== null && node.value !== undefined ? String(node.value) : undefined;
}

function get(map: unknown, key: string): Node | undefined {
  if (!isMap(map)) return undefined;
  return map.items.find((p) => scalar(p.key) === key)?.value as Node | undefined;
}

// Inside chart values every "*image" key is a candidate; elsewhere only `image:` itself.
function walkImages(node: unknown, w: Walk, inValues: boolean): void {
  if (isSeq(node)) for (const item of node.items) walkImages(item, w, inValues);
  if (!isMap(node)) return;
  for (const pair of node.items) {
    if (!isPair(pair)) continue;
    const key = scalar(pair.key) ?? "";
    const value = pair.value as Node | null;
    if (key === "valuesObject") {
      walkImages(value, w, true);
      continue;
    }
    const imageKey = inValues ? /image$/i.test(key) : key === "image";
    const text = scalar(value);
    if (imageKey && text !== undefined && /[:@]/.test(text) && !text.includes("${")) {
      const { name, tag, digest } = splitImage(text);
      w.out.push({ file: w.file, line: w.line(value), shape: inValues ? "values-image" : "manifest-image", name, version: tag, digest });
    } else if (imageKey && inValues && isMap(value) && get(value, "tag") !== undefined) {
      const tagNode = get(value, "tag");
      const tag = scalar(tagNode) ?? "";
      const repository = scalar(get(value, "repository"));
      const registry = scalar(get(value, "registry"));
      const { tag: bare, digest } = splitImage(`x:${tag}`);
      const digestField = scalar(get(value, "digest"));
      w.out.push({
        file: w.file,
        line: w.line(tagNode),
        shape: repository ? "values-image-map" : "values-image-tag",
        name: [registry, repository ?? `(${key} without repository)`].filter(Boolean).join("/"),
        version: bare,
        digest: digest ?? (digestField || undefined),
      });
    } else walkImages(value, w, inValues);
  }
}

function yamlPins(file: string, text: string): Pin[] {
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter });
  const w: Walk = { file, line: (n) => (n?.range ? counter.linePos(n.range[0]).line : 0), out: [] };
  const name = basename(file);
  const workflow = /^\.github\/workflows\//.test(file);
  for (const doc of Array.isArray(docs) ? docs : [docs]) {
    const root = doc.contents;
    if (!isMap(root)) continue;
    const apiVersion = scalar(get(root, "apiVersion")) ?? "";
    const kind = scalar(get(root, "kind")) ?? "";
    if (apiVersion.startsWith("argoproj.io/") && kind === "Application") {
      const spec = get(root, "spec");
      const sources = [get(spec, "source"), ...(isSeq(get(spec, "sources")) ? (get(spec, "sources") as any).items : [])];
      for (const source of sources) {
        const chart = scalar(get(source, "chart"));
        const revision = get(source, "targetRevision");
        if (chart && revision) w.out.push({ file, line: w.line(revision), shape: "argocd-chart", name: `${scalar(get(source, "repoURL"))} ${chart}`, version: scalar(revision) ?? "" });
      }
    }
    if (/^kustomization\.ya?ml$/.test(name)) {
      const images = get(root, "images");
      if (isSeq(images))
        for (const entry of images.items) {
          const tag = get(entry, "newTag");
          const digest = scalar(get(entry, "digest"));
          w.out.push({ file, line: w.line(tag ?? entry as Node), shape: "kustomize-image", name: scalar(get(entry, "newName")) ?? scalar(get(entry, "name")) ?? "", version: scalar(tag) ?? "", digest });
        }
      const resources = get(root, "resources");
      if (isSeq(resources))
        for (const entry of resources.items) {
          const url = scalar(entry) ?? "";
          if (!/^(https?:|git@|github\.com\/)/.test(url)) continue;
          const version = /\/(v?\d+\.\d+\.\d+)\//.exec(url)?.[1] ?? /[?&]ref=([^&]+)/.exec(url)?.[1] ?? "";
          w.out.push({ file, line: w.line(entry as Node), shape: "kustomize-remote", name: url, version });
        }
    }
    if (workflow) workflowPins(root, w);
    else walkImages(root, w, false);
    if (!workflow) dataKeys(root, w);
  }
  return w.out;
}

function workflowPins(root: unknown, w: Walk): void {
  const jobs = get(root, "jobs");
  if (!isMap(jobs)) return;
  for (const job of jobs.items) {
    const runsOn = get(job.value, "runs-on");
    const runner = /^([a-z]+)-(\d+\.\d+)$/.exec(scalar(runsOn) ?? "");
    if (runner) w.out.push({ file: w.file, line: w.line(runsOn), shape: "runner", name: runner[1]!, version: runner[2]! });
    const steps = get(job.value, "steps");
    if (!isSeq(steps)) continue;
    for (const step of steps.items) {
      const uses = get(step, "uses");
      const ref = scalar(uses);
      if (!ref || ref.startsWith("./") || ref.startsWith("docker://")) continue;
      const [action, version = ""] = ref.split("@");
      w.out.push({ file: w.file, line: w.line(uses), shape: "action", name: action!, version });
      const inputs = get(step, "with");
      if (isMap(inputs))
        for (const input of inputs.items) {
          const value = scalar(input.value);
          if (value && SEMVER.test(value)) w.out.push({ file: w.file, line: w.line(input.value as Node), shape: "action-input", name: `${action}#${scalar(input.key)}`, version: value });
        }
    }
  }
}

// `kubernetesVersion: v1.34.0`, `version: 1.2.3`, `minimum: "1.0.0"` outside the shapes above.
function dataKeys(node: unknown, w: Walk): void {
  if (isSeq(node)) for (const item of node.items) dataKeys(item, w);
  if (!isMap(node)) return;
  for (const pair of node.items) {
    const key = scalar(pair.key) ?? "";
    const value = scalar(pair.value);
    if (key === "targetRevision" || key === "newTag" || key === "tag") continue;
    if (value && (/version$/i.test(key) || key === "minimum") && key !== "apiVersion" && SEMVER.test(value))
      w.out.push({ file: w.file, line: w.line(pair.value as Node), shape: "data", name: key, version: value });
    else dataKeys(pair.value, w);
  }
}

function dockerfilePins(file: string, text: string): Pin[] {
  const out: Pin[] = [];
  const lines = text.split("\n");
  const args = new Map<string, { value: string; line: number }>();
  const stages = new Set<string>();
  lines.forEach((raw, i) => {
    const arg = /^\s*ARG\s+(\w+)=(\S+)/i.exec(raw);
    if (arg) args.set(arg[1]!, { value: arg[2]!.replace(/^["']|["']$/g, ""), line: i + 1 });
    const from = /^\s*FROM\s+(?:--\S+\s+)*(\S+)(?:\s+AS\s+(\S+))?/i.exec(raw);
    if (!from) return;
    let ref = from[1]!;
    let line = i + 1;
    const variable = /^\$\{?(\w+)\}?$/.exec(ref);
    if (variable) {
      const found = args.get(variable[1]!);
      if (!found) return;
      ref = found.value;
      line = found.line;
    }
    if (from[2]) stages.add(from[2]);
    if (stages.has(ref) && ref !== from[1]) return;
    if (ref === "scratch" || stages.has(ref)) return;
    const { name, tag, digest } = splitImage(ref);
    out.push({ file, line, shape: "dockerfile-image", name, version: tag, digest });
  });
  // The syntax directive pins the BuildKit frontend image.
  const syntax = /^#\s*syntax=(\S+)/m.exec(text);
  if (syntax) {
    const { name, tag, digest } = splitImage(syntax[1]!);
    out.push({ file, line: text.slice(0, syntax.index).split("\n").length, shape: "dockerfile-image", name, version: tag, digest });
  }
  return out;
}

function packageJsonPins(file: string, text: string): Pin[] {
  const json = JSON.parse(text) as Record<string, Record<string, string> | undefined>;
  const lines = text.split("\n");
  const lineOf = (name: string) => lines.findIndex((l) => l.includes(`"${name}":`)) + 1;
  return ["dependencies", "devDependencies", "optionalDependencies", "peerDependencies"].flatMap((type) =>
    Object.entries(json[type] ?? {}).map(([name, version]) => ({ file, line: lineOf(name), shape: "npm" as const, name, version })),
  );
}

function denoPins(file: string, text: string): Pin[] {
  const imports = (JSON.parse(text) as { imports?: Record<string, string> }).imports ?? {};
  const lines = text.split("\n");
  return Object.values(imports).flatMap((spec) => {
    const m = /^npm:(@?[^@]+)@(.+)$/.exec(spec);
    return m ? [{ file, line: lines.findIndex((l) => l.includes(spec)) + 1, shape: "deno" as const, name: m[1]!, version: m[2]! }] : [];
  });
}

function tofuPins(file: string, text: string): Pin[] {
  const out: Pin[] = [];
  let block = "";
  let source = "";
  text.split("\n").forEach((raw, i) => {
    const line = raw.replace(/#.*$/, "");
    const open = /^\s*(terraform|module\s+"[^"]+"|required_providers|\w+\s*=\s*\{)/.exec(line);
    if (open) {
      block = open[1]!;
      source = "";
    }
    const src = /^\s*source\s*=\s*"([^"]+)"/.exec(line);
    if (src) source = src[1]!;
    const required = /^\s*required_version\s*=\s*"([^"]+)"/.exec(line);
    if (required) out.push({ file, line: i + 1, shape: "tofu-version", name: "opentofu", version: required[1]! });
    const version = /^\s*version\s*=\s*"([^"]+)"/.exec(line);
    if (version) out.push({ file, line: i + 1, shape: block.startsWith("module") ? "tofu-module" : "tofu-provider", name: source || block, version: version[1]! });
  });
  return out;
}

// Shell scripts and TypeScript: versions assigned as data.
function textPins(file: string, text: string): Pin[] {
  const out: Pin[] = [];
  const patterns = [/\b([A-Z][A-Z0-9_]*VERSION)\s*=\s*["']?(v?\d+\.\d+\.\d+)\b/, /\b(minimum):\s*["'](v?\d+\.\d+\.\d+)["']/, /\b(\w*[Vv]ersion)["']?\s*[:=]\s*["'](v?\d+\.\d+\.\d+)["']/];
  text.split("\n").forEach((raw, i) => {
    if (/^\s*(#|\/\/|\*)/.test(raw)) return;
    for (const pattern of patterns) {
      const m = pattern.exec(raw);
      if (m) {
        out.push({ file, line: i + 1, shape: "data", name: m[1]!, version: m[2]! });
        return;
      }
    }
  });
  return out;
}

/** Every pin under root (tests and dependencies excluded). */
export function findPins(root: string): Pin[] {
  const pins: Pin[] = [];
  for (const file of listFiles(root)) {
    const name = basename(file);
    const text = readFileSync(join(root, file), "utf8");
    if (name === "package.json") pins.push(...packageJsonPins(file, text));
    else if (name === "deno.json" || name === "deno.jsonc") pins.push(...denoPins(file, text));
    else if (/^(Dockerfile|Containerfile)(\.[^.]+)?$/.test(name) && !name.endsWith(".dockerignore")) pins.push(...dockerfilePins(file, text));
    else if (/\.ya?ml$/.test(name)) pins.push(...yamlPins(file, text));
    else if (/\.(tf|tofu)$/.test(name)) pins.push(...tofuPins(file, text));
    else if (!SKIP_FILE.test(name)) pins.push(...textPins(file, text));
  }
  return pins;
}

export const IMAGE_SHAPES = new Set<Shape>(["values-image-map", "values-image-tag", "values-image", "manifest-image", "kustomize-image", "dockerfile-image"]);

export const where = (pin: Pin) => `${pin.file}:${pin.line}`;
