// The one test command: type-check, then every *.test.mts file in its own
// process (so servers a suite starts never leak into another), then one plain
// summary line. uvu prints a summary per process only, so this adds them up.
//
//   npm test                     everything
//   npm test -- apps/giropops    only test files whose path contains a filter
import { spawn } from "node:child_process";
import { accessSync, constants, existsSync, readFileSync, readdirSync, statSync } from "node:fs";
import { delimiter, dirname, isAbsolute, join, relative, resolve } from "node:path";
import { availableParallelism } from "node:os";

const root = join(import.meta.dirname, "..");
const filters = process.argv.slice(2);
const SKIP_DIRS = new Set(["node_modules", ".git", ".artifacts", ".terraform"]);

type Outcome = { name: string; passed: number; failed: number; skipped: number; output: string; ms: number };

function findTests(dir: string, found: string[] = []): string[] {
  for (const entry of readdirSync(dir)) {
    if (SKIP_DIRS.has(entry)) continue;
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) findTests(path, found);
    else if (entry.endsWith(".test.mts")) found.push(relative(root, path));
  }
  return found.sort();
}

function run(name: string, command: string, args: string[]): Promise<{ code: number; output: string; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      cwd: root,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    child.on("close", (code, signal) =>
      resolve({ code: code ?? (signal ? 1 : 0), output, ms: Date.now() - started }),
    );
    child.on("error", (error) => resolve({ code: 1, output: `${name}: ${error.message}`, ms: Date.now() - started }));
  });
}

// uvu ends each process with "Total: N / Passed: N / Skipped: N". A file that
// crashed before printing it, or exited non-zero, counts as at least one failure.
function tally(name: string, code: number, output: string, ms: number): Outcome {
  const number = (label: string) => Number(output.match(new RegExp(`^\\s*${label}:\\s+(\\d+)`, "m"))?.[1] ?? NaN);
  const total = number("Total");
  const passed = number("Passed");
  const skipped = number("Skipped") || 0;
  if (Number.isNaN(total) || Number.isNaN(passed)) return { name, passed: 0, failed: 1, skipped: 0, output, ms };
  const failed = Math.max(total - passed, code === 0 ? 0 : 1);
  return { name, passed, failed, skipped, output, ms };
}

