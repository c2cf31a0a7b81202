// What a commit changes in each cluster: the GitOps tree rendered at two
// revisions with the one offline renderer (render.mts, the same one the
// validation uses), compared per cluster, per Application, per object.
//
// Pure parts (compare, unified diff, text and markdown reports) take rendered
// trees; the impure parts (git, helm) are small functions at the end.
import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { parseAllDocuments, stringify } from "yaml";
import type { ClusterKind } from "./config.mts";
import { UserError } from "./errors.mts";
import { RenderError, describe, isApplication, kustomizationFile, renderCluster, renderRoot, rootPatches, type KustomizePatch, type Rendered } from "./render.mts";

type Obj = Record<string, any>;

/** How a Helm-sourced Application's chart contents were (or were not) rendered. */
export type ChartRender = { rendered: true } | { rendered: false; why: string };

export type AppTree = {
  /** The Application manifest (undefined for the root group: what the root renders besides Applications). */
  application?: Obj;
  /** Rendered objects, by "Kind namespace/name" (group-qualified when needed). */
  objects: Map<string, Obj>;
  chart?: ChartRender;
};

/** One cluster's tree at one revision: Applications by name; "(root)" holds the root's other objects. */
export type Tree = Map<string, AppTree>;
export const ROOT_GROUP = "(root)";

export type ObjectChange = { id: string; change: "added" | "removed" | "changed"; diff?: string };
export type ChartChange = { before?: string; after?: string };
export type AppChange = {
  name: string;
  change: "added" | "removed" | "changed";
  /** The Application manifest itself (everything but the chart and its values). */
  manifest?: string;
  chart?: ChartChange;
  values?: string;
  objects: ObjectChange[];
  /** Why chart contents are not part of the diff, when they are not. */
  notRendered?: string;
};
export type ClusterDiff = { cluster: ClusterKind; apps: AppChange[]; note?: string };

// ---- building a tree -------------------------------------------------------

/** Secret values never reach a diff: each one becomes a mask that still shows whether it changed. */
export function maskSecret(o: Obj, other?: Obj): Obj {
  if (o.kind !== "Secret" || o.apiVersion !== "v1") return o;
  const masked = structuredClone(o);
  for (const field of ["data", "stringData"] as const) {
    const values = masked[field];
    if (!values || typeof values !== "object") continue;
    for (const key of Object.keys(values)) {
      const changed = other !== undefined && other[field]?.[key] !== o[field][key];
      values[key] = changed ? "*** (value changed)" : "***";
    }
  }
  return masked;
}

function objectId(o: Obj): string {
  const group = typeof o.apiVersion === "string" && o.apiVersion.includes("/") ? o.apiVersion.split("/")[0] : "";
  return `${describe(o)}${group && !group.endsWith(".k8s.io") && !["apps", "batch", "policy", "autoscaling", "argoproj.io"].includes(group) ? ` (${group})` : ""}`;
}

function index(objects: Rendered[]): Map<string, Obj> {
  const out = new Map<string, Obj>();
  for (const r of objects) out.set(objectId(r.object), r.object);
  return out;
}

export type TreeOptions = {
  /** Renders a chart Application's objects; undefined means charts are not rendered, for `why`. */
  chartRenderer?: (app: Obj) => Rendered[];
  /** Why charts are not rendered (shown in the report) when there is no chartRenderer. */
  noCharts?: string;
  /** The root Application's patches to render with (default: this code's). */
  rootPatches?: KustomizePatch[];
};

export function isChartSourced(app: Obj): boolean {
  return typeof app.spec?.source?.chart === "string";
}

