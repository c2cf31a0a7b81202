// verify --chaos: the platform's own headless Locust Job puts load on the app
// while the Chaos Mesh experiments in gitops/chaos/experiments run, created
// here and deleted afterwards (Argo CD never syncs them):
//   1. app-pod-kill: one app pod killed every 30 s for N minutes. Gate: the
//      99.9% availability objective holds over the run.
//   2. redis-pod-kill: the Redis pod deleted once. Gate: every password listed
//      before (snapshotted past the AOF fsync window) is listed after it.
// The judges are pure (chaos-report.mts); this module only drives the cluster.
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseManifests } from "../kube.mts";
import { durabilityBound, parseRedisConf, redisPersistence } from "./chaos-redis.mts";
import {
  availabilityReport,
  durabilityReport,
  durabilityVerdict,
  parseLocustFailures,
  parseLocustStats,
  sloVerdict,
} from "./chaos-report.mts";
import { APP_NAMESPACE, getJson, resultOf, statusMessage, type CheckResult, type Verdict, type VerifyContext } from "./checks.mts";
import { CSV_MARKER, createJob, deleteJob, jobFromCronJob, jobLog, jobPods, readCronJob, readJob } from "./locust.mts";

export const CHAOS_NAMESPACE = "chaos-mesh";
const CHAOS_API = "/apis/chaos-mesh.org/v1alpha1";
export const EXPERIMENTS_DIR = "gitops/chaos/experiments";
export const FAILURES_MARKER = "--- verify: locust failures csv ---";
const PLURALS: Record<string, string> = { Schedule: "schedules", PodChaos: "podchaos", NetworkChaos: "networkchaos" };

export type ChaosPlan = {
  /** How long the app pod-kill Schedule exists (the "N minutes"). */
  podKillSeconds: number;
  /** Load before the first experiment, so the run starts from a steady state. */
  warmupSeconds: number;
  /** Load after the last experiment, so recovery is inside the measurement. */
  cooldownSeconds: number;
  /** Between the snapshot of stored passwords and the Redis deletion: past AOF everysec's window (1 s, 2 s worst case). */
  fsyncWaitMs: number;
  /** How long Redis may take to be Ready again. */
  recoveryTimeoutSeconds: number;
};

export const DEFAULT_PLAN: ChaosPlan = { podKillSeconds: 180, warmupSeconds: 20, cooldownSeconds: 20, fsyncWaitMs: 2_500, recoveryTimeoutSeconds: 180 };

type Obj = Record<string, any>;
type Pod = { uid: string; name: string; ready: boolean; terminating: boolean };

// ---- experiments ----------------------------------------------------------------

/** The experiment as git has it: `kubectl kustomize gitops/chaos/experiments/<name>`. */
export async function renderExperiment(ctx: VerifyContext, name: string): Promise<Obj> {
  const dir = join(ctx.repoRoot, EXPERIMENTS_DIR, name);
  const result = await ctx.runner.run("kubectl", ["kustomize", dir], { readOnly: true, fix: `check ${EXPERIMENTS_DIR}/${name}/kustomization.yaml` });
  const objects: Obj[] = parseManifests(result.stdout);
  const [experiment] = objects;
  if (objects.length !== 1 || !experiment || !PLURALS[experiment.kind]) throw new Error(`${EXPERIMENTS_DIR}/${name} must render exactly one Chaos Mesh object`);
  return experiment;
}

const experimentPath = (o: Obj) => `${CHAOS_API}/namespaces/${o.metadata.namespace ?? CHAOS_NAMESPACE}/${PLURALS[o.kind]}`;

