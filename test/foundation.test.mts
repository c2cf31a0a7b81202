import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

const root = join(import.meta.dirname, "..");

test("npx zx runs a TypeScript script directly, with no build step", () => {
  const result = spawnSync("npx", ["--no-install", "zx", "test/fixtures/typed-script.mts"], { cwd: root, encoding: "utf8" });
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /^typed MINIKUBE \d+\.\d+\.\d+/m);
});

test("package.json declares ESM, Node >= 22.18 and the scripts the README names", () => {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
  assert.is(pkg.type, "module");
  assert.is(pkg.engines.node, ">=22.18");
  for (const script of ["test", "typecheck", "validate", "bench"]) assert.ok(pkg.scripts[script], `script ${script}`);
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
