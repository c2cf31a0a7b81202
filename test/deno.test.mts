// The same scripts run on Deno 2: same flags, same output, same exit codes.
// Each case runs the command under Node (as `npx zx` does) and under
// `deno run -A`, and compares what a person would see.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");
const COMMANDS = ["bootstrap", "diff", "status", "teardown", "verify"];

type Run = { code: number | null; stdout: string; stderr: string };

function run(command: string, args: string[]): Run {
  const result = spawnSync(command, args, {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", FORCE_COLOR: "0" },
    timeout: 60_000,
  });
  if (result.error) throw new Error(`${command} ${args.join(" ")}: ${result.error.message}`);
  return { code: result.status, stdout: result.stdout, stderr: result.stderr };
}

const onNode = (script: string, args: string[]) => run(process.execPath, [`scripts/${script}.mts`, ...args]);
const onDeno = (script: string, args: string[]) => run("deno", ["run", "-A", `scripts/${script}.mts`, ...args]);

// Step timings ("(0.2s)") are the only thing allowed to differ between runs,
// and the way to run a script, which each runtime names for itself.
const steady = (text: string) => text.replace(/\(\d+(\.\d+)?s\)/g, "(…s)").replaceAll("deno run -A scripts/", "npx zx scripts/");

test("deno is installed (.ci/run installs it from the npm package deno)", () => {
  const version = run("deno", ["--version"]);
  assert.is(version.code, 0, version.stderr);
  assert.match(version.stdout, /^deno 2\./);
});

test("deno check passes on scripts/ with deno.json's import map", () => {
  const checked = run("deno", ["check", "scripts/"]);
  assert.is(checked.code, 0, checked.stderr);
});

for (const script of COMMANDS) {
  test(`${script} --help: same text and exit code on Deno as on Node`, () => {
    const node = onNode(script, ["--help"]);
    const deno = onDeno(script, ["--help"]);
    assert.is(node.code, 0, node.stderr);
    assert.is(deno.code, node.code, deno.stderr);
    assert.match(deno.stdout, new RegExp(`Usage: deno run -A scripts/${script}\\.mts`), "Deno's help says how to run it on Deno");
    assert.not.match(deno.stdout, /npx zx/);
    assert.match(node.stdout, new RegExp(`Usage: npx zx scripts/${script}\\.mts`));
    assert.is(steady(deno.stdout), node.stdout);
  });
}

test("a bad flag fails the same way on Deno: one line, exit 2, no stack", () => {
  const node = onNode("bootstrap", ["--bogus"]);
  const deno = onDeno("bootstrap", ["--bogus"]);
  assert.is(node.code, 2);
  assert.is(deno.code, 2);
  assert.is(steady(deno.stderr.trim()), node.stderr.trim());
  assert.match(deno.stderr, /run "deno run -A scripts\/bootstrap\.mts --help" for the options/);
  assert.is(deno.stderr.trim().split("\n").length, 1);
  assert.not.match(deno.stderr, /\bat .+:\d+:\d+/);
});

test("bootstrap --dry-run --cluster kind prints the same plan on Deno and changes nothing", () => {
  const args = ["--dry-run", "--cluster", "kind", "--repo", "https://github.com/giropops/giropops-platform.git", "--revision", "main"];
  const before = run("git", ["status", "--porcelain"]).stdout;
  const node = onNode("bootstrap", args);
  const deno = onDeno("bootstrap", args);
  assert.is(node.code, 0, node.stderr);
  assert.is(deno.code, 0, deno.stderr);
  assert.match(deno.stdout, /Dry run: nothing was changed/);
  assert.is(steady(deno.stdout), steady(node.stdout));
  assert.is(run("git", ["status", "--porcelain"]).stdout, before);
});

test("diff renders and compares the same on Deno: a commit against itself, no differences, exit 0", () => {
  const args = ["--base", "HEAD", "--head", "HEAD", "--cluster", "kind", "--skip-charts"];
  const node = onNode("diff", args);
  const deno = onDeno("diff", args);
  assert.is(node.code, 0, node.stderr);
  assert.is(deno.code, 0, deno.stderr);
  assert.match(deno.stdout, /^kind: no differences$/m);
  assert.is(deno.stdout, node.stdout);
});

test("diff with a base that does not exist fails the same way on Deno: one line, exit 1", () => {
  const node = onNode("diff", ["--base", "no-such-ref-anywhere"]);
  const deno = onDeno("diff", ["--base", "no-such-ref-anywhere"]);
  assert.is(node.code, 1);
  assert.is(deno.code, 1);
  assert.is(deno.stderr.trim().split("\n").length, 1, deno.stderr);
  assert.is(deno.stderr, node.stderr);
});

test("the runner (zx's $) quotes, feeds stdin, reports exit codes and deadlines the same on Deno", () => {
  const node = run(process.execPath, ["test/fixtures/runner-probe.mts"]);
  const deno = run("deno", ["run", "-A", "test/fixtures/runner-probe.mts"]);
  assert.is(node.code, 0, node.stderr);
  assert.is(deno.code, 0, deno.stderr);
  const results = JSON.parse(node.stdout);
  assert.equal(results.quoting, { code: 0, stdout: "a b|it's|$HOME||", stderr: "" });
  assert.equal(results.input, { code: 0, stdout: "from stdin\n", stderr: "" });
  assert.equal(results.exitCode, { code: 3, stdout: "out\n", stderr: "err\n" });
  assert.is(results.missing, 127);
  assert.equal(results.failed, { error: "`sh -c 'echo '\\''no such cluster'\\'' >&2; exit 1'` failed: no such cluster" });
  assert.equal(results.deadline, { error: "`sleep 5` was still running after 400ms, so it was stopped" });
  assert.equal(JSON.parse(deno.stdout), results);
});

test.run();
