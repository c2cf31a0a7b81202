// npx zx scripts/diff.mts [--base origin/main] [--head REF] [--cluster kind|minikube|oke|all]
// What a commit will change in each cluster, before it merges: the GitOps tree
// rendered offline at the base and at the head (default: the working tree) with
// the renderer the validation uses, compared per cluster, per Application, per
// object. Chart contents are rendered when helm is on PATH. Reads only; exit 0
// with or without differences, 1 on a render error, 2 on a bad flag.
import { writeFileSync } from "node:fs";
import { EXIT, defaultDeps, runCommand, type CommandSpec, type Deps } from "./lib/cli.mts";
import { CLUSTER_KINDS, type ClusterKind } from "./lib/config.mts";
import { applicableRootPatches, buildTree, checkout, compareTrees, describePatch, findHelm, helmRenderer, markdownReport, renderErrorComment, textReport, type ClusterDiff, type TreeOptions } from "./lib/diff.mts";
import { UserError } from "./lib/errors.mts";
import { RenderError } from "./lib/render.mts";
import { exit, scriptArguments } from "./lib/runtime.mts";

export const DIFF: CommandSpec = {
  name: "diff",
  summary: "Show what a change does to each cluster: every Application's added, removed and changed objects, rendered offline at two revisions.",
  flags: {
    base: { type: "string", value: "REF", description: "the revision to compare against (default origin/main)" },
    head: { type: "string", value: "REF", description: "the revision to compare (default: the working tree, uncommitted edits included)" },
    cluster: { type: "string", value: "kind|minikube|oke|all", description: "which cluster's tree (default all)" },
    comment: { type: "string", value: "FILE", description: "also write the pull-request comment (Markdown, collapsed per cluster) to FILE" },
    link: { type: "string", value: "URL", description: "where the full diff is, linked from a truncated comment" },
    "max-chars": { type: "string", value: "N", description: "cut the comment's details at N characters (default 60000; GitHub allows 65536)" },
    "skip-charts": { type: "boolean", description: "do not render chart contents even when helm is on PATH" },
    help: { type: "boolean", description: "show this help and exit" },
  },
  examples: [
    "npx zx scripts/diff.mts --base origin/main",
    "npx zx scripts/diff.mts --base main --head HEAD --cluster oke",
    "npx zx scripts/diff.mts --base origin/main --comment diff.md --link https://github.com/OWNER/REPO/actions/runs/ID",
  ],
};

const DEFAULT_MAX_CHARS = 60_000;

function clustersFrom(value: unknown): ClusterKind[] {
  if (value === undefined || value === "all") return [...CLUSTER_KINDS];
  if ((CLUSTER_KINDS as readonly string[]).includes(String(value))) return [value as ClusterKind];
  throw new UserError(`--cluster must be one of ${CLUSTER_KINDS.join(", ")} or all, not "${value}"`, { exitCode: EXIT.usage });
}

function maxCharsFrom(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_CHARS;
  const n = Number(value);
  if (!/^\d+$/.test(String(value)) || n < 1000) throw new UserError(`--max-chars must be a whole number of at least 1000, not "${value}"`, { exitCode: EXIT.usage });
  return n;
}

export async function diff(argv: string[], deps: Deps): Promise<number> {
  return runCommand(DIFF, argv, deps, async ({ parsed }) => {
    const clusters = clustersFrom(parsed.values.cluster);
    const maxChars = maxCharsFrom(parsed.values["max-chars"]);
    const baseRef = typeof parsed.values.base === "string" ? parsed.values.base : "origin/main";
    const headRef = typeof parsed.values.head === "string" ? parsed.values.head : undefined;

    const helm = parsed.values["skip-charts"] ? undefined : findHelm(deps.env);
    const options: TreeOptions = helm
      ? { chartRenderer: helmRenderer(helm) }
      : { noCharts: parsed.values["skip-charts"] ? "--skip-charts was given" : "helm is not on PATH (only the chart, its version and its values are compared)" };

    const base = checkout(deps.root, baseRef);
    const head = headRef ? checkout(deps.root, headRef) : undefined;
    try {
      const headDir = head?.dir ?? deps.root;
      const headName = head ? `${headRef} (${head.commit.slice(0, 12)})` : "the working tree";
      const baseName = `${baseRef} (${base.commit.slice(0, 12)})`;
      const diffs: ClusterDiff[] = [];
      const notes: string[] = [];
      // A declaration (not an arrow) so TypeScript narrows after a call to it.
      function failed(cluster: string, name: string, error: RenderError): never {
        const message = `${cluster} at ${name} does not render: ${error.message}`;
        // The pull request shows the failure too, not only the job log.
        if (typeof parsed.values.comment === "string") writeFileSync(parsed.values.comment, renderErrorComment(message));
        throw new UserError(message);
      }
      const attempt = <T,>(build: () => T): T | RenderError => {
        try {
          return build();
        } catch (error) {
          if (!(error instanceof RenderError)) throw error;
          return error;
        }
      };
      for (const cluster of clusters) {
        const after = attempt(() => buildTree(cluster, headDir, options));
        if (after instanceof RenderError) failed(cluster, headName, after);
        let before = attempt(() => buildTree(cluster, base.dir, options));
        if (before instanceof RenderError) {
          // This code's root patches may need what only the head adds: the base without those.
          const { kept, dropped } = applicableRootPatches(deps.root, base.commit, cluster);
          if (dropped.length === 0) failed(cluster, baseName, before);
          const again = checkout(deps.root, base.commit);
          try {
            before = attempt(() => buildTree(cluster, again.dir, { ...options, rootPatches: kept }));
          } finally {
            again.remove();
          }
          if (before instanceof RenderError) failed(cluster, baseName, before);
          notes.push(`${cluster}: ${baseName} is rendered without ${dropped.length} of the root Application's patches, which need what this change adds: ${dropped.map(describePatch).join("; ")}`);
        }
        diffs.push(compareTrees(cluster, before, after));
      }
      const charts = [helm ? `chart contents rendered with ${helm}` : `chart contents not rendered: ${options.noCharts}`, ...notes].join("; ");
      deps.streams.out.write(`Comparing ${baseName} with ${headName}; ${charts}.\n\n${textReport(diffs)}`);
      if (typeof parsed.values.comment === "string") {
        const link = typeof parsed.values.link === "string" ? parsed.values.link : undefined;
        writeFileSync(parsed.values.comment, markdownReport(diffs, { maxChars, link, base: baseName, head: headName, charts }));
      }
      return EXIT.ok;
    } finally {
      base.remove();
      head?.remove();
    }
  });
}

const args = scriptArguments(import.meta.url);
if (args) exit(await diff(args, defaultDeps()));