/** A cluster's tree at the checkout in `root` (null when that revision has no clusters/<name>). */
export function buildTree(cluster: ClusterKind, root: string, options: TreeOptions = {}): Tree | null {
  if (!kustomizationFile(join(root, "clusters", cluster))) return null;
  const rendered = renderCluster(cluster, { root, rootPatches: options.rootPatches });
  const tree: Tree = new Map();
  tree.set(ROOT_GROUP, { objects: index(rendered.root.filter((r) => !isApplication(r.object))) });
  const applications = [...rendered.root, ...[...rendered.byApplication.values()].flat()].filter((r) => isApplication(r.object));
  for (const app of applications) {
    const name = String(app.object.metadata?.name);
    const entry: AppTree = { application: app.object, objects: index(rendered.byApplication.get(name)?.filter((r) => !isApplication(r.object)) ?? []) };
    if (isChartSourced(app.object)) {
      if (options.chartRenderer) {
        entry.objects = index(options.chartRenderer(app.object));
        entry.chart = { rendered: true };
      } else entry.chart = { rendered: false, why: options.noCharts ?? "chart contents were not rendered" };
    }
    tree.set(name, entry);
  }
  return tree;
}

// ---- comparing -----------------------------------------------------------------

function chartOf(app: Obj | undefined): string | undefined {
  const s = app?.spec?.source;
  return s?.chart ? `${s.chart} ${s.targetRevision ?? "(no version)"} from ${s.repoURL}` : undefined;
}

/** What Argo CD passes to Helm: valuesObject, values (text), parameters, valueFiles. */
export function helmValues(app: Obj | undefined): string {
  const helm = app?.spec?.source?.helm;
  if (!helm) return "";
  const parts: string[] = [];
  if (helm.valuesObject !== undefined) parts.push(stringify(helm.valuesObject));
  if (typeof helm.values === "string" && helm.values.trim()) parts.push(helm.values.endsWith("\n") ? helm.values : `${helm.values}\n`);
  if (helm.parameters) parts.push(stringify({ parameters: helm.parameters }));
  if (helm.valueFiles) parts.push(stringify({ valueFiles: helm.valueFiles }));
  return parts.join("");
}

/** The Application manifest without what chart/values report separately. */
function manifestOf(app: Obj | undefined): string {
  if (!app) return "";
  const copy = structuredClone(app);
  if (isChartSourced(app)) {
    delete copy.spec.source.targetRevision;
    delete copy.spec.source.helm;
  }
  return stringify(copy);
}

function compareObjects(before: Map<string, Obj>, after: Map<string, Obj>): ObjectChange[] {
  const out: ObjectChange[] = [];
  for (const id of [...new Set([...before.keys(), ...after.keys()])].sort()) {
    const a = before.get(id);
    const b = after.get(id);
    if (!a) out.push({ id, change: "added" });
    else if (!b) out.push({ id, change: "removed" });
    else {
      // The head's masks say which values changed; the base's are plain.
      const ta = stringify(maskSecret(a));
      const tb = stringify(maskSecret(b, a));
      if (ta !== tb) out.push({ id, change: "changed", diff: unifiedDiff(ta, tb) });
    }
  }
  return out;
}

/** Everything that differs between two trees of one cluster. */
export function compareTrees(cluster: ClusterKind, base: Tree | null, head: Tree | null): ClusterDiff {
  const diff: ClusterDiff = { cluster, apps: [] };
  if (!base && !head) return { ...diff, note: `clusters/${cluster} exists at neither revision` };
  if (!base) diff.note = `clusters/${cluster} is new in this change`;
  if (!head) diff.note = `clusters/${cluster} is removed by this change`;
  const a = base ?? new Map();
  const b = head ?? new Map();
  const names = [...new Set([...a.keys(), ...b.keys()])].sort((x, y) => (x === ROOT_GROUP ? -1 : y === ROOT_GROUP ? 1 : x.localeCompare(y)));
  for (const name of names) {
    const before: AppTree | undefined = a.get(name);
    const after: AppTree | undefined = b.get(name);
    const objects = compareObjects(before?.objects ?? new Map(), after?.objects ?? new Map());
    const manifest = unifiedDiff(manifestOf(before?.application), manifestOf(after?.application));
    const chartBefore = chartOf(before?.application);
    const chartAfter = chartOf(after?.application);
    const values = unifiedDiff(helmValues(before?.application), helmValues(after?.application));
    const chartChanged = chartBefore !== chartAfter;
    if (!objects.length && !manifest && !chartChanged && !values && before && after) continue;
    const change: AppChange = { name, change: !before ? "added" : !after ? "removed" : "changed", objects };
    if (manifest && before && after) change.manifest = manifest;
    if (chartChanged) change.chart = { before: chartBefore, after: chartAfter };
    if (values && (chartBefore || chartAfter)) change.values = values;
    const chart = after?.chart ?? before?.chart;
    if (chart && !chart.rendered) change.notRendered = chart.why;
    if (name === ROOT_GROUP && !objects.length) continue;
    diff.apps.push(change);
  }
  return diff;
}

