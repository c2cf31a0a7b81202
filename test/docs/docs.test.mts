// The docs stay true: every relative link and anchor resolves, every command in
// a shell block or code span names a script, task or npm script that exists
// with flags its --help lists, and every sample output is what the code prints.
// UPDATE_SAMPLES=1 rewrites the samples from the code instead of comparing.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { anchors, codeSpans, fences, links, markdownFiles, read, ROOT } from "./markdown.mts";
import { SAMPLES } from "./samples.mts";

const files = markdownFiles();
const SHELL = new Set(["sh", "bash", "shell", "console"]);

test("the README keeps the two set-up commands in its first screen and stays short", () => {
  const readme = read("README.md");
  const firstScreen = readme.split("\n").slice(0, 80).join("\n");
  assert.ok(firstScreen.includes("npx zx scripts/bootstrap.mts --cluster kind"), "the main command");
  assert.ok(firstScreen.includes("npm ci && npm test"), "the test command");
  assert.ok(Buffer.byteLength(readme) <= 12 * 1024, `README.md is ${Buffer.byteLength(readme)} bytes`);
});

test("every page under docs/ is reachable from the README", () => {
  const reached = new Set<string>();
  const visit = (path: string) => {
    if (reached.has(path)) return;
    reached.add(path);
    for (const target of links(read(path))) {
      const file = target.split("#")[0]!;
      if (!file || /^[a-z]+:/.test(file)) continue;
      const resolved = normalize(join(dirname(path), file));
      if (resolved.startsWith("docs/") && resolved.endsWith(".md") && existsSync(join(ROOT, resolved))) visit(resolved);
    }
  };
  visit("README.md");
  const unreached = files.filter((path) => path.startsWith("docs/") && !reached.has(path));
  assert.equal(unreached, []);
});

test("every relative link and anchor resolves", () => {
  const broken: string[] = [];
  for (const path of files) {
    for (const target of links(read(path))) {
      if (/^[a-z]+:/.test(target)) continue; // https:, mailto:
      const [file, anchor] = target.split("#") as [string, string | undefined];
      const resolved = file ? normalize(join(dirname(path), decodeURIComponent(file))) : path;
      if (!existsSync(join(ROOT, resolved))) {
        broken.push(`${path}: ${target} (no such file)`);
        continue;
      }
      if (anchor && !(statSync(join(ROOT, resolved)).isFile() && anchors(read(resolved)).has(anchor))) broken.push(`${path}: ${target} (no such heading)`);
    }
  }
  assert.equal(broken, []);
});

// ---- commands ------------------------------------------------------------------

const packageScripts = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")).scripts as Record<string, string>;
const denoTasks = JSON.parse(readFileSync(join(ROOT, "deno.json"), "utf8")).tasks as Record<string, string>;
const helps = new Map<string, string>();
function help(script: string): string {
  if (!helps.has(script)) helps.set(script, execFileSync(process.execPath, [script, "--help"], { cwd: ROOT, encoding: "utf8" }));
  return helps.get(script)!;
}