async function deleteExperiment(ctx: VerifyContext, o: Obj): Promise<void> {
  const path = `${experimentPath(o)}/${o.metadata.name}`;
  const answer = await ctx.kube.request("DELETE", path);
  if (answer.status === 404) return;
  if (answer.status >= 300) throw new Error(`deleting ${o.kind} ${o.metadata.name} answered HTTP ${answer.status}: ${statusMessage(answer.body)}`);
  // Chaos Mesh finalizers recover the fault before the object goes.
  const deadline = ctx.clock.now() + 60_000;
  while ((await ctx.kube.request("GET", path)).status !== 404) {
    if (ctx.clock.now() > deadline) throw new Error(`${o.kind} ${CHAOS_NAMESPACE}/${o.metadata.name} is still there a minute after its deletion`);
    await ctx.clock.sleep(1_000);
  }
}

/** Creates the experiment afresh (a leftover of an interrupted run is deleted first). */
async function createExperiment(ctx: VerifyContext, o: Obj): Promise<void> {
  await deleteExperiment(ctx, o);
  const answer = await ctx.kube.request("POST", experimentPath(o), { body: o });
  if (answer.status >= 300) throw new Error(`creating ${o.kind} ${o.metadata.name} answered HTTP ${answer.status}: ${statusMessage(answer.body)}`);
}

/** The experiment's pod selector as a Kubernetes label selector (one source of truth: the manifest). */
export function labelSelectorOf(selector: Obj | undefined): string {
  const labels: Record<string, string> = selector?.labelSelectors ?? {};
  const text = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(",");
  if (!text) throw new Error("the experiment selects pods without labelSelectors");
  return text;
}

async function listPods(ctx: VerifyContext, selector: string): Promise<Pod[]> {
  const list = await getJson<{ items?: Obj[] }>(ctx.kube, `/api/v1/namespaces/${APP_NAMESPACE}/pods`, { labelSelector: selector });
  return (list.items ?? []).map((p) => ({
    uid: String(p.metadata?.uid),
    name: String(p.metadata?.name),
    ready: (p.status?.conditions ?? []).some((c: Obj) => c.type === "Ready" && c.status === "True"),
    terminating: Boolean(p.metadata?.deletionTimestamp),
  }));
}

// ---- load ---------------------------------------------------------------------------

type LocustOutcome = { job: string; phase: string; statsCsv: string; failuresCsv: string; log: string };
type LocustHandle = { job: string; users: number; done: Promise<LocustOutcome> };

/** The platform's headless Locust Job for `seconds`, printing both CSVs the judges read. */
export function chaosLocustJob(cronJob: Obj, name: string, seconds: number): Obj {
  const job = jobFromCronJob(cronJob, name, seconds) as Obj;
  const container = job.spec.template.spec.containers[0];
  container.command = [
    "sh",
    "-c",
    `locust "$@"; code=$?; echo "${CSV_MARKER}"; cat /tmp/verify_stats.csv; echo "${FAILURES_MARKER}"; cat /tmp/verify_failures.csv; exit $code`,
    "locust",
  ];
  job.metadata.labels = { ...job.metadata.labels, "giropops.dev/chaos": "true" };
  return job;
}

/** The two CSVs out of the Job's log. */
export function splitLocustLog(log: string): { statsCsv: string; failuresCsv: string } {
  const afterStats = log.split(CSV_MARKER)[1] ?? "";
  const [stats = "", failures = ""] = afterStats.split(FAILURES_MARKER);
  return { statsCsv: stats.trim(), failuresCsv: failures.trim() };
}