// ---- unified diff -------------------------------------------------------------

const MAX_CELLS = 16_000_000;

/** A unified diff (3 lines of context) of two texts; "" when equal. */
export function unifiedDiff(before: string, after: string, context = 3): string {
  if (before === after) return "";
  const a = before === "" ? [] : before.replace(/\n$/, "").split("\n");
  const b = after === "" ? [] : after.replace(/\n$/, "").split("\n");
  // Trim the common head and tail, then an LCS table over the middle.
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) { endA--; endB--; }
  const ops: { op: " " | "-" | "+"; line: string }[] = a.slice(0, start).map((line) => ({ op: " ", line }));
  const midA = a.slice(start, endA);
  const midB = b.slice(start, endB);
  const n = midA.length;
  const m = midB.length;
  if (n * m > MAX_CELLS) {
    ops.push(...midA.map((line) => ({ op: "-" as const, line })), ...midB.map((line) => ({ op: "+" as const, line })));
  } else {
    const lcs = new Uint32Array((n + 1) * (m + 1));
    for (let i = n - 1; i >= 0; i--)
      for (let j = m - 1; j >= 0; j--)
        lcs[i * (m + 1) + j] = midA[i] === midB[j] ? lcs[(i + 1) * (m + 1) + j + 1]! + 1 : Math.max(lcs[(i + 1) * (m + 1) + j]!, lcs[i * (m + 1) + j + 1]!);
    let i = 0;
    let j = 0;
    while (i < n || j < m) {
      if (i < n && j < m && midA[i] === midB[j]) { ops.push({ op: " ", line: midA[i]! }); i++; j++; }
      else if (i < n && (j === m || lcs[(i + 1) * (m + 1) + j]! >= lcs[i * (m + 1) + j + 1]!)) { ops.push({ op: "-", line: midA[i]! }); i++; }
      else { ops.push({ op: "+", line: midB[j]! }); j++; }
    }
  }
  ops.push(...a.slice(endA).map((line) => ({ op: " " as const, line })));
  // Hunks: runs of changed lines closer than 2*context, with context around them.
  let lineA = 1;
  let lineB = 1;
  const positions = ops.map((o) => {
    const p = { a: lineA, b: lineB };
    if (o.op !== "+") lineA++;
    if (o.op !== "-") lineB++;
    return p;
  });
  const changed = ops.flatMap((o, i) => (o.op === " " ? [] : [i]));
  const groups: [number, number][] = [];
  for (const i of changed) {
    const last = groups.at(-1);
    if (last && i - last[1] <= 2 * context + 1) last[1] = i;
    else groups.push([i, i]);
  }
  const out: string[] = [];
  for (const [first, last] of groups) {
    const from = Math.max(0, first - context);
    const to = Math.min(ops.length, last + context + 1);
    const hunk = ops.slice(from, to);
    const countA = hunk.filter((o) => o.op !== "+").length;
    const countB = hunk.filter((o) => o.op !== "-").length;
    const startA = countA ? positions[from]!.a : positions[from]!.a - 1;
    const startB = countB ? positions[from]!.b : positions[from]!.b - 1;
    out.push(`@@ -${startA},${countA} +${startB},${countB} @@`, ...hunk.map((o) => `${o.op}${o.line}`));
  }
  return out.join("\n");
}

