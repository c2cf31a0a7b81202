// Values that restate a chart's default (chart-defaults.yaml records the
// defaults, read from each chart at its pinned version). A restated image tag
// stays behind when the chart moves on, so each one is a problem unless the
// record says why it is kept.
import { isDeepStrictEqual } from "node:util";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { listFiles } from "./pins.mts";

type ChartRecord = { version: string; sources: string[]; defaults?: Record<string, unknown>; effective?: Record<string, unknown>; kept?: Record<string, string> };
export type ChartDefaults = {
  problems: { file: string; object?: string; message: string }[];
  /** Kept restatements, "chart path: reason". */
  kept: string[];
  /** Charts whose pinned version is not the one the defaults were read at. */
  stale: string[];
};

export const RECORD = "test/validate/chart-defaults.yaml";

function nodes(value: unknown, path: string[] = [], out: [string, unknown][] = []): [string, unknown][] {
  if (path.length) out.push([path.join("/"), value]);
  if (value && typeof value === "object" && !Array.isArray(value)) for (const [k, v] of Object.entries(value)) nodes(v, [...path, k], out);
  return out;
}

const within = (path: string, prefix: string) => path === prefix || path.startsWith(`${prefix}/`);

/** Checks every chart Application under gitops/ against the record (read from root, or the given one). */
export function chartDefaults(root: string, record: Record<string, ChartRecord> = parse(readFileSync(join(root, RECORD), "utf8"))): ChartDefaults {
  const result: ChartDefaults = { problems: [], kept: [], stale: [] };
  const usedKept = new Set<string>();
  for (const file of listFiles(root, "gitops").filter((f) => f.endsWith("application.yaml"))) {
    for (const doc of parseAllDocuments(readFileSync(join(root, file), "utf8"))) {
      const app = doc.toJS() as Record<string, any> | null;
      const source = app?.spec?.source;
      if (app?.kind !== "Application" || !source?.chart) continue;
      const object = `Application ${app.metadata?.name}`;
      const chart = record[source.chart];
      if (!chart) {
        result.problems.push({ file, object, message: `no recorded defaults for chart ${source.chart}: add it to ${RECORD} (read its values.yaml at ${source.targetRevision})` });
        continue;
      }
      if (String(chart.version) !== String(source.targetRevision)) result.stale.push(`${source.chart}: defaults read at ${chart.version}, the Application pins ${source.targetRevision}`);
      for (const [path, value] of nodes(source.helm?.valuesObject ?? {})) {
        const hasDefault = chart.defaults && path in chart.defaults && isDeepStrictEqual(value, chart.defaults[path]);
        const hasEffective = chart.effective && path in chart.effective && isDeepStrictEqual(value, chart.effective[path]);
        if (!hasDefault && !hasEffective) continue;
        const reason = Object.entries(chart.kept ?? {}).find(([prefix]) => within(path, prefix));
        if (reason) {
          usedKept.add(`${source.chart}|${reason[0]}`);
          result.kept.push(`${source.chart} ${path}: ${reason[1]}`);
        } else
          result.problems.push({
            file,
            object,
            message: `valuesObject ${path.replaceAll("/", ".")} restates the chart's default (${JSON.stringify(value)}, ${chart.sources[0]}): delete it, or say in ${RECORD} why it is kept`,
          });
      }
    }
  }
  for (const [name, chart] of Object.entries(record))
    for (const prefix of Object.keys(chart.kept ?? {}))
      if (!usedKept.has(`${name}|${prefix}`)) result.problems.push({ file: RECORD, message: `${name} kept ${prefix} no longer restates a default: remove it from kept` });
  return result;
}