async function startLocust(ctx: VerifyContext, seconds: number, tag: string): Promise<LocustHandle> {
  const cronJob = await readCronJob<Obj>(ctx.kube);
  const args: string[] = cronJob.spec?.jobTemplate?.spec?.template?.spec?.containers?.[0]?.args ?? [];
  const usersAt = args.findIndex((a) => a === "--users" || a === "-u");
  const users = usersAt >= 0 ? Number(args[usersAt + 1]) : NaN;
  const job = `locust-${tag}-${ctx.clock.now().toString(36)}`;
  await createJob(ctx.kube, job, chaosLocustJob(cronJob, job, seconds));

  // The clock of the run starts when Locust does, not when the Job is created (image pull, scheduling).
  const startDeadline = ctx.clock.now() + 300_000;
  for (;;) {
    const pods = await jobPods<Obj>(ctx.kube, job);
    if (pods.some((p) => p.status?.phase === "Running" || p.status?.phase === "Succeeded")) break;
    if (ctx.clock.now() > startDeadline) throw new Error(`Locust Job ${job} did not start within 5 minutes`);
    ctx.progress(`waiting for Locust Job ${job} to start`);
    await ctx.clock.sleep(2_000);
  }

  const done = (async (): Promise<LocustOutcome> => {
    const deadline = ctx.clock.now() + (seconds + 240) * 1000;
    let phase = "Timeout";
    for (;;) {
      const status = (await readJob<Obj>(ctx.kube, job)).status ?? {};
      if ((status.succeeded ?? 0) > 0) phase = "Complete";
      else if ((status.failed ?? 0) > 0) phase = "Failed";
      if (phase !== "Timeout" || ctx.clock.now() > deadline) break;
      await ctx.clock.sleep(5_000);
    }
    const log = await jobLog(ctx.kube, job);
    await deleteJob(ctx.kube, job);
    return { job, phase, log, ...splitLocustLog(log) };
  })();
  return { job, users, done };
}

function judgeLoad(outcome: LocustOutcome, durationSeconds: number) {
  if (!outcome.statsCsv) throw new Error(`Locust Job ${outcome.job} (${outcome.phase}) printed no stats CSV: ${outcome.log.trim().split("\n").at(-1) ?? ""}`);
  return availabilityReport({ stats: parseLocustStats(outcome.statsCsv), failures: parseLocustFailures(outcome.failuresCsv), durationSeconds });
}

// ---- Redis --------------------------------------------------------------------------

/**
 * Every stored password, newest first, read inside the Redis pod (redis-cli
 * takes REDISCLI_AUTH from the container's env). Passwords never contain a
 * space and Redis' error replies always do ("LOADING Redis is loading...").
 */
async function storedPasswords(ctx: VerifyContext, pod: string): Promise<string[]> {
  const deadline = ctx.clock.now() + 60_000;
  for (;;) {
    const out = await ctx.kube.exec(APP_NAMESPACE, pod, "redis", ["redis-cli", "--raw", "LRANGE", "senhas", "0", "-1"]);
    const lines = out.stdout.split("\n").filter((line) => line !== "");
    const error = out.exitCode !== 0 ? out.stderr.trim() || `exit code ${out.exitCode}` : lines.find((line) => line.includes(" "));
    if (error === undefined) return lines;
    if (!/LOADING/.test(error) || ctx.clock.now() > deadline) throw new Error(`reading the passwords in ${APP_NAMESPACE}/${pod} failed: ${error.split("\n")[0]}`);
    await ctx.clock.sleep(1_000);
  }
}

/** The durability bound the live Redis promises, from its StatefulSet and ConfigMaps. */
async function liveBound(ctx: VerifyContext): Promise<string> {
  try {
    const sts = await getJson<Obj>(ctx.kube, `/apis/apps/v1/namespaces/${APP_NAMESPACE}/statefulsets/redis`);
    const configMaps = await getJson<{ items?: Obj[] }>(ctx.kube, `/api/v1/namespaces/${APP_NAMESPACE}/configmaps`);
    const objects = [{ ...sts, kind: "StatefulSet" }, ...(configMaps.items ?? []).map((c) => ({ ...c, kind: "ConfigMap" }))];
    return durabilityBound(redisPersistence(objects).directives).description;
  } catch (error) {
    return `unknown (${error instanceof Error ? error.message : String(error)}); the shipped config promises: ${durabilityBound(parseRedisConf("appendonly yes\nappendfsync everysec")).description}`;
  }
}

async function listCap(ctx: VerifyContext): Promise<number> {
  const deployment = await getJson<Obj>(ctx.kube, `/apis/apps/v1/namespaces/${APP_NAMESPACE}/deployments/giropops-senhas`);
  const env: Obj[] = deployment.spec?.template?.spec?.containers?.[0]?.env ?? [];
  const cap = Number(env.find((e) => e.name === "SENHAS_LIST_CAP")?.value);
  return Number.isFinite(cap) && cap > 0 ? cap : 1000; // the app's default
}

