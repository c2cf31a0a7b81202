// The shape every verify check shares: a check is `(ctx) => Promise<CheckResult>`,
// ctx carries the injected clients (Kubernetes API, HTTP, command runner, clock),
// and the pure "judge" functions beside each check turn API answers into a result.
// scripts/lib/verify/chaos.mts (chaos helper) returns CheckResult[] with this type.
import type { Config } from "../config.mts";

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
  /** Runs a command in a container (the Exec API over a websocket). */
  exec(namespace: string, pod: string, container: string, command: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }>;
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

export type CommandResult = { stdout: string; stderr: string; exitCode: number };
/** Runs an external command (git) without a shell; never throws on a non-zero exit. */
export type RunCommand = (command: string, args: string[], options?: { cwd?: string }) => Promise<CommandResult>;

export type Clock = { now(): number; sleep(ms: number): Promise<void> };

export type VerifyContext = {
  config: Config;
  kube: KubeApi;
  http: HttpFetch;
  run: RunCommand;
  clock: Clock;
  /** Repository root: rendered PrometheusRules, the locustfile, git. */
  repoRoot: string;
  /** Progress lines while a slow check waits (spinner text). */
  progress: (text: string) => void;
};

export type Check = {
  name: string;
  /** What it proves, for --help and the runbook. */
  title: string;
  /** Opt-in checks run only with their flag (they change the cluster or the repository). */
  optIn?: "gitopsRoundtrip" | "chaos";
  run: (ctx: VerifyContext) => Promise<CheckResult>;
};

export function resultOf(name: string, verdict: Verdict): CheckResult {
  const result: CheckResult = { name, status: verdict.ok ? "pass" : "fail", summary: verdict.summary, evidence: verdict.evidence };
  if (!verdict.ok && verdict.hint) result.hint = verdict.hint;
  return result;
}

/** A check that threw is a failed check with the error as evidence, not a crash of the whole run. */
export async function runCheck(check: Check, ctx: VerifyContext): Promise<CheckResult> {
  try {
    return await check.run(ctx);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { name: check.name, status: "fail", summary: `${check.title}: could not be checked`, evidence: [message.split("\n")[0] ?? message] };
  }
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