// ---- reports -------------------------------------------------------------------

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;

/** The line a reviewer reads first, e.g. "kind: 2 Applications changed, 14 objects changed, 1 removed". */
export function summaryLine(diff: ClusterDiff): string {
  const apps = diff.apps.filter((a) => a.name !== ROOT_GROUP);
  const objects = diff.apps.flatMap((a) => a.objects);
  const count = <T extends { change: string }>(list: T[], change: string) => list.filter((x) => x.change === change).length;
  const parts: string[] = [];
  const appParts = (["changed", "added", "removed"] as const).map((c) => [c, count(apps, c)] as const).filter(([, n]) => n > 0);
  if (appParts.length) parts.push(appParts.map(([c, n], i) => (i === 0 ? `${plural(n, "Application")} ${c}` : `${n} ${c}`)).join(", "));
  const objectParts = (["changed", "added", "removed"] as const).map((c) => [c, count(objects, c)] as const).filter(([, n]) => n > 0);
  if (objectParts.length) parts.push(objectParts.map(([c, n], i) => (i === 0 ? `${plural(n, "object")} ${c}` : `${n} ${c}`)).join(", "));
  const text = parts.length ? parts.join(", ") : "no differences";
  return `${diff.cluster}: ${text}${diff.note ? ` (${diff.note})` : ""}`;
}

// "chart metrics-server 3.13.1 -> 3.13.2 (repo)" when only the version moves.
function chartLine(chart: ChartChange): string {
  const split = (text?: string) => /^(\S+) (\S+) from (.+)$/.exec(text ?? "");
  const a = split(chart.before);
  const b = split(chart.after);
  if (a && b && a[1] === b[1] && a[3] === b[3]) return `chart ${a[1]} ${a[2]} -> ${b[2]} (${a[3]})`;
  return `chart: ${chart.before ?? "(none)"} -> ${chart.after ?? "(none)"}`;
}

function appTitle(app: AppChange): string {
  return app.name === ROOT_GROUP ? "the root Application's own objects" : `Application ${app.name} (${app.change})`;
}

const SIGN = { added: "+", removed: "-", changed: "~" } as const;

/** One cluster's details as lines of text (the diffs indented). */
function detailLines(diff: ClusterDiff, indent: (text: string, by: string) => string): string[] {
  const lines: string[] = [];
  for (const app of diff.apps) {
    lines.push(`${appTitle(app)}`);
    if (app.chart) lines.push(`  ${chartLine(app.chart)}`);
    if (app.values) lines.push("  values Argo CD passes to Helm:", indent(app.values, "    "));
    if (app.manifest) lines.push("  the Application:", indent(app.manifest, "    "));
    if (app.notRendered && app.change !== "removed") lines.push(`  chart contents not rendered: ${app.notRendered}`);
    for (const o of app.objects) {
      lines.push(`  ${SIGN[o.change]} ${o.id}${o.change === "changed" ? "" : ` (${o.change})`}`);
      if (o.diff && o.change === "changed") lines.push(indent(o.diff, "      "));
    }
  }
  return lines;
}

const indentBy = (text: string, by: string) => text.split("\n").map((l) => `${by}${l}`).join("\n");

/** The plain-text report: every summary line first, then the details per cluster. */
export function textReport(diffs: ClusterDiff[]): string {
  const out = [...diffs.map(summaryLine)];
  for (const diff of diffs) {
    if (!diff.apps.length) continue;
    out.push("", `== ${diff.cluster} ==`, ...detailLines(diff, indentBy));
  }
  return `${out.join("\n")}\n`;
}

/** Marks the one comment the workflow keeps up to date. */
export const COMMENT_MARKER = "<!-- giropops-platform diff -->";

