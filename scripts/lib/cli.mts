// Flags, help text and the top level every command shares: parse, turn user
// errors into one short message and an exit code, and make Ctrl-C say which
// step stopped and that re-running resumes.
import { parseArgs } from "node:util";
import { join } from "node:path";
import { loadConfig, type Config } from "./config.mts";
import { UserError, describeUserError, isUserError } from "./errors.mts";
import { createRunner, dryRunner, type Runner } from "./runner.mts";
import { createUi, type Ui } from "./ui.mts";
import { REPO_ROOT, environment, exit, onInterrupt, runWith, standardStreams, type Streams } from "./runtime.mts";
import { createKube, type KubeFactory } from "./kube.mts";
import { createGitHub, type GitHubFactory } from "./github.mts";

export type Flag = {
  type: "string" | "boolean";
  description: string;
  /** Placeholder shown in help, e.g. "kind|minikube|oke". */
  value?: string;
  /** The config setting this flag overrides. */
  setting?: keyof Config;
};

export type CommandSpec = {
  name: string;
  summary: string;
  flags: Record<string, Flag>;
  examples: string[];
};

export const EXIT = { ok: 0, failed: 1, usage: 2, interrupted: 130 } as const;

/** Flags every command shares; each command picks the ones it takes. */
export const COMMON_FLAGS = {
  cluster: { type: "string", value: "kind|minikube|oke", description: "where the platform runs (CLUSTER, default kind)", setting: "cluster" },
  name: { type: "string", value: "NAME", description: "kind cluster, minikube profile or OKE cluster name (CLUSTER_NAME, default giropops)", setting: "clusterName" },
  yes: { type: "boolean", description: "answer yes to every confirmation (needed without a terminal)" },
  help: { type: "boolean", description: "show this help and exit" },
} satisfies Record<string, Flag>;

export function helpText(spec: CommandSpec): string {
  const rows = Object.entries(spec.flags).map(([name, flag]) => [`--${name}${flag.value ? ` ${flag.value}` : ""}`, flag.description] as const);
  const width = Math.max(...rows.map(([left]) => left.length));
  return [
    `${spec.summary}`,
    "",
    `Usage: ${runWith()} scripts/${spec.name}.mts [options]`,
    "",
    "Options:",
    ...rows.map(([left, right]) => `  ${left.padEnd(width)}  ${right}`),
    "",
    "Settings come from flags, then the environment, then .env, then defaults (see .env.example).",
    "",
    "Examples:",
    ...spec.examples.map((example) => `  ${example.replace(/^npx zx /, `${runWith()} `)}`),
  ].join("\n");
}

export type ParsedFlags = { values: Record<string, string | boolean | undefined> };

export function parseFlags(spec: CommandSpec, argv: string[]): ParsedFlags {
  const options = Object.fromEntries(Object.entries(spec.flags).map(([name, flag]) => [name, { type: flag.type }]));
  const usage = `run "${runWith()} scripts/${spec.name}.mts --help" for the options`;
  try {
    const { values, positionals } = parseArgs({ args: argv, options, strict: true, allowPositionals: true });
    if (positionals.length > 0) throw new UserError(`unexpected argument "${positionals[0]}"; ${usage}`, { exitCode: EXIT.usage });
    return { values: { ...values } as ParsedFlags["values"] };
  } catch (error) {
    if (isUserError(error)) throw error;
    // node:util names the problem well ("Unknown option '--x'"); keep it to one line.
    const message = error instanceof Error ? error.message.split("\n")[0]!.replace(/\. To specify a positional.*$/, "") : String(error);
    throw new UserError(`${message}; ${usage}`, { exitCode: EXIT.usage });
  }
}

/** Config from .env, the environment and the flags that name a setting; `unused` settings are not required. */
export function configFromFlags(
  spec: CommandSpec,
  parsed: ParsedFlags,
  deps: Pick<Deps, "env" | "envFile">,
  unused: readonly (keyof Config)[] = [],
): Config {
  const flags: NonNullable<Parameters<typeof loadConfig>[0]>["flags"] = {};
  for (const [name, flag] of Object.entries(spec.flags)) {
    const value = parsed.values[name];
    if (flag.setting && typeof value === "string") flags[flag.setting] = { flag: `--${name}`, value };
  }
  return loadConfig({ envFile: deps.envFile, env: deps.env, flags, unused });
}

/** Everything a command touches outside itself; tests replace any of it. */
export type Deps = {
  streams: Pick<Streams, "out" | "err" | "input">;
  env: Record<string, string | undefined>;
  envFile: string;
  /** Repository root: where clusters/, gitops/ and apps/ are. */
  root: string;
  runner: Runner;
  kube: KubeFactory;
  github: GitHubFactory;
  /** Whether to draw spinners (default: stdout is a terminal). */
  interactive?: boolean;
  /** Host ports checked free before creating a cluster (default: from the cluster config). */
  hostPorts?: number[];
  /** How often watches re-list, and how long an app may stay Degraded before we give up. */
  pollMs?: number;
  degradedGraceMs?: number;
  onInterrupt: (handler: () => void) => () => void;
  exit: (code: number) => void;
  /** Where ~/.giropops lives (the local CA file); default: the user's home. */
  home?: string;
};

export function defaultDeps(): Deps {
  return {
    streams: standardStreams(),
    env: environment(),
    envFile: join(REPO_ROOT, ".env"),
    root: REPO_ROOT,
    runner: createRunner(),
    kube: createKube,
    github: createGitHub,
    onInterrupt,
    exit,
  };
}

export type CommandContext = { ui: Ui; runner: Runner; parsed: ParsedFlags; deps: Deps };

/**
 * The top level of a command: help, flags, user errors as one short block,
 * Ctrl-C as "interrupted during <step>, re-run to resume" with exit 130.
 * Returns the exit code.
 */
export async function runCommand(spec: CommandSpec, argv: string[], deps: Deps, body: (context: CommandContext) => Promise<number>): Promise<number> {
  const ui = createUi({ streams: deps.streams, interactive: deps.interactive, env: deps.env });
  const removeInterrupt = deps.onInterrupt(() => {
    ui.stop();
    const where = ui.currentStep ? ` during "${ui.currentStep}"` : "";
    ui.error(`interrupted${where}. Every step is safe to repeat: run the same command again to resume.`);
    deps.exit(EXIT.interrupted);
  });
  try {
    const parsed = parseFlags(spec, argv);
    if (parsed.values.help) {
      deps.streams.out.write(`${helpText(spec)}\n`);
      return EXIT.ok;
    }
    const runner = parsed.values["dry-run"] ? dryRunner(deps.runner, (line) => ui.info(`${ui.color.dim("would run:")} ${line}`)) : deps.runner;
    return await body({ ui, runner, parsed, deps });
  } catch (error) {
    ui.stop();
    if (isUserError(error)) {
      ui.error(describeUserError(error));
      return error.exitCode;
    }
    throw error;
  } finally {
    removeInterrupt();
  }
}
