// Pure judges for `verify --chaos`: Locust's CSV output and two lists of stored
// passwords in, verdicts and report lines out. No cluster, no clock, so they are
// tested on recorded runs (test/resilience/fixtures).
import type { Verdict } from "./checks.mts";

/** The platform's availability objective (gitops/monitoring rules: SLI = requests without a 5xx). */
export const SLO = { objective: 0.999, windowDays: 30 } as const;

// ---- Locust CSV ---------------------------------------------------------------

/** RFC 4180 CSV: quoted fields may hold commas, "" and newlines. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') (field += '"'), i++;
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ",") row.push(field), (field = "");
    else if (c === "\n" || c === "\r") {
      if (c === "\r" && text[i + 1] === "\n") i++;
      row.push(field), rows.push(row), (row = []), (field = "");
    } else field += c;
  }
  if (field !== "" || row.length > 0) row.push(field), rows.push(row);
  return rows.filter((r) => r.some((f) => f !== ""));
}

function records(text: string): Record<string, string>[] {
  const [header, ...rows] = parseCsv(text);
  if (!header) return [];
  return rows.map((row) => Object.fromEntries(header.map((name, i) => [name, row[i] ?? ""])));
}

const num = (raw: string | undefined): number => (raw === undefined || raw === "" || raw === "N/A" ? NaN : Number(raw));

export type EndpointStats = {
  method: string;
  name: string;
  requests: number;
  failures: number;
  medianMs: number;
  p95Ms: number;
  p99Ms: number;
  maxMs: number;
  rps: number;
};

export type LocustStats = { endpoints: EndpointStats[]; total: EndpointStats };

/** `<prefix>_stats.csv` (same columns in Locust 2.12 and 2.32). */
export function parseLocustStats(csv: string): LocustStats {
  const rows = records(csv).map(
    (r): EndpointStats => ({
      method: r["Type"] ?? "",
      name: r["Name"] ?? "",
      requests: num(r["Request Count"]),
      failures: num(r["Failure Count"]),
      medianMs: num(r["Median Response Time"]),
      p95Ms: num(r["95%"]),
      p99Ms: num(r["99%"]),
      maxMs: num(r["Max Response Time"]),
      rps: num(r["Requests/s"]),
    }),
  );
  const total = rows.find((r) => r.name === "Aggregated" && r.method === "");
  if (!total || Number.isNaN(total.requests)) throw new Error("not a Locust stats CSV: no Aggregated row with a Request Count");
  return { endpoints: rows.filter((r) => r !== total), total };
}

export type FailureStats = { method: string; name: string; error: string; occurrences: number; status: number | undefined };

/**
 * `<prefix>_failures.csv`. The locustfile fails a response as "status NNN: ...";
 * Locust's own HTTP errors read "NNN Client/Server Error"; connection errors
 * have no status (or status 0).
 */
export function parseLocustFailures(csv: string): FailureStats[] {
  return records(csv).map((r) => {
    const error = r["Error"] ?? "";
    const match = /\bstatus (\d{1,3})\b/.exec(error) ?? /\b(\d{3}) (?:Client|Server) Error\b/.exec(error);
    return { method: r["Method"] ?? "", name: r["Name"] ?? "", error, occurrences: num(r["Occurrences"]) || 0, status: match ? Number(match[1]) : undefined };
  });
}

// ---- availability and error budget -------------------------------------------------

export type AvailabilityReport = {
  requests: number;
  failures: number;
  /** Failures the SLO counts: 5xx, connection errors, wrong answers. */
  sloErrors: number;
  /** 4xx answers: the load test's fault, reported but not counted. */
  clientErrors: number;
  availability: number;
  errorRate: number;
  p95Ms: number;
  /** errorRate / (1 - objective): 1 spends the budget exactly as fast as the SLO allows. */
  burnRate: number;
  /** Share of the whole window's (30 days) error budget this run spent. */
  budgetSpent: number;
  /** SLO errors the objective allows for this many requests. */
  allowedErrors: number;
  durationSeconds: number;
  ok: boolean;
};

export function availabilityReport(input: {
  stats: LocustStats;
  failures: FailureStats[];
  durationSeconds: number;
  objective?: number;
  windowDays?: number;
}): AvailabilityReport {
  const objective = input.objective ?? SLO.objective;
  const windowDays = input.windowDays ?? SLO.windowDays;
  const { total } = input.stats;
  const clientErrors = input.failures.filter((f) => f.status !== undefined && f.status >= 400 && f.status < 500).reduce((n, f) => n + f.occurrences, 0);
  const sloErrors = Math.max(0, total.failures - clientErrors);
  const counted = total.requests - clientErrors;
  const errorRate = counted > 0 ? sloErrors / counted : 0;
  const budget = 1 - objective;
  const burnRate = errorRate / budget;
  const availability = 1 - errorRate;
  return {
    requests: total.requests,
    failures: total.failures,
    sloErrors,
    clientErrors,
    availability,
    errorRate,
    p95Ms: total.p95Ms,
    burnRate,
    budgetSpent: (burnRate * input.durationSeconds) / (windowDays * 86_400),
    allowedErrors: counted * budget,
    durationSeconds: input.durationSeconds,
    ok: counted > 0 && availability >= objective,
  };
}

// ---- durability -------------------------------------------------------------------