export type CommentOptions = { maxChars: number; link?: string; base: string; head: string; charts?: string };

/**
 * The pull-request comment: a summary line per cluster, the details of each
 * in a collapsed block (a diff code block); when longer than maxChars, the
 * details are cut and the comment points at the full report.
 */
export function markdownReport(diffs: ClusterDiff[], options: CommentOptions): string {
  const head = [
    COMMENT_MARKER,
    "### What this change does to each cluster",
    "",
    `Rendered offline at \`${options.base}\` and \`${options.head}\` (\`npx zx scripts/diff.mts\`)${options.charts ? `; ${options.charts}` : ""}.`,
    "",
    ...diffs.map((d) => `- ${summaryLine(d)}`),
    "",
  ].join("\n");
  const blocks = diffs.filter((d) => d.apps.length).map((d) => ({ summary: summaryLine(d), body: detailLines(d, indentBy).join("\n") }));
  const fence = (body: string) => `\`\`\`diff\n${body.replaceAll("```", "ʼʼʼ")}\n\`\`\``;
  const render = (body: string, summary: string) => `<details><summary>${escapeHtml(summary)}</summary>\n\n${fence(body)}\n\n</details>\n`;
  const full = head + blocks.map((b) => render(b.body, b.summary)).join("\n");
  if (full.length <= options.maxChars) return full;
  const note = `\n**Truncated**: the comment is limited to ${options.maxChars} characters. ${options.link ? `[The full diff](${options.link}).` : "Run `npx zx scripts/diff.mts` for the full diff."}\n`;
  let budget = options.maxChars - head.length - note.length;
  const parts: string[] = [];
  for (const block of blocks) {
    const shell = render("", block.summary).length + "\n… (cut)".length + 1;
    if (budget < shell + 20) break;
    const room = budget - shell;
    const body = block.body.length > room ? `${block.body.slice(0, room).replace(/\n[^\n]*$/, "")}\n… (cut)` : block.body;
    const text = render(body, block.summary);
    parts.push(text);
    budget -= text.length + 1;
  }
  return `${head}${parts.join("\n")}${note}`.slice(0, options.maxChars);
}

/** The comment when a revision does not render: the error, in full. */
export function renderErrorComment(message: string): string {
  return [COMMENT_MARKER, "### What this change does to each cluster", "", "**No diff**: a revision does not render (at the head, Argo CD could not sync it either):", "", "```", message.replaceAll("```", "ʼʼʼ"), "```", ""].join("\n");
}

function escapeHtml(text: string): string {
  return text.replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;");
}

// ---- git and helm ---------------------------------------------------------------

