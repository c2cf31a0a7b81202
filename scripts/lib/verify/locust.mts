// A bounded headless Locust run against the app, from the suspended CronJob
// locust/locust-headless that gitops/locust ships (the same locustfile and
// target as the Locust UI). The Job made from it runs for `locustSeconds` and
// prints Locust's final summary (and its CSV stats after it, as a fallback);
// the error rate must stay under 1%.
import { parseLocustStats, type LocustStats } from "./chaos-report.mts";
import { getJson, plural, resultOf, statusMessage, type Check, type KubeApi, type Verdict, type VerifyContext } from "./checks.mts";

export const MAX_ERROR_RATE = 0.01;
const NAMESPACE = "locust";
const CRONJOB = "locust-headless";
export const CSV_MARKER = "--- verify: locust stats csv ---";

/** What the judge needs from a run: totals, and per-endpoint rows when Locust wrote its CSV. */
export type RunStats = { requests: number; failures: number; rps?: number; medianMs?: number; p95Ms?: number; rows: { name: string; requests: number; failures: number }[] };

/** Locust's `--csv` *_stats.csv as printed after the marker (parsed by chaos-report's parseLocustStats). */
export function statsFromCsv(text: string): RunStats | undefined {
  let stats: LocustStats;
  try {
    stats = parseLocustStats(text.slice(text.indexOf("Type,Name,")));
  } catch {
    return undefined;
  }
  const { total } = stats;
  const known = (n: number) => (Number.isFinite(n) ? n : undefined);
  const run: RunStats = { requests: total.requests, failures: total.failures || 0, rows: stats.endpoints.map((e) => ({ name: e.name, requests: e.requests, failures: e.failures })) };
  if (known(total.rps) !== undefined) run.rps = total.rps;
  if (known(total.medianMs) !== undefined) run.medianMs = total.medianMs;
  if (known(total.p95Ms) !== undefined) run.p95Ms = total.p95Ms;
  return run;
}

const METHOD = /^(GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS)\s+/;

/**
 * The last stats table Locust prints (with --only-summary, the final one):
 *   POST  POST /api/gerar-senha   163   0(0.00%) |  7  1  32  3 |  16.55  0.00
 *         Aggregated              204   0(0.00%) |  7  1  32  3 |  20.71  0.00
 * and p95 from the percentiles table after it.
 */
export function parseSummaryTable(text: string): RunStats | undefined {
  const lines = text.split("\n");
  const parsed = lines.map((line) => {
    const [left, middle, right] = line.split("|");
    const head = left && /^\s*(.*?)\s+(\d+)\s+(\d+)\([\d.]+%\)\s*$/.exec(left);
    if (!head || middle === undefined || right === undefined) return undefined;
    const [, , , median] = middle.trim().split(/\s+/).map(Number);
    const rps = Number(right.trim().split(/\s+/)[0]);
    return { name: head[1]!.replace(METHOD, ""), requests: Number(head[2]), failures: Number(head[3]), median, rps };
  });
  const last = parsed.findLastIndex((row) => row?.name === "Aggregated");
  if (last < 0) return undefined;
  const total = parsed[last]!;
  const rows: RunStats["rows"] = [];
  for (let i = last - 1; i >= 0 && (parsed[i] || /^-+\|/.test(lines[i] ?? "")); i--) {
    const row = parsed[i];
    if (row) rows.unshift({ name: row.name, requests: row.requests, failures: row.failures });
  }
  const stats: RunStats = { requests: total.requests, failures: total.failures, rows };
  if (Number.isFinite(total.rps)) stats.rps = total.rps;
  if (total.median !== undefined && Number.isFinite(total.median)) stats.medianMs = total.median;
  // Percentiles: "Aggregated  50% 66% 75% 80% 90% 95% ... # reqs", after the stats table.
  const percentiles = lines.slice(last + 1).map((line) => /^\s*Aggregated((?:\s+[\d.]+){12})\s*$/.exec(line)).find(Boolean);
  const p95 = percentiles ? Number(percentiles[1]!.trim().split(/\s+/)[5]) : NaN;
  if (Number.isFinite(p95)) stats.p95Ms = p95;
  return stats;
}