// ---- the phases ----------------------------------------------------------------------

type Phase = { result: CheckResult; report: string[]; files: Record<string, string> };

async function appPodKillPhase(ctx: VerifyContext, plan: ChaosPlan): Promise<Phase> {
  const schedule = await renderExperiment(ctx, "app-pod-kill");
  const selector = labelSelectorOf(schedule.spec?.podChaos?.selector);
  const every = String(schedule.spec?.schedule ?? "").replace(/^@/, "");
  const atStart = await listPods(ctx, selector);
  const seconds = plan.warmupSeconds + plan.podKillSeconds + plan.cooldownSeconds;
  const locust = await startLocust(ctx, seconds, "chaos-app");
  await ctx.clock.sleep(plan.warmupSeconds * 1000);

  const seen = new Map<string, Pod>();
  const look = async () => {
    for (const pod of await listPods(ctx, selector)) seen.set(pod.uid, pod);
  };
  await look();
  await createExperiment(ctx, schedule);
  const until = ctx.clock.now() + plan.podKillSeconds * 1000;
  try {
    while (ctx.clock.now() < until) {
      await ctx.clock.sleep(Math.min(5_000, Math.max(0, until - ctx.clock.now())));
      await look();
      ctx.progress(`app-pod-kill: ${Math.max(0, Math.round((until - ctx.clock.now()) / 1000))} s left, ${[...seen.values()].filter((p) => p.ready && !p.terminating).length} pods ready`);
    }
  } finally {
    await deleteExperiment(ctx, schedule);
  }
  const current = new Map((await listPods(ctx, selector)).map((p) => [p.uid, p]));
  const killed = [...seen.keys()].filter((uid) => !current.has(uid) || current.get(uid)!.terminating).length;

  ctx.progress("app-pod-kill: waiting for the Locust run to end");
  const outcome = await locust.done;
  const report = judgeLoad(outcome, seconds);
  const verdict = sloVerdict({ report, podsKilled: killed, minutes: plan.podKillSeconds / 60, users: locust.users, every });
  verdict.evidence.unshift(`ready app pods at the start: ${atStart.filter((p) => p.ready).length} (Locust Job locust/${outcome.job}, ${outcome.phase})`);
  return {
    result: resultOf("chaos-slo", verdict),
    report: verdict.evidence,
    files: { "app-pod-kill_stats.csv": outcome.statsCsv, "app-pod-kill_failures.csv": outcome.failuresCsv },
  };
}

async function redisPodKillPhase(ctx: VerifyContext, plan: ChaosPlan): Promise<Phase> {
  const podChaos = await renderExperiment(ctx, "redis-pod-kill");
  const selector = labelSelectorOf(podChaos.spec?.selector);
  const [cap, bound] = await Promise.all([listCap(ctx), liveBound(ctx)]);
  const seconds = plan.warmupSeconds + 60 + plan.cooldownSeconds;
  const locust = await startLocust(ctx, seconds, "chaos-redis");
  await ctx.clock.sleep(plan.warmupSeconds * 1000);

  const old = (await listPods(ctx, selector)).find((p) => p.ready && !p.terminating);
  if (!old) throw new Error(`no Ready Redis pod (${selector}) in ${APP_NAMESPACE}`);
  const before = await storedPasswords(ctx, old.name);
  // Everything in `before` is now older than the fsync window when Redis goes down.
  await ctx.clock.sleep(plan.fsyncWaitMs);
  const deletedAt = ctx.clock.now();
  let recoverySeconds = NaN;
  let after: string[];
  await createExperiment(ctx, podChaos);
  try {
    const deadline = deletedAt + plan.recoveryTimeoutSeconds * 1000;
    let fresh: Pod | undefined;
    while (!(fresh = (await listPods(ctx, selector)).find((p) => p.uid !== old.uid && p.ready && !p.terminating))) {
      if (ctx.clock.now() > deadline) throw new Error(`Redis was not Ready again within ${plan.recoveryTimeoutSeconds} s of its deletion`);
      ctx.progress(`redis-pod-kill: waiting for a new Redis pod to be Ready`);
      await ctx.clock.sleep(1_000);
    }
    recoverySeconds = (ctx.clock.now() - deletedAt) / 1000;
    after = await storedPasswords(ctx, fresh.name);
  } finally {
    await deleteExperiment(ctx, podChaos);
  }

  ctx.progress("redis-pod-kill: waiting for the Locust run to end");
  const outcome = await locust.done;
  const verdict: Verdict = durabilityVerdict({ durability: durabilityReport(before, after, cap), bound, availability: judgeLoad(outcome, seconds), recoverySeconds });
  return {
    result: resultOf("chaos-durability", verdict),
    report: verdict.evidence,
    files: { "redis-pod-kill_stats.csv": outcome.statsCsv, "redis-pod-kill_failures.csv": outcome.failuresCsv },
  };
}