/** A throw-away checkout of `ref` (git archive into a temp dir); removed by the returned function. */
export function checkout(repo: string, ref: string): { dir: string; commit: string; remove: () => void } {
  const commit = spawnSync("git", ["rev-parse", "--verify", "--quiet", `${ref}^{commit}`], { cwd: repo, encoding: "utf8" });
  if (commit.error) throw new UserError(`git: ${commit.error.message}`, { fix: "install git" });
  if (commit.status !== 0) throw new UserError(`"${ref}" is not a commit in this repository: fetch it (git fetch origin) or name a branch, tag or commit that exists`);
  const sha = commit.stdout.trim();
  const dir = mkdtempSync(join(tmpdir(), "giropops-diff-"));
  const archive = spawnSync("sh", ["-c", `git archive --format=tar "$0" | tar -x -C "$1"`, sha, dir], { cwd: repo, encoding: "utf8" });
  if (archive.status !== 0) {
    rmSync(dir, { recursive: true, force: true });
    throw new UserError(`git archive ${ref} failed: ${archive.stderr.trim().split("\n")[0]}`);
  }
  return { dir, commit: sha, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/**
 * The root Application's patches (this code's) split into those that apply to
 * `ref` on their own and those that do not. A change that adds both a root
 * patch and what it patches (a values key, a ConfigMap entry) leaves the base
 * without the target: the base is then shown as rendered with the rest,
 * which is what the cluster runs until bootstrap runs this code.
 */
export function applicableRootPatches(repo: string, ref: string, cluster: ClusterKind): { kept: KustomizePatch[]; dropped: KustomizePatch[] } {
  const kept: KustomizePatch[] = [];
  const dropped: KustomizePatch[] = [];
  for (const patch of rootPatches(cluster)) {
    const tree = checkout(repo, ref);
    try {
      renderRoot(cluster, { root: tree.dir, rootPatches: [patch] });
      kept.push(patch);
    } catch (error) {
      if (!(error instanceof RenderError)) throw error;
      dropped.push(patch);
    } finally {
      tree.remove();
    }
  }
  return { kept, dropped };
}

/** "Application monitoring (/spec/source/helm/…/runbook_base)": what a root patch touches. */
export function describePatch(patch: KustomizePatch): string {
  const target = [patch.target.kind, patch.target.name ?? patch.target.labelSelector].filter(Boolean).join(" ");
  const paths = (JSON.parse(patch.patch) as { path?: string }[]).map((op) => op.path).filter(Boolean);
  return `${target}${paths.length ? ` (${paths.slice(0, 2).join(", ")}${paths.length > 2 ? ", …" : ""})` : ""}`;
}

/** The helm binary on PATH, or undefined. */
export function findHelm(env: Record<string, string | undefined>): string | undefined {
  for (const dir of (env.PATH ?? "").split(delimiter)) if (dir && existsSync(join(dir, "helm"))) return join(dir, "helm");
  return undefined;
}

/**
 * `helm template` as Argo CD runs it for a chart source: release name,
 * destination namespace, the values it passes, CRDs included unless skipCrds.
 */
export function helmTemplateArgs(app: Obj, valuesFile?: string): string[] {
  const s = app.spec.source;
  const helm = s.helm ?? {};
  const oci = !/^[a-z]+:\/\//.test(String(s.repoURL));
  const chart = oci ? `oci://${String(s.repoURL).replace(/\/+$/, "")}/${s.chart}` : s.chart;
  const args = ["template", String(helm.releaseName ?? app.metadata.name), chart, ...(oci ? [] : ["--repo", s.repoURL]), "--version", String(s.targetRevision), "--namespace", String(app.spec.destination?.namespace ?? "default")];
  if (valuesFile) args.push("--values", valuesFile);
  for (const p of helm.parameters ?? []) args.push(p.forceString ? "--set-string" : "--set", `${p.name}=${p.value}`);
  if (!helm.skipCrds) args.push("--include-crds");
  return args;
}

/** Renders chart Applications with the helm at `helm`. A failure is a RenderError naming the Application. */
export function helmRenderer(helm: string): (app: Obj) => Rendered[] {
  return (app) => {
    const name = String(app.metadata?.name);
    const work = mkdtempSync(join(tmpdir(), "giropops-helm-"));
    try {
      const values = helmValues({ spec: { source: { helm: { valuesObject: app.spec.source.helm?.valuesObject, values: app.spec.source.helm?.values } } } });
      const file = values ? join(work, "values.yaml") : undefined;
      if (file) writeFileSync(file, values);
      const result = spawnSync(helm, helmTemplateArgs(app, file), { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, cwd: work });
      if (result.error || result.status !== 0) throw new RenderError(name, `Application ${name}: helm template failed: ${(result.error?.message ?? result.stderr).trim().split("\n").slice(-2).join(" | ")}`);
      const out: Rendered[] = [];
      for (const doc of parseAllDocuments(result.stdout)) {
        const object = doc.toJS();
        if (object && typeof object === "object") out.push({ source: `chart ${app.spec.source.chart}`, object, application: name });
      }
      return out;
    } finally {
      rmSync(work, { recursive: true, force: true });
    }
  };
}