export type DurabilityReport = {
  /** Passwords listed before the restart (all older than the fsync window when it happened). */
  before: number;
  after: number;
  /** Of `before`, still listed after the restart. */
  kept: number;
  /** Oldest entries the list cap pushed out because of newer writes: not a loss. */
  trimmed: number;
  lost: string[];
  ok: boolean;
};

/**
 * `before` and `after` are the list as LRANGE returns it (newest first). A
 * password missing after the restart is lost, unless the list is at its cap
 * and the missing ones are exactly the oldest (LTRIM made room for new writes).
 */
export function durabilityReport(before: string[], after: string[], listCap: number): DurabilityReport {
  const have = new Set(after);
  const missing = before.map((senha) => !have.has(senha));
  let trimmed = 0;
  if (after.length >= listCap) while (trimmed < missing.length && missing[missing.length - 1 - trimmed]) trimmed++;
  const lost = before.filter((_, i) => missing[i] && i < before.length - trimmed);
  const kept = before.length - lost.length - trimmed;
  return { before: before.length, after: after.length, kept, trimmed, lost, ok: before.length > 0 && kept > 0 && lost.length === 0 };
}

// ---- wording ----------------------------------------------------------------------

const pct = (x: number, digits = 3) => `${(x * 100).toFixed(digits)}%`;
const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x)} ms` : "n/a");
const int = (x: number) => x.toLocaleString("en-US");

/** The lines of one load phase, as printed and written to the report. */
export function availabilityLines(r: AvailabilityReport, objective: number = SLO.objective): string[] {
  return [
    `requests ${int(r.requests)}, failed ${int(r.failures)} (SLO errors ${int(r.sloErrors)}, 4xx ${int(r.clientErrors)}), error rate ${pct(r.errorRate)}, p95 ${ms(r.p95Ms)}`,
    `availability ${pct(r.availability)} (objective ${pct(objective, 1)}; ${int(Math.floor(r.allowedErrors))} errors allowed for this traffic)`,
    `error budget: burn rate ${r.burnRate.toFixed(2)}x over ${Math.round(r.durationSeconds)} s = ${pct(r.budgetSpent, 4)} of the ${SLO.windowDays}-day budget`,
  ];
}

export function durabilityLines(d: DurabilityReport, bound: string): string[] {
  return [
    `passwords listed before the Redis restart: ${int(d.before)}; still listed after: ${int(d.kept)}; lost: ${int(d.lost.length)}${d.trimmed ? `; pushed out by the list cap: ${int(d.trimmed)}` : ""}`,
    `bound: ${bound}`,
  ];
}

export type PhaseInput = { report: AvailabilityReport; podsKilled: number; minutes: number; users: number; every: string };

/** The SLO gate: availability held while app pods were killed under load. */
export function sloVerdict(phase: PhaseInput): Verdict {
  const { report, podsKilled } = phase;
  const evidence = [
    `app pods killed: ${podsKilled} (one ${phase.every} for ${phase.minutes} min, ${phase.users} Locust users)`,
    ...availabilityLines(report),
  ];
  if (report.requests === 0) {
    return { ok: false, summary: "no request reached the app during the chaos run", evidence, hint: "check that Locust can reach the senhas host (see the first failure in .artifacts/chaos/)" };
  }
  if (podsKilled === 0) {
    return {
      ok: false,
      summary: "the pod-kill experiment killed no pod, so nothing was proven",
      evidence,
      hint: "kubectl -n chaos-mesh describe schedule app-pod-kill; its selector must match the app pods' labels",
    };
  }
  const summary = `${pct(report.availability)} available while ${podsKilled} app pods were killed (objective ${pct(SLO.objective, 1)}), p95 ${ms(report.p95Ms)}`;
  return report.ok
    ? { ok: true, summary, evidence }
    : {
        ok: false,
        summary: `availability fell to ${pct(report.availability)} while app pods were killed: below ${pct(SLO.objective, 1)}`,
        evidence,
        hint: "see .artifacts/chaos/app-pod-kill_failures.csv; usual causes: no preStop/readiness delay, fewer than 3 ready replicas, no retry at the gateway",
      };
}

/** The durability gate: nothing written before the Redis restart is gone after it. */
export function durabilityVerdict(input: { durability: DurabilityReport; bound: string; availability: AvailabilityReport; recoverySeconds: number }): Verdict {
  const { durability } = input;
  const evidence = [
    ...durabilityLines(durability, input.bound),
    `Redis pod deleted once; Ready again after ${Math.round(input.recoverySeconds)} s`,
    ...availabilityLines(input.availability).map((line) => `during the Redis restart: ${line}`),
  ];
  if (durability.before === 0) {
    return { ok: false, summary: "no password was stored before the Redis restart, so durability was not tested", evidence, hint: "Locust's POST /api/gerar-senha must succeed before the experiment" };
  }
  if (durability.kept === 0 && durability.lost.length === 0) {
    return { ok: false, summary: "every password listed before the restart was pushed out by newer writes: inconclusive", evidence, hint: "run with fewer Locust users or a larger SENHAS_LIST_CAP" };
  }
  return durability.ok
    ? { ok: true, summary: `all ${durability.kept} passwords listed before the Redis restart are still listed after it`, evidence }
    : {
        ok: false,
        summary: `${durability.lost.length} of ${durability.before} passwords written before the Redis restart are gone`,
        evidence,
        hint: "kubectl -n giropops-senhas logs redis-0 --previous; check appendonly/appendfsync and that /data is the PVC",
      };
}
