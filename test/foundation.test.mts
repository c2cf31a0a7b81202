import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { nodeVersionProblem, satisfies } from "../scripts/lib/node-version.mjs";

const root = join(import.meta.dirname, "..");

test("npx zx runs a TypeScript script directly, with no build step", () => {
  const result = spawnSync("npx", ["--no-install", "zx", "test/fixtures/typed-script.mts"], { cwd: root, encoding: "utf8" });
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /^typed MINIKUBE \d+\.\d+\.\d+/m);
});

test("package.json declares ESM, the Node range every installed package accepts, and the scripts the README names", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.is(pkg.type, "module");
  // .mts runs unflagged from Node 22.18 and 23.6; undici 8 (under @kubernetes/client-node) needs 22.19.
  assert.is(pkg.engines.node, "^22.19.0 || >=23.6.0");
  for (const script of ["test", "typecheck", "validate", "bench"]) assert.ok(pkg.scripts[script], `script ${script}`);
  // The lower end of each term must satisfy every ">=" the lockfile's packages declare.
  const lock = JSON.parse(readFileSync(join(root, "package-lock.json"), "utf8")) as { packages: Record<string, { engines?: { node?: string } }> };
  const minimums = pkg.engines.node.split("||").map((term: string) => term.replace(/[\^>=\s]/g, ""));
  for (const [name, entry] of Object.entries(lock.packages)) {
    const wanted = /^>=\s*v?(\d+(?:\.\d+){0,2})$/.exec(entry.engines?.node?.trim() ?? "")?.[1];
    if (!wanted || name.startsWith("apps/")) continue;
    for (const minimum of minimums) assert.ok(satisfies(minimum, `>=${wanted.split(".").concat(["0", "0"]).slice(0, 3).join(".")}`), `${name || "the root"} needs Node >=${wanted}, engines allows ${minimum}`);
  }
});

test("an older Node stops at once with the version needed: npm ci refuses it, npm test checks before any .mts", () => {
  assert.match(readFileSync(join(root, ".npmrc"), "utf8"), /^engine-strict=true$/m);
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.is(pkg.scripts.pretest, "node scripts/lib/node-version.mjs");
  assert.not.match(readFileSync(join(root, "scripts/lib/node-version.mjs"), "utf8"), /from\s+["'][^"']+\.mts["']|import\(/, "imports no .mts");
  for (const version of ["20.20.2", "22.18.0", "23.5.0"]) {
    assert.is(nodeVersionProblem(version), `giropops-platform needs Node ^22.19.0 || >=23.6.0 (this is v${version}): install Node 24 LTS (https://nodejs.org/en/download), or run .ci/run, which brings its own`);
  }
  for (const version of ["22.19.0", "22.22.1", "23.6.0", "24.21.0", "26.0.0"]) assert.is(nodeVersionProblem(version), undefined, version);
  const here = spawnSync(process.execPath, ["scripts/lib/node-version.mjs"], { cwd: root, encoding: "utf8" });
  assert.is(here.status, 0, here.stderr);
  assert.is(here.stderr, "");
});

test("npm test on a machine without a system tool: one line per missing tool with its install command, nothing run", () => {
  // A PATH with node and git but no deno; redis-server and chromium pointed at nothing.
  const bin = mkdtempSync(join(tmpdir(), "giropops-path-"));
  try {
    symlinkSync(process.execPath, join(bin, "node"));
    const result = spawnSync(process.execPath, ["test/run.mts", "test/deno.test"], {
      cwd: root,
      encoding: "utf8",
      env: { ...process.env, PATH: bin, REDIS_SERVER_BIN: join(bin, "no-redis"), CHROMIUM_PATH: join(bin, "no-chromium") },
      timeout: 30_000,
    });
    assert.is(result.status, 1, result.stdout + result.stderr);
    const version = /^DENO_VERSION=(\S+)/m.exec(readFileSync(join(root, ".ci/run"), "utf8"))![1];
    assert.is(result.stdout.split("\n")[0], `missing deno, needed by test/deno.test.mts: npm install -g deno@${version}`);
    assert.match(result.stdout, /Nothing was run\. \.ci\/run installs all of these/);
    assert.not.match(result.stdout, /redis-server|chromium|passed/, "only what the selected tests need");
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test("the alerting tests name Debian's Prometheus and Alertmanager packages when their engines are missing", () => {
  const bin = mkdtempSync(join(tmpdir(), "giropops-path-"));
  try {
    symlinkSync(process.execPath, join(bin, "node"));
    const result = spawnSync(process.execPath, ["test/run.mts", "test/monitoring/alert"], { cwd: root, encoding: "utf8", env: { ...process.env, PATH: bin }, timeout: 30_000 });
    assert.is(result.status, 1, result.stdout + result.stderr);
    const lines = result.stdout.split("\n").filter((l) => l.startsWith("missing "));
    for (const [tool, pkg] of [["promtool", "prometheus"], ["prometheus", "prometheus"], ["amtool", "prometheus-alertmanager"], ["prometheus-alertmanager", "prometheus-alertmanager"]]) {
      assert.ok(lines.some((l) => l.startsWith(`missing ${tool},`) && l.endsWith(`sudo apt-get install -y ${pkg}`)), `${tool}:\n${result.stdout}`);
    }
    assert.not.match(result.stdout, /passed/);
  } finally {
    rmSync(bin, { recursive: true, force: true });
  }
});

test("every dependency is pinned to an exact version", () => {
  for (const file of ["package.json", "apps/giropops-senhas/package.json"]) {
    const pkg = JSON.parse(readFileSync(join(root, file), "utf8"));
    for (const [name, version] of Object.entries({ ...pkg.dependencies, ...pkg.devDependencies })) {
      assert.match(String(version), /^\d+\.\d+\.\d+(-[\w.]+)?$/, `${file}: ${name}@${version} is not exact`);
    }
  }
});

test.run();
