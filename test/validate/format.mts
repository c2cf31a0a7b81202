// The text `npm run validate` prints: problems first, then what was rendered.
import type { Report } from "./validate.mts";
import { KIND_BUDGET } from "./validate.mts";
import { formatPins } from "./pin-checks.mts";

const gib = (bytes: number) => `${(bytes / 1024 ** 3).toFixed(2)} GiB`;

export function formatReport(report: Report, ms?: number): string {
  const lines: string[] = [];
  for (const c of report.clusters) {
    const kinds = Object.entries(c.byKind).sort(([a], [b]) => a.localeCompare(b)).map(([k, n]) => `${k} ${n}`).join(", ");
    lines.push(`${c.cluster}: ${c.objects} objects (${kinds})`);
    const apps = [...c.applications].sort((a, b) => a.wave - b.wave || a.name.localeCompare(b.name));
    lines.push(`  waves: ${apps.map((a) => `${a.wave}:${a.name}`).join("  ")}`);
    const budget = c.cluster === "kind" ? ` (budget ${KIND_BUDGET.cpuMilli}m / ${gib(KIND_BUDGET.memoryBytes)})` : "";
    lines.push(`  requests: ${c.requests.cpuMilli}m CPU, ${gib(c.requests.memoryBytes)} memory${budget} from ${c.requests.counted.length} blocks`);
  }
  const kind = report.clusters.find((c) => c.cluster === "kind");
  if (kind) {
    lines.push(`counted on kind: ${kind.requests.counted.join("; ")}`);
    lines.push("not counted: chart defaults where our values set no requests, Jobs and suspended CronJobs (locust-headless), scaled-to-zero Deployments (argocd-dex-server)");
  }
  for (const r of report.remotes) {
    lines.push(`remote, pinned at ${r.url.match(/v?\d+\.\d+\.\d+/)?.[0] ?? "?"}, not rendered offline: ${r.url} (${r.kustomization}${r.droppedPatches.length ? `; patches not applied offline: ${r.droppedPatches.join(", ")}` : ""})`);
  }
  lines.push(`schemas: ${report.schemaChecked} objects validated against schema packages`);
  const schemaless = Object.entries(report.schemaless);
  if (schemaless.length) lines.push(`no schema package (apiVersion/kind/metadata.name checked only): ${schemaless.map(([k, n]) => `${k} x${n}`).join(", ")}`);
  lines.push(`standalone kustomizations rendered: ${report.standalone.length}`);
  if (report.optional.length) lines.push(`optional components (no cluster includes them; Application checked on its own): ${report.optional.join(", ")}`);
  lines.push(`root patches from: ${report.rootBuilder}`);
  lines.push(...formatPins(report.pins));
  if (report.problems.length) {
    lines.push("", `${report.problems.length} problem(s):`);
    for (const p of report.problems) lines.push(`  ${p.file}${p.object ? ` [${p.object}]` : ""}: ${p.message}`);
  } else lines.push("", "OK: no problems");
  if (ms !== undefined) lines.push(`(${(ms / 1000).toFixed(1)}s)`);
  return lines.join("\n");
}
