// npx zx scripts/verify.mts [--cluster kind] [--only CHECK] [--gitops-roundtrip] [--chaos]
// Proves a running platform works end to end: each check asks the real APIs,
// prints pass/fail with what they answered, and any failure makes the exit
// code non-zero. Run it after bootstrap; CI runs it on kind for every change.
import { existsSync, readFileSync } from "node:fs";
import { homedir } from "node:os";
import { resolve } from "node:path";
import { COMMON_FLAGS, EXIT, configFromFlags, defaultDeps, runCommand, type CommandSpec, type Deps } from "./lib/cli.mts";
import { clusterProvider } from "./lib/clusters/index.mts";
import { duration } from "./lib/config.mts";
import { UserError } from "./lib/errors.mts";
import { kubectl, type KubeTarget } from "./lib/kube.mts";
import { exit, scriptArguments } from "./lib/runtime.mts";
import { endpoints, listApplications } from "./lib/summary.mts";
import { exitCodeOf, runCheck, type CheckResult, type Clock, type HttpFetch, type KubeApi, type VerifyContext } from "./lib/verify/checks.mts";
import { createHttp, type HttpOptions } from "./lib/verify/http.mts";
import { CHECKS, selectChecks } from "./lib/verify/index.mts";
import { createKubeApi } from "./lib/verify/kube-api.mts";
import { localCaPath, usesLocalCa } from "./lib/tls.mts";
import { printResult, summaryLine } from "./lib/verify/report.mts";

export const VERIFY: CommandSpec = {
  name: "verify",
  summary: "Prove the running platform works end to end; exits non-zero when any check fails.",
  flags: {
    cluster: COMMON_FLAGS.cluster,
    name: COMMON_FLAGS.name,
    only: { type: "string", value: "CHECK[,CHECK]", description: `run only these checks: ${CHECKS.map((c) => c.name).join(", ")}` },
    "gitops-roundtrip": { type: "boolean", description: "also push a replica change to the repository Argo CD follows, wait for it, then push its revert" },
    chaos: { type: "boolean", description: "also run the chaos experiments: app pod kills under load (SLO 99.9%), then a Redis restart (no password lost)" },
    "ca-file": { type: "string", value: "PEM", description: "CA certificate to trust for https://*.<domain> (default on kind/minikube: ~/.giropops/<name>-ca.crt, written by bootstrap)" },
    "locust-time": { type: "string", value: "DURATION", description: "length of the headless Locust run (default 60s)" },
    "roundtrip-timeout": { type: "string", value: "DURATION", description: "how long Argo CD may take to apply each pushed commit (default 5m)" },
    "chaos-time": { type: "string", value: "DURATION", description: "with --chaos: how long app pods are killed under load (default 3m)" },
    help: COMMON_FLAGS.help,
  },
  examples: [
    "npx zx scripts/verify.mts",
    "npx zx scripts/verify.mts --cluster minikube --only app,prometheus",
    "npx zx scripts/verify.mts --cluster kind --gitops-roundtrip",
    "npx zx scripts/verify.mts --cluster kind --chaos --chaos-time 2m",
  ],
};

export type VerifyDeps = Deps & {
  kubeApi: (target: KubeTarget) => KubeApi;
  http: (options: HttpOptions) => HttpFetch;
  clock: Clock;
};

export function defaultVerifyDeps(): VerifyDeps {
  return {
    ...defaultDeps(),
    kubeApi: createKubeApi,
    http: createHttp,
    clock: { now: () => Date.now(), sleep: (ms) => new Promise((done) => setTimeout(done, ms)) },
  };
}

function seconds(flag: string, raw: unknown, fallback: number): number {
  if (typeof raw !== "string") return fallback;
  const parsed = duration(raw);
  if (typeof parsed === "number") return parsed;
  throw new UserError(`${flag} ${JSON.stringify(raw)} ${parsed.problem}`, { exitCode: EXIT.usage });
}

export async function verify(argv: string[], deps: VerifyDeps): Promise<number> {
  return runCommand(VERIFY, argv, deps, async ({ ui, runner, parsed }) => {
    const flags = parsed.values;
    const checks = selectChecks(CHECKS, {
      ...(typeof flags.only === "string" ? { only: flags.only } : {}),
      gitopsRoundtrip: flags["gitops-roundtrip"] === true,
      chaos: flags.chaos === true,
    });
    const locustSeconds = seconds("--locust-time", flags["locust-time"], 60);
    const roundtripTimeoutMs = seconds("--roundtrip-timeout", flags["roundtrip-timeout"], 300) * 1000;
    const chaosSeconds = seconds("--chaos-time", flags["chaos-time"], 180);
    let ca: string | undefined;
    if (typeof flags["ca-file"] === "string") {
      const path = resolve(flags["ca-file"]);
      try {
        ca = readFileSync(path, "utf8");
      } catch (error) {
        throw new UserError(`--ca-file ${path}: ${(error as NodeJS.ErrnoException).code ?? "unreadable"}`, { fix: "give the PEM file of the local CA", exitCode: EXIT.usage });
      }
    }
    const config = configFromFlags(VERIFY, parsed, deps);
    if (ca === undefined && usesLocalCa(config.cluster)) {
      const path = localCaPath(deps.home ?? homedir(), config);
      if (existsSync(path)) ca = readFileSync(path, "utf8");
      else ui.warn(`no local CA at ${path}: checks over https://*.${config.domain} will not trust the certificates (bootstrap writes it; or pass --ca-file)`);
    }
    const target = clusterProvider(config.cluster).target(config, deps.root);
    const kube = deps.kube(target);

    // Reachable and Argo CD installed, or one clear line (listApplications says which).
    await ui.step("Kubernetes API", async (step) => {
      const apps = await listApplications(kube);
      step.done(`${target.context} answers, ${apps.length} Argo CD Applications`);
    });

    const urls = new Map(endpoints(config, target).map((e) => [e.host, e.url]));
    const ctx: VerifyContext = {
      config,
      kube: deps.kubeApi(target),
      http: deps.http(ca ? { ca } : {}),
      runner,
      clock: deps.clock,
      repoRoot: deps.root,
      url: (name) => urls.get(name) ?? `https://${name}.${config.domain}`,
      kubectl: (...args) => kubectl(target, ...args),
      progress: () => {},
      options: { locustSeconds, roundtripTimeoutMs, chaosSeconds },
    };

    const results: CheckResult[] = [];
    for (const check of checks) {
      // The step's own mark (spinner, ✔/✖) follows the check's outcome.
      const found = await ui
        .step(`${check.name}: ${check.title}`, async (step) => {
          const answer = await runCheck(check, { ...ctx, progress: step.update });
          if (answer.some((r) => r.status === "fail")) throw new ChecksFailed(answer);
          return answer;
        })
        .catch((error: unknown) => {
          if (error instanceof ChecksFailed) return error.results;
          throw error;
        });
      for (const result of found) printResult(ui, result);
      results.push(...found);
    }

    ui.section("Summary");
    ui.line(summaryLine(results));
    return exitCodeOf(results);
  });
}

class ChecksFailed extends Error {
  readonly results: CheckResult[];
  constructor(results: CheckResult[]) {
    super("check failed");
    this.results = results;
  }
}

const args = scriptArguments(import.meta.url);
if (args) exit(await verify(args, defaultVerifyDeps()));