/** Single commands of a shell text: split at &&, ||, ;, | and new lines, comments dropped. */
function commands(text: string): string[][] {
  return text
    .replace(/\\\n/g, " ")
    .split("\n")
    .map((line) => line.replace(/(^|\s)#.*$/, ""))
    .flatMap((line) => line.split(/&&|\|\||;|\|/))
    .map((part) => part.trim().replace(/^\$\s+/, "").split(/\s+/).filter(Boolean))
    .filter((words) => words.length > 0);
}

/** What a command line names and whether it exists; undefined for commands that are not ours. */
function problems(words: string[]): string[] {
  const flags = (rest: string[]) => rest.filter((word) => /^--[a-z]/.test(word)).map((word) => word.split("=")[0]!);
  const scriptProblems = (script: string, rest: string[]) => {
    if (!existsSync(join(ROOT, script))) return [`${script} does not exist`];
    if (!script.startsWith("scripts/") || /^scripts\/lib\//.test(script)) return [];
    const text = help(script);
    return flags(rest)
      .filter((flag) => !new RegExp(`(^|\\s)${flag}(\\s|$)`, "m").test(text))
      .map((flag) => `${script} has no ${flag} (not in its --help)`);
  };
  const [first, second, third] = words;
  if (first === "npx" && second === "zx" && third) return scriptProblems(third, words.slice(3));
  if (first === "deno" && second === "run") {
    const script = words.find((word) => word.endsWith(".mts"));
    return script ? scriptProblems(script, words.slice(words.indexOf(script) + 1)) : [];
  }
  if (first === "deno" && second === "task" && third) {
    const task = denoTasks[third];
    if (!task) return [`deno task ${third} is not in deno.json`];
    return scriptProblems(task.split(/\s+/).find((word) => word.endsWith(".mts"))!, words.slice(3));
  }
  if (first === "node" && second && /\.m?[jt]s$/.test(second)) return existsSync(join(ROOT, second)) ? scriptProblems(second, words.slice(2)) : [`${second} does not exist`];
  if (first === "npm" && second === "run") return third && packageScripts[third] ? [] : [`npm run ${third} is not in package.json`];
  if (first === "npm" && second === "test") return packageScripts.test ? [] : ["npm test is not in package.json"];
  if (first === "bash" && second?.startsWith(".ci/")) return existsSync(join(ROOT, second)) ? [] : [`${second} does not exist`];
  return [];
}

test("every command in a shell block or code span names a script, task or npm script that exists, with flags its --help lists", () => {
  const found: string[] = [];
  let checked = 0;
  for (const path of files) {
    const text = read(path);
    const shellTexts = [
      ...fences(text).filter((fence) => SHELL.has(fence.lang)).map((fence) => fence.body),
      ...codeSpans(text),
    ];
    for (const shell of shellTexts) {
      for (const words of commands(shell)) {
        const names = problems(words);
        if (/^(npx|deno|node|npm|bash)$/.test(words[0]!)) checked++;
        found.push(...names.map((problem) => `${path}: \`${words.join(" ")}\`: ${problem}`));
      }
    }
  }
  assert.ok(checked > 20, `only ${checked} commands were recognised: the extraction is broken`);
  assert.equal(found, []);
});

test("the command check catches a stale script, flag, task and npm script", () => {
  assert.equal(problems(["npx", "zx", "scripts/verify.mts", "--only", "app"]), []);
  assert.equal(problems(["npx", "zx", "scripts/verify.mts", "--no-such-flag"]), ["scripts/verify.mts has no --no-such-flag (not in its --help)"]);
  assert.equal(problems(["npx", "zx", "scripts/gone.mts"]), ["scripts/gone.mts does not exist"]);
  assert.equal(problems(["deno", "task", "nope"]), ["deno task nope is not in deno.json"]);
  assert.equal(problems(["npm", "run", "nope"]), ["npm run nope is not in package.json"]);
  assert.equal(commands("npm ci && npx zx scripts/a.mts --x  # comment\nnpm test | tee"), [["npm", "ci"], ["npx", "zx", "scripts/a.mts", "--x"], ["npm", "test"], ["tee"]]);
});

test("the link check sees GitHub's anchors", () => {
  const heads = anchors("# A page\n## In CI: `.github/workflows/e2e.yml`\n## Trusting the local CA (kind, minikube)\n## A page\n```\n# not a heading\n```\n");
  assert.equal([...heads], ["a-page", "in-ci-githubworkflowse2eyml", "trusting-the-local-ca-kind-minikube", "a-page-1"]);
});

// ---- samples -------------------------------------------------------------------

test("every sample output in the docs is what the code prints now", async () => {
  const stale: string[] = [];
  const used = new Set<string>();
  for (const path of files) {
    let text = read(path);
    for (const fence of fences(text)) {
      const name = /<!--\s*sample:\s*([\w-]+)\s*-->/.exec(fence.before)?.[1];
      if (!name) continue;
      used.add(name);
      const generate = SAMPLES[name];
      if (!generate) {
        stale.push(`${path}:${fence.line}: no generator for sample ${name}`);
        continue;
      }
      const fresh = await generate();
      if (fresh === fence.body) continue;
      if (process.env.UPDATE_SAMPLES === "1") {
        const lines = text.split("\n");
        const end = fence.line + fence.body.split("\n").length - (fence.body === "" ? 1 : 0);
        text = [...lines.slice(0, fence.line), fresh, ...lines.slice(end)].join("\n");
        writeFileSync(join(ROOT, path), text);
      } else stale.push(`${path}:${fence.line}: sample ${name} differs from what the code prints (UPDATE_SAMPLES=1 npm test -- test/docs rewrites it)`);
    }
  }
  assert.equal(stale, []);
  assert.equal([...used].sort(), Object.keys(SAMPLES).sort(), "every generator is shown somewhere");
});

test.run();
