// The one way scripts run an external command. Commands, sub-commands and
// verify checks all take a Runner, so tests swap in a recording one and
// --dry-run swaps in one that only prints what would change.
import { spawn } from "node:child_process";
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
};

export type RunResult = { code: number; stdout: string; stderr: string };

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

export function failure(command: string, args: readonly string[], result: RunResult, fix?: string): UserError {
  const reason = result.code === NOT_FOUND ? `${command} is not installed` : lastLine(result.stderr) || lastLine(result.stdout) || `exit code ${result.code}`;
  return new UserError(`\`${formatCommand(command, args)}\` failed: ${reason}`, { fix });
}

/** Runs commands for real with node:child_process. */
export function createRunner(): Runner {
  return {
    dryRun: false,
    run(command, args, options = {}) {
      return new Promise((resolve, reject) => {
        const child = spawn(command, args, {
          cwd: options.cwd,
          env: { ...environment(), ...options.env },
          stdio: ["pipe", "pipe", "pipe"],
        });
        let stdout = "";
        let stderr = "";
        child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
          stdout += chunk;
          options.echo?.(chunk);
        });
        child.stderr.setEncoding("utf8").on("data", (chunk: string) => {
          stderr += chunk;
          options.echo?.(chunk);
        });
        child.stdin.on("error", () => {}); // the command may exit before reading its input
        child.stdin.end(options.input ?? "");
        const finish = (result: RunResult) => {
          if (result.code !== 0 && options.check !== false) reject(failure(command, args, result, options.fix));
          else resolve(result);
        };
        child.on("error", (error: NodeJS.ErrnoException) =>
          finish({ code: error.code === "ENOENT" ? NOT_FOUND : 1, stdout, stderr: `${command}: ${error.code === "ENOENT" ? "command not found" : error.message}` }),
        );
        child.on("close", (code, signal) => finish({ code: code ?? (signal === "SIGINT" ? 130 : 1), stdout, stderr }));
      });
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
