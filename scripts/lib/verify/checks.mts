// The shape every verify check shares: a check is `(ctx) => Promise<CheckResult>`,
// ctx carries the injected clients (Kubernetes API, HTTP, command runner, clock),
// and the pure "judge" functions beside each check turn API answers into a result.
// scripts/lib/verify/chaos.mts returns several CheckResults with this type.
import type { Config } from "../config.mts";
import type { Runner } from "../runner.mts";

/** Where the app and Redis run (apps/giropops-senhas/deploy sets it). */
export const APP_NAMESPACE = "giropops-senhas";

export type CheckStatus = "pass" | "fail" | "skip";

export type CheckResult = {
  /** Stable id, also the value of `--only` (e.g. "argocd", "app", "prometheus"). */
  name: string;
  status: CheckStatus;
  /** One line: what was proven, or what is wrong. */
  summary: string;
  /** What the APIs answered, one fact a line. Never a secret. */
  evidence: string[];
  /** On failure: what it usually means and the command to dig in. */
  hint?: string;
};

/** What a judge decides from API answers; the check adds its name. */
export type Verdict = { ok: boolean; summary: string; evidence: string[]; hint?: string };

export type KubeMethod = "GET" | "POST" | "PUT" | "PATCH" | "DELETE";

export type KubeResponse = {
  status: number;
  /** Parsed JSON when the answer was JSON, else the text. */
  body: unknown;
  text: string;
};

/**
 * Raw access to the Kubernetes API of the chosen context. Raw, because the
 * checks read answers the typed clients hide: a dry-run's Status, a service
 * proxy's body, a custom resource list.
 */
export interface KubeApi {
  /** Server URL of the context, for messages. */
  readonly server: string;
  request(
    method: KubeMethod,
    path: string,
    options?: { query?: Record<string, string>; body?: unknown; contentType?: string; timeoutMs?: number },
  ): Promise<KubeResponse>;
  /** Runs a command in a container (the Exec API over a websocket); tty allocates a terminal. */
  exec(
    namespace: string,
    pod: string,
    container: string,
    command: string[],
    options?: { tty?: boolean; timeoutMs?: number },
  ): Promise<{ stdout: string; stderr: string; exitCode: number }>;
}

export type HttpResponse = { status: number; headers: Record<string, string>; text: string };

/**
 * An HTTP client for the platform's hostnames. `*.localhost` always goes to
 * 127.0.0.1 (the gateway's host ports on kind and minikube) with the real Host
 * header and TLS server name.
 */
export type HttpFetch = (
  url: string,
  init?: { method?: string; headers?: Record<string, string>; body?: string; timeoutMs?: number },
) => Promise<HttpResponse>;

export type Clock = { now(): number; sleep(ms: number): Promise<void> };

export type VerifyOptions = {
  /** Length of the headless Locust run, in seconds. */
  locustSeconds: number;
  /** How long Argo CD may take to apply a pushed commit. */
  roundtripTimeoutMs: number;
  /** Length of the chaos pod-kill phase, in seconds (--chaos-time). */
  chaosSeconds?: number;
};

export type VerifyContext = {
  config: Config;
  kube: KubeApi;
  http: HttpFetch;
  /** External commands (git, kubectl kustomize): scripts/lib/runner.mts. */
  runner: Runner;
  clock: Clock;
  /** Repository root: rendered PrometheusRules, the locustfile, git. */
  repoRoot: string;
  /** Base URL of a platform hostname: url("senhas") = "https://senhas.localhost". */
  url: (name: string) => string;
  /** A kubectl command line against the same context, for hints. */
  kubectl: (...args: string[]) => string;
  /** Progress lines while a slow check waits (spinner text). */
  progress: (text: string) => void;
  options: VerifyOptions;
};

export type Check = {
  name: string;
  /** What it proves, for --help and the runbook. */
  title: string;
  /** Opt-in checks run only with their flag (they change the cluster or the repository). */
  optIn?: "gitopsRoundtrip" | "chaos";
  /** Where to dig in when the check cannot even run (the runbook line). */
  hint?: string;
  /** One result; a group of checks (chaos) may return several. */
  run: (ctx: VerifyContext) => Promise<CheckResult | CheckResult[]>;
};

export function resultOf(name: string, verdict: Verdict): CheckResult {
  const result: CheckResult = { name, status: verdict.ok ? "pass" : "fail", summary: verdict.summary, evidence: verdict.evidence };
  if (!verdict.ok && verdict.hint) result.hint = verdict.hint;
  return result;
}

/**
 * Runs one check. One that threw is a failed check with the error as evidence,
 * not a crash of the whole run. Hints are written with a bare `kubectl`; here
 * they get the context (and kubeconfig) verify used.
 */
export async function runCheck(check: Check, ctx: VerifyContext): Promise<CheckResult[]> {
  let results: CheckResult[];
  try {
    const answer = await check.run(ctx);
    results = Array.isArray(answer) ? answer : [answer];
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const result: CheckResult = { name: check.name, status: "fail", summary: `could not be checked: ${message.split("\n")[0] ?? message}`, evidence: [] };
    if (check.hint) result.hint = check.hint;
    results = [result];
  }
  for (const result of results) if (result.hint) result.hint = result.hint.replace(/\bkubectl /g, `${ctx.kubectl()} `);
  return results;
}

export type Totals = { passed: number; failed: number; skipped: number };

export function totals(results: CheckResult[]): Totals {
  const count = (status: CheckStatus) => results.filter((r) => r.status === status).length;
  return { passed: count("pass"), failed: count("fail"), skipped: count("skip") };
}

/** 0 only when nothing failed and at least one check passed. */
export function exitCodeOf(results: CheckResult[]): number {
  const t = totals(results);
  return t.failed === 0 && t.passed > 0 ? 0 : 1;
}

/** The `message` of a Kubernetes Status (or any JSON error body), else "". */
export function statusMessage(body: unknown): string {
  if (body && typeof body === "object" && typeof (body as { message?: unknown }).message === "string") return (body as { message: string }).message;
  return typeof body === "string" ? body.trim().split("\n")[0] ?? "" : "";
}

/** GET a JSON answer; anything but 2xx throws with the API's own message. */
export async function getJson<T = any>(kube: KubeApi, path: string, query?: Record<string, string>): Promise<T> {
  const response = await kube.request("GET", path, query ? { query } : {});
  if (response.status < 200 || response.status >= 300) {
    const message = statusMessage(response.body);
    throw new Error(`GET ${path} answered HTTP ${response.status}${message ? `: ${message}` : ""}`);
  }
  return response.body as T;
}

/** Path of a Service proxy: the API server forwards to the Service (no port-forward needed). */
export function serviceProxy(namespace: string, service: string, port: string, path: string): string {
  return `/api/v1/namespaces/${namespace}/services/${service}:${port}/proxy${path}`;
}

export function plural(n: number, word: string, many = `${word}s`): string {
  return `${n} ${n === 1 ? word : many}`;
}
