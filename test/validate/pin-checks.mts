// The pin invariants of the offline validation, in one call for validate.mts:
// images by digest (image-digests.mts) and values restating chart defaults
// (chart-defaults.mts).
import { chartDefaults } from "./chart-defaults.mts";
import { imageDigests } from "./image-digests.mts";
import { findPins } from "./pins.mts";

export type PinsReport = {
  /** Images still without a digest, from the reviewed list, with where they are set. */
  imagesWithoutDigest: string[];
  /** Values kept although equal to the chart's default, with the reason. */
  chartDefaultsKept: string[];
  /** Charts pinned at another version than the one their defaults were read at. */
  chartDefaultsStale: string[];
};

export function pinChecks(root: string): { problems: { file: string; object?: string; message: string }[]; report: PinsReport } {
  const digests = imageDigests(root, findPins(root));
  const defaults = chartDefaults(root);
  return {
    problems: [...digests.problems, ...defaults.problems],
    report: { imagesWithoutDigest: digests.waiting, chartDefaultsKept: defaults.kept, chartDefaultsStale: defaults.stale },
  };
}

export function formatPins(report: PinsReport): string[] {
  return [
    `images without a digest, waiting for Renovate's first run or built here (${report.imagesWithoutDigest.length}):`,
    ...report.imagesWithoutDigest.map((i) => `  ${i}`),
    `values kept although equal to the chart default: ${report.chartDefaultsKept.length} (test/validate/chart-defaults.yaml says why)`,
    ...report.chartDefaultsStale.map((s) => `chart defaults to re-read: ${s}`),
  ];
}
