// How results read: each check as pass/fail with its evidence (and where to
// dig in when it failed), then one summary line.
import type { Ui } from "../ui.mts";
import { totals, type CheckResult } from "./checks.mts";

export function printResult(ui: Ui, result: CheckResult): void {
  const c = ui.color;
  const mark = result.status === "pass" ? c.green("✔ PASS") : result.status === "skip" ? c.yellow("- SKIP") : c.red("✖ FAIL");
  ui.line(`${mark} ${c.bold(result.name)}: ${result.summary}`);
  for (const line of result.evidence) ui.line(`    ${c.dim(line)}`);
  if (result.status === "fail" && result.hint) ui.line(`    ${c.yellow("dig in:")} ${result.hint}`);
}

export function summaryLine(results: CheckResult[]): string {
  const t = totals(results);
  const failed = results.filter((r) => r.status === "fail").map((r) => r.name);
  return `${t.passed} passed, ${t.failed} failed${t.skipped ? `, ${t.skipped} skipped` : ""}${failed.length ? ` (${failed.join(", ")})` : ""}`;
}