export type LocustRun = { job: string; phase: "Complete" | "Failed" | "Timeout"; log: string; seconds: number };

export function judgeLocust(run: LocustRun): Verdict {
  const hint = `kubectl -n locust logs job/${run.job}; kubectl -n giropops-senhas get pods,hpa`;
  // The final table, not the CSV: Locust writes its CSV on a timer, so the last
  // one can miss the final second of requests (seen with 2.12: 184 vs 204).
  const [printed, csv] = run.log.split(CSV_MARKER);
  const stats = parseSummaryTable(printed ?? "") ?? (csv !== undefined ? statsFromCsv(csv) : undefined);
  const tail = run.log.trim().split("\n").slice(-5).map((l) => `  ${l.trim()}`);
  if (!stats) return { ok: false, summary: `the Locust run printed no stats (Job ${run.phase})`, evidence: [`Job locust/${run.job}: ${run.phase}`, ...tail], hint };
  const rate = stats.requests > 0 ? stats.failures / stats.requests : 1;
  const evidence = [
    `Job locust/${run.job}: ${run.phase} after a ${run.seconds}s run`,
    `${stats.requests} requests, ${stats.failures} failures (${(rate * 100).toFixed(2)}%)` +
      (stats.rps !== undefined ? `, ${stats.rps.toFixed(1)} req/s` : "") +
      (stats.medianMs !== undefined ? `, median ${stats.medianMs} ms` : "") +
      (stats.p95Ms !== undefined ? `, p95 ${stats.p95Ms} ms` : ""),
    ...stats.rows.map((r) => `  ${r.name}: ${r.requests} requests, ${r.failures} failures`),
  ];
  if (stats.requests === 0) return { ok: false, summary: "Locust sent no requests", evidence, hint };
  if (rate >= MAX_ERROR_RATE) return { ok: false, summary: `error rate ${(rate * 100).toFixed(2)}% is not under ${MAX_ERROR_RATE * 100}%`, evidence, hint };
  return { ok: true, summary: `${plural(stats.requests, "request")} in ${run.seconds}s, error rate ${(rate * 100).toFixed(2)}% (< 1%)`, evidence };
}

type Container = { name: string; command?: string[]; args?: string[] } & Record<string, unknown>;
type JobSpec = { activeDeadlineSeconds?: number; template: { spec: { containers: Container[] } & Record<string, unknown> } & Record<string, unknown> } & Record<string, unknown>;

/** The Job `kubectl create job --from=cronjob/locust-headless` would make, for `seconds` and printing its CSV stats. */
export function jobFromCronJob(cronJob: { spec?: { jobTemplate?: { spec?: JobSpec } } }, name: string, seconds: number): Record<string, unknown> {
  const spec = structuredClone(cronJob.spec?.jobTemplate?.spec);
  const container = spec?.template.spec.containers[0];
  if (!spec || !container) throw new Error(`CronJob ${NAMESPACE}/${CRONJOB} has no job template`);
  const args = [...(container.args ?? [])];
  const at = args.indexOf("--run-time");
  if (at >= 0) args.splice(at, 2);
  args.push("--run-time", `${seconds}s`, "--csv", "/tmp/verify");
  // Locust's exit code stays the Job's; the CSV is printed after the run for verify to read.
  container.command = ["sh", "-c", `locust "$@"; code=$?; echo "${CSV_MARKER}"; cat /tmp/verify_stats.csv; exit $code`, "locust"];
  container.args = args;
  spec.activeDeadlineSeconds = Math.max(spec.activeDeadlineSeconds ?? 0, seconds + 240);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: NAMESPACE, annotations: { "cronjob.kubernetes.io/instantiate": "manual" }, labels: { "giropops.dev/verify": "true" } },
    spec,
  };
}

