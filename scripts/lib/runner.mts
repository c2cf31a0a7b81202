// The one way scripts run an external command. Commands, sub-commands and
// verify checks all take a Runner, so tests swap in a recording one and
// --dry-run swaps in one that only prints what would change. The real one is
// zx's `$`: it quotes the arguments, feeds stdin, captures output and kills
// the whole process tree when a deadline passes.
import { $, type ProcessPromise } from "zx";
import { UserError } from "./errors.mts";
import { environment } from "./runtime.mts";

export type RunOptions = {
  /** Text written to the command's stdin (never logged). */
  input?: string;
  cwd?: string;
  env?: Record<string, string>;
  /** Only reads state, so it also runs under --dry-run. Default: it changes something. */
  readOnly?: boolean;
  /** Throw a UserError on a non-zero exit (default true). */
  check?: boolean;
  /** The fix printed when a checked command fails. */
  fix?: string;
  /** Receives output as it arrives (long commands a person wants to watch). */
  echo?: (chunk: string) => void;
  /** Stop the command after this long. Default: DEADLINE_MS by readOnly. */
  timeoutMs?: number;
};

export type RunResult = {
  code: number;
  stdout: string;
  stderr: string;
  /** Set when the command was stopped because it outlived its deadline. */
  stoppedAfterMs?: number;
};

/**
 * Every command has a deadline, so a prompt nobody sees or a dead network
 * never hangs a run silently. Reads answer in seconds; changes include
 * `kind create cluster` and `tofu apply` of an OKE cluster (15-25 minutes).
 */
export const DEADLINE_MS = { read: 5 * 60_000, change: 60 * 60_000 } as const;

export type Runner = {
  run(command: string, args: string[], options?: RunOptions): Promise<RunResult>;
  /** True when commands that change something are printed instead of run. */
  readonly dryRun: boolean;
};

/** The exit code of a command that is not installed, as a shell reports it. */
export const NOT_FOUND = 127;

/** A command line as a person would type it (for logs, plans and messages). */
export function formatCommand(command: string, args: readonly string[]): string {
  const quote = (word: string) => (/^[\w@%+=:,./{}-]+$/.test(word) ? word : `'${word.replaceAll("'", `'\\''`)}'`);
  return [command, ...args].map(quote).join(" ");
}

/** The last meaningful line a failed command printed: usually the reason. */
export function lastLine(text: string): string {
  const lines = text.split("\n").map((line) => line.trim()).filter(Boolean);
  return lines.at(-1) ?? "";
}

/** A duration as a person reads it: 900ms, 45s, 5 min. */
export function spoken(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  if (ms < 60_000) return `${Math.round(ms / 1000)}s`;
  return `${Math.round(ms / 60_000)} min`;
}

export function failure(command: string, args: readonly string[], result: RunResult, fix?: string): UserError {
  if (result.stoppedAfterMs !== undefined) {
    return new UserError(`\`${formatCommand(command, args)}\` was still running after ${spoken(result.stoppedAfterMs)}, so it was stopped`, {
      fix: fix ?? "find out what it waits for (network, a lock, a prompt), then re-run: every step resumes",
    });
  }
  const reason = result.code === NOT_FOUND ? `${command} is not installed` : lastLine(result.stderr) || lastLine(result.stdout) || `exit code ${result.code}`;
  return new UserError(`\`${formatCommand(command, args)}\` failed: ${reason}`, { fix });
}

/**
 * Runs commands for real through zx's `$`. zx runs them with bash, so a
 * command that is not installed exits 127 with bash's "command not found",
 * the same code preflight reads as "not installed".
 */
export function createRunner(deadlines: { read: number; change: number } = DEADLINE_MS): Runner {
  return {
    dryRun: false,
    async run(command, args, options = {}) {
      const $$ = $({
        cwd: options.cwd,
        env: { ...environment(), ...options.env },
        input: options.input ?? "",
        nothrow: true,
        quiet: true,
        verbose: false,
      });
      const child: ProcessPromise = $$`${command} ${args}`;
      if (options.echo) {
        const echo = options.echo;
        child.stdout.on("data", (chunk: Buffer) => echo(chunk.toString("utf8")));
        child.stderr.on("data", (chunk: Buffer) => echo(chunk.toString("utf8")));
      }
      // Our own timer rather than zx's `timeout`: zx reports a timeout only as
      // a signal, and the message must say the deadline stopped the command.
      const deadline = options.timeoutMs ?? (options.readOnly ? deadlines.read : deadlines.change);
      let stopped = false;
      const timer = setTimeout(() => {
        stopped = true;
        void child.kill(); // zx kills the whole process tree, not only bash
      }, deadline);
      const output = await child.finally(() => clearTimeout(timer));
      const result: RunResult = {
        code: output.exitCode ?? (output.signal === "SIGINT" ? 130 : 1),
        stdout: output.stdout,
        stderr: output.stderr,
        ...(stopped ? { stoppedAfterMs: deadline } : {}),
      };
      if ((result.code !== 0 || stopped) && options.check !== false) throw failure(command, args, result, options.fix);
      return result;
    },
  };
}

/**
 * --dry-run: commands that only read still run (so the plan reflects this
 * machine), everything else is reported to `print` and treated as done.
 */
export function dryRunner(inner: Runner, print: (commandLine: string) => void): Runner {
  return {
    dryRun: true,
    async run(command, args, options = {}) {
      if (options.readOnly) return inner.run(command, args, options);
      print(formatCommand(command, args));
      return { code: 0, stdout: "", stderr: "" };
    },
  };
}
