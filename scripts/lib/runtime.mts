// Everything that depends on the JavaScript runtime lives here, so the rest of
// scripts/ stays portable between Node 24 (`npx zx scripts/x.mts`) and Deno 2
// (`deno run -A scripts/x.mts`). Both provide the `process` global and the
// node: built-ins used below; nothing else in scripts/ touches `process`.
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root (scripts/lib/.. /..). */
export const REPO_ROOT = fileURLToPath(new URL("../..", import.meta.url));

/** The process environment, read once. */
export function environment(): Record<string, string | undefined> {
  return process.env;
}

/**
 * The command-line arguments meant for the script at `moduleUrl`, or undefined
 * when that module was imported rather than run. `npx zx x.mts` puts zx's own
 * path before the script, `node x.mts` and `deno run x.mts` do not, so look for
 * the script itself in the first few entries.
 */
export function scriptArguments(moduleUrl: string): string[] | undefined {
  const self = fileURLToPath(moduleUrl);
  const argv = process.argv;
  for (let i = 1; i < Math.min(argv.length, 4); i++) {
    const arg = argv[i];
    if (arg !== undefined && resolve(arg) === self) return argv.slice(i + 1);
  }
  return undefined;
}

export type Streams = {
  out: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  err: NodeJS.WritableStream & { isTTY?: boolean };
  input: NodeJS.ReadableStream & { isTTY?: boolean };
};

let pipesWatched = false;

/**
 * stdout, stderr and stdin. When the reader of stdout or stderr goes away
 * (`bootstrap --dry-run | head`), the next write fails with EPIPE: stop
 * quietly, as a Unix tool killed by SIGPIPE does (exit 141), not with a stack trace.
 */
export function standardStreams(): Streams {
  if (!pipesWatched) {
    pipesWatched = true;
    for (const stream of [process.stdout, process.stderr]) {
      stream.on("error", (error: NodeJS.ErrnoException) => {
        if (error.code === "EPIPE") process.exit(141);
        throw error;
      });
    }
  }
  return { out: process.stdout, err: process.stderr, input: process.stdin };
}

/** How a person runs scripts/<name>.mts on this runtime: `npx zx …` on Node, `deno run -A …` on Deno. */
export function runWith(): string {
  return (process.versions as Record<string, string | undefined>).deno ? "deno run -A" : "npx zx";
}

/** Runs `handler` on Ctrl-C (SIGINT) and on SIGTERM; returns a function that removes it. */
export function onInterrupt(handler: () => void): () => void {
  process.on("SIGINT", handler);
  process.on("SIGTERM", handler);
  return () => {
    process.off("SIGINT", handler);
    process.off("SIGTERM", handler);
  };
}

/** Runs `handler` when the process exits (clean-up of temporary directories). */
export function onExit(handler: () => void): void {
  process.on("exit", handler);
}

export function exit(code: number): never {
  process.exit(code);
}