// ---- entry point --------------------------------------------------------------------

async function phase(name: string, hint: string, run: () => Promise<Phase>): Promise<Phase> {
  try {
    return await run();
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { result: { name, status: "fail", summary: `could not be run: ${message.split("\n")[0]}`, evidence: [], hint }, report: [message], files: {} };
  }
}

/** Called by verify (scripts/lib/verify/index.mts) for --chaos. */
export async function runChaos(ctx: VerifyContext, overrides: Partial<ChaosPlan> = {}): Promise<CheckResult[]> {
  // verify's --chaos-time sets the pod-kill phase's length.
  const { chaosSeconds } = ctx.options;
  const plan = { ...DEFAULT_PLAN, ...(chaosSeconds ? { podKillSeconds: chaosSeconds } : {}), ...overrides };
  const installed = await ctx.kube.request("GET", CHAOS_API);
  if (installed.status !== 200) {
    return [
      {
        name: "chaos",
        status: "fail",
        summary: "Chaos Mesh is not installed on this cluster (no chaos-mesh.org API)",
        evidence: [`GET ${CHAOS_API} answered HTTP ${installed.status}`],
        hint: `add "- ../../gitops/chaos" to the resources of clusters/${ctx.config.cluster}/kustomization.yaml, push, and wait for the chaos-mesh Application to be Healthy`,
      },
    ];
  }

  const started = new Date(ctx.clock.now()).toISOString();
  const app = await phase("chaos-slo", "kubectl -n chaos-mesh get schedules,podchaos; kubectl -n locust get jobs,pods", () => appPodKillPhase(ctx, plan));
  const redis = await phase("chaos-durability", "kubectl -n chaos-mesh get podchaos; kubectl -n giropops-senhas get pods -l app.kubernetes.io/name=redis", () =>
    redisPodKillPhase(ctx, plan),
  );

  const dir = join(ctx.repoRoot, ".artifacts", "chaos");
  mkdirSync(dir, { recursive: true });
  for (const [file, text] of Object.entries({ ...app.files, ...redis.files })) writeFileSync(join(dir, file), `${text}\n`);
  writeFileSync(join(dir, "report.md"), chaosReportMarkdown(ctx.config.cluster, started, [app, redis]));
  return [app.result, redis.result];
}

/** The report verify leaves in .artifacts/chaos/report.md (the e2e workflow publishes it). */
export function chaosReportMarkdown(cluster: string, started: string, phases: { result: CheckResult; report: string[] }[]): string {
  const lines = [`# Chaos run on ${cluster}, ${started}`, ""];
  for (const { result, report } of phases) {
    lines.push(`## ${result.name}: ${result.status.toUpperCase()}`, "", result.summary, "", ...report.map((l) => `- ${l}`), "");
    if (result.hint) lines.push(`Hint: ${result.hint}`, "");
  }
  return lines.join("\n");
}