type Job = { status?: { succeeded?: number; failed?: number; conditions?: { type?: string; status?: string }[] } };

function phaseOf(job: Job): LocustRun["phase"] | undefined {
  const done = (type: string) => job.status?.conditions?.some((c) => c.type === type && c.status === "True");
  if (done("Complete") || (job.status?.succeeded ?? 0) > 0) return "Complete";
  if (done("Failed") || (job.status?.failed ?? 0) > 0) return "Failed";
  return undefined;
}

// The Jobs made from the CronJob, for this check and for verify --chaos.
const JOBS = `/apis/batch/v1/namespaces/${NAMESPACE}/jobs`;
const PODS = `/api/v1/namespaces/${NAMESPACE}/pods`;

/** The suspended CronJob locust/locust-headless every run is made from. */
export function readCronJob<T = any>(kube: KubeApi): Promise<T> {
  return getJson<T>(kube, `/apis/batch/v1/namespaces/${NAMESPACE}/cronjobs/${CRONJOB}`);
}

/** Creates Job locust/<name>; a refusal throws with the API's message. */
export async function createJob(kube: KubeApi, name: string, job: unknown): Promise<void> {
  const created = await kube.request("POST", JOBS, { body: job });
  if (created.status >= 300) throw new Error(`creating Job locust/${name} answered HTTP ${created.status}: ${statusMessage(created.body)}`);
}

export function readJob<T = any>(kube: KubeApi, name: string): Promise<T> {
  return getJson<T>(kube, `${JOBS}/${name}`);
}

export async function jobPods<T = { metadata: { name: string } }>(kube: KubeApi, name: string): Promise<T[]> {
  return (await getJson<{ items?: T[] }>(kube, PODS, { labelSelector: `job-name=${name}` })).items ?? [];
}

/** The locust container's log of every pod of the Job, one after another. */
export async function jobLog(kube: KubeApi, name: string): Promise<string> {
  let log = "";
  for (const pod of await jobPods(kube, name)) {
    const answer = await kube.request("GET", `${PODS}/${pod.metadata.name}/log`, { query: { container: "locust" } });
    if (answer.status === 200) log += answer.text;
  }
  return log;
}

/** Deletes the Job, its pods in the background. */
export async function deleteJob(kube: KubeApi, name: string): Promise<void> {
  await kube.request("DELETE", `${JOBS}/${name}`, { query: { propagationPolicy: "Background" } });
}

async function runJob(ctx: VerifyContext): Promise<LocustRun> {
  const seconds = ctx.options.locustSeconds;
  const cronJob = await readCronJob(ctx.kube);
  const name = `locust-verify-${ctx.clock.now().toString(36)}`;
  await createJob(ctx.kube, name, jobFromCronJob(cronJob, name, seconds));
  const deadline = ctx.clock.now() + (seconds + 240) * 1000;
  let phase: LocustRun["phase"] = "Timeout";
  for (;;) {
    const now = phaseOf(await readJob<Job>(ctx.kube, name));
    if (now) {
      phase = now;
      break;
    }
    if (ctx.clock.now() >= deadline) break;
    ctx.progress(`Locust Job ${name} running (${seconds}s of load)`);
    await ctx.clock.sleep(5000);
  }
  const log = await jobLog(ctx.kube, name);
  // The Job's TTL would remove it later; the evidence is already read.
  if (phase !== "Timeout") await deleteJob(ctx.kube, name);
  return { job: name, phase, log, seconds };
}

export const locustCheck: Check = {
  name: "locust",
  title: "a bounded headless Locust run keeps the error rate under 1%",
  hint: "kubectl -n locust get cronjob,jobs,pods",
  async run(ctx) {
    return resultOf("locust", judgeLocust(await runJob(ctx)));
  },
};