async function typecheck(): Promise<Outcome> {
  const { code, output, ms } = await run("typecheck", process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"]);
  return { name: "typecheck (tsc --noEmit)", passed: code === 0 ? 1 : 0, failed: code === 0 ? 0 : 1, skipped: 0, output, ms };
}

async function pool<T, R>(items: T[], size: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

function report(outcome: Outcome): void {
  const mark = outcome.failed ? "FAIL" : "ok  ";
  const counts = `${outcome.passed} passed${outcome.failed ? `, ${outcome.failed} failed` : ""}${outcome.skipped ? `, ${outcome.skipped} skipped` : ""}`;
  console.log(`${mark} ${outcome.name}  (${counts}, ${(outcome.ms / 1000).toFixed(1)}s)`);
  if (outcome.failed) console.log(outcome.output.replace(/^/gm, "     | "));
}

const files = findTests(root).filter((file) => filters.length === 0 || filters.some((f) => file.includes(f)));
if (files.length === 0) {
  console.log(`No test files match ${filters.join(" ") || "*.test.mts"}.`);
  console.log("0 passed, 1 failed");
  process.exit(1);
}

// System tools the selected tests run for real. Checked before anything runs,
// so a fresh machine gets one line per missing tool and its install command
// instead of bare ENOENTs. A test needs a tool when it, or a module it imports
// from this repository, contains the tool's marker.
const DENO_VERSION = /^DENO_VERSION=(\S+)/m.exec(readFileSync(join(root, ".ci/run"), "utf8"))?.[1] ?? "2";
const SYSTEM_TOOLS: { name: string; marker: RegExp; command: string; install: string }[] = [
  { name: "redis-server", marker: /REDIS_SERVER_BIN/, command: process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server", install: "sudo apt-get install -y redis-server (or set REDIS_SERVER_BIN)" },
  { name: "chromium", marker: /CHROMIUM_PATH/, command: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium", install: "sudo apt-get install -y chromium (or set CHROMIUM_PATH)" },
  { name: "locust", marker: /spawn(Sync)?\(\s*["']locust["']/, command: "locust", install: "sudo apt-get install -y python3-locust" },
  { name: "deno", marker: /\(\s*["']deno["']/, command: "deno", install: `npm install -g deno@${DENO_VERSION}` },
  { name: "kubectl", marker: /\(\s*["']kubectl["']/, command: "kubectl", install: "https://kubernetes.io/docs/tasks/tools/#kubectl (1.33 or newer)" },
  { name: "promtool", marker: /tool\(\s*["']promtool["']/, command: "promtool", install: "sudo apt-get install -y prometheus" },
  { name: "prometheus", marker: /["']prometheus["'],\s*["']prometheus-alertmanager["']/, command: "prometheus", install: "sudo apt-get install -y prometheus" },
  { name: "amtool", marker: /tool\(\s*["']amtool["']/, command: "amtool", install: "sudo apt-get install -y prometheus-alertmanager" },
  { name: "prometheus-alertmanager", marker: /daemon\(\s*["']prometheus-alertmanager["']/, command: "prometheus-alertmanager", install: "sudo apt-get install -y prometheus-alertmanager" },
  { name: "openssl", marker: /\(\s*["']openssl["']/, command: "openssl", install: "sudo apt-get install -y openssl" },
  { name: "ssh-keygen", marker: /\(\s*["']ssh-keygen["']/, command: "ssh-keygen", install: "sudo apt-get install -y openssh-client" },
];

/** The text of `file` and of every .mts module it imports from this repository, transitively. */
function sources(file: string, seen = new Set<string>()): string[] {
  const path = resolve(root, file);
  if (seen.has(path) || !existsSync(path)) return [];
  seen.add(path);
  const text = readFileSync(path, "utf8");
  const imports = [...text.matchAll(/(?:from\s+|import\s*\(\s*)["'](\.{1,2}\/[^"']+\.m?ts)["']/g)].map((m) => resolve(dirname(path), m[1]!));
  return [text, ...imports.flatMap((imported) => sources(imported, seen))];
}

function onPath(command: string): boolean {
  const candidates = isAbsolute(command) ? [command] : (process.env.PATH ?? "").split(delimiter).filter(Boolean).map((dir) => join(dir, command));
  return candidates.some((candidate) => {
    try {
      accessSync(candidate, constants.X_OK);
      return statSync(candidate).isFile();
    } catch {
      return false;
    }
  });
}

const texts = new Map(files.map((file) => [file, sources(file).join("\n")]));
const missing = SYSTEM_TOOLS.flatMap((tool) => {
  const users = files.filter((file) => tool.marker.test(texts.get(file)!));
  return users.length && !onPath(tool.command) ? [{ tool, users }] : [];
});
if (missing.length) {
  for (const { tool, users } of missing) {
    console.log(`missing ${tool.name}${isAbsolute(tool.command) ? ` (${tool.command})` : ""}, needed by ${users.length === 1 ? users[0] : `${users.length} test files (${users[0]}, …)`}: ${tool.install}`);
  }
  console.log("Nothing was run. .ci/run installs all of these on a fresh Debian/Ubuntu machine and then runs npm test.");
  process.exit(1);
}

const outcomes: Outcome[] = [];
if (filters.length === 0) {
  const checked = await typecheck();
  report(checked);
  outcomes.push(checked);
}
const concurrency = Math.max(1, Math.min(availableParallelism(), Number(process.env.TEST_CONCURRENCY) || 2));
await pool(files, concurrency, async (file) => {
  const { code, output, ms } = await run(file, process.execPath, [file]);
  const outcome = tally(file, code, output, ms);
  report(outcome);
  outcomes.push(outcome);
});

const sum = (key: "passed" | "failed" | "skipped") => outcomes.reduce((n, o) => n + o[key], 0);
const skipped = sum("skipped");
console.log("");
console.log(`${sum("passed")} passed, ${sum("failed")} failed${skipped ? `, ${skipped} skipped` : ""}`);
process.exitCode = sum("failed") > 0 || skipped > 0 ? 1 : 0;
