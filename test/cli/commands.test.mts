// The commands as a person runs them: real `npx zx scripts/….mts` processes.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn, spawnSync } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";

const root = join(import.meta.dirname, "../..");

/** `npx zx script …` as documented; `node script …` (also supported) where the launcher is not the point. */
function zx(args: string[], env: Record<string, string> = {}, launcher: "zx" | "node" = "zx") {
  const [command, prefix] = launcher === "zx" ? ["npx", ["--no-install", "zx"]] : [process.execPath, []];
  const result = spawnSync(command, [...prefix, ...args], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1", CI: "1", ...env },
    timeout: 60_000,
  });
  // npm's own notices about the user's npmrc are not ours
  const stderr = result.stderr.split("\n").filter((line) => line && !/^npm (warn|notice)/.test(line));
  return { code: result.status, stdout: result.stdout, stderr };
}

for (const [command, flags] of [
  ["bootstrap", ["--cluster", "--name", "--repo", "--revision", "--dry-run", "--yes", "--timeout", "--help"]],
  ["status", ["--cluster", "--name", "--help"]],
  ["teardown", ["--cluster", "--name", "--yes", "--dry-run", "--help"]],
] as const) {
  test(`${command} --help lists every option and exits 0`, () => {
    const { code, stdout, stderr } = zx([`scripts/${command}.mts`, "--help"], {}, command === "bootstrap" ? "zx" : "node");
    assert.is(code, 0, stderr.join("\n"));
    assert.match(stdout, new RegExp(`Usage: npx zx scripts/${command}\\.mts \\[options\\]`));
    for (const flag of flags) assert.match(stdout, new RegExp(`^  ${flag}\\b`, "m"), flag);
    assert.match(stdout, /Examples:/);
    assert.equal(stderr, []);
  });

  test(`${command} with an unknown flag: one line, exit 2, no stack trace`, () => {
    const { code, stdout, stderr } = zx([`scripts/${command}.mts`, "--frobnicate"], {}, command === "bootstrap" ? "zx" : "node");
    assert.is(code, 2);
    assert.is(stdout, "");
    assert.is(stderr.length, 1, stderr.join("\n"));
    assert.is(stderr[0], `error: Unknown option '--frobnicate'; run "npx zx scripts/${command}.mts --help" for the options`);
  });
}

test("bootstrap --dry-run --cluster kind prints the plan, runs nothing that changes anything, exits 0 (no network)", () => {
  const dir = mkdtempSync(join(tmpdir(), "giropops-dry-"));
  try {
    // Shims record every docker/kind/kubectl call; kubectl then runs for real (kustomize).
    const log = join(dir, "calls.log");
    const realKubectl = spawnSync("sh", ["-c", "command -v kubectl"], { encoding: "utf8" }).stdout.trim();
    for (const tool of ["docker", "kind", "minikube", "tofu"]) {
      writeFileSync(join(dir, tool), `#!/bin/sh\necho "${tool} $*" >> "${log}"\nexit 1\n`);
      chmodSync(join(dir, tool), 0o755);
    }
    writeFileSync(join(dir, "kubectl"), `#!/bin/sh\necho "kubectl $*" >> "${log}"\nexec "${realKubectl}" "$@"\n`);
    chmodSync(join(dir, "kubectl"), 0o755);
    const kubeconfig = join(dir, "kubeconfig");
    const { code, stdout, stderr } = zx(
      ["scripts/bootstrap.mts", "--dry-run", "--cluster", "kind", "--repo", "https://github.com/giropops/giropops-platform.git", "--revision", "main"],
      { PATH: `${dir}${delimiter}${process.env.PATH}`, KUBECONFIG: kubeconfig, GIT_REPO_URL: "", GITHUB_TOKEN: "" },
    );
    assert.is(code, 0, stdout + stderr.join("\n"));
    // the plan: every step, command and manifest
    assert.match(stdout, /Plan for kind cluster giropops \(context kind-giropops\)/);
    assert.match(stdout, /would check: git ls-remote https:\/\/github\.com\/giropops\/giropops-platform\.git main/);
    assert.match(stdout, /would run: kind create cluster --name giropops --config clusters\/kind\/kind-config\.yaml --wait 120s/);
    assert.match(stdout, /would run: docker build -f apps\/giropops-senhas\/Dockerfile -t ghcr\.io\/giropops\/giropops-senhas:dev \./);
    assert.match(stdout, /would run: docker image save (--platform \S+ )?--output \S+app-image\.tar ghcr\.io\/giropops\/giropops-senhas:dev/);
    assert.match(stdout, /would run: kind load image-archive \S+app-image\.tar --name giropops/);
    assert.match(stdout, /would render gitops\/argocd/);
    assert.match(stdout, /gitops\/projects/);
    assert.match(stdout, /Secret giropops-senhas\/redis-auth/);
    assert.match(stdout, /kind: Application\n\s+metadata:\n\s+name: root/);
    assert.match(stdout, /path: clusters\/kind/);
    assert.match(stdout, /Dry run: nothing was changed\./);
    // nothing that changes anything ran, and no kubeconfig was written
    const calls = existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
    for (const call of calls) assert.match(call, /^(docker --version|docker info|docker version|kind version|kind get clusters|kubectl version --client|kubectl kustomize gitops\/(argocd|projects))/, call);
    assert.ok(calls.includes("kind get clusters"), "it looked for an existing cluster");
    assert.not.ok(existsSync(kubeconfig), "no kubeconfig written");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("status against a cluster that is not there: one message and a fix, no stack trace", () => {
  const dir = mkdtempSync(join(tmpdir(), "giropops-status-"));
  try {
    const kubeconfig = join(dir, "kubeconfig");
    writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [], users: [], contexts: [] }));
    const { code, stderr } = zx(["scripts/status.mts", "--cluster", "kind"], { KUBECONFIG: kubeconfig }, "node");
    assert.is(code, 1);
    assert.is(stderr[0], `error: kubeconfig ${kubeconfig} (from KUBECONFIG) has no context "kind-giropops"`);
    assert.match(stderr[1] ?? "", /^\s+fix: create the cluster with "npx zx scripts\/bootstrap\.mts --cluster kind"/);
    assert.not.ok(stderr.some((line) => /^\s+at /.test(line)), "no stack trace");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("SIGTERM (and Ctrl-C) stop a command waiting on a server that never answers: the interrupted message, exit 130", async () => {
  let asked: () => void = () => {};
  const silent = createServer(() => asked()); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", resolve));
  const dir = mkdtempSync(join(tmpdir(), "giropops-term-"));
  try {
    const kubeconfig = join(dir, "kubeconfig");
    const server = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    writeFileSync(kubeconfig, JSON.stringify({ apiVersion: "v1", kind: "Config", clusters: [{ name: "c", cluster: { server, "insecure-skip-tls-verify": true } }], users: [{ name: "u", user: { token: "t" } }], contexts: [{ name: "kind-giropops", context: { cluster: "c", user: "u" } }] }));
    for (const signal of ["SIGTERM", "SIGINT"] as const) {
      const child = spawn(process.execPath, ["scripts/status.mts"], { cwd: root, env: { ...process.env, KUBECONFIG: kubeconfig, NO_COLOR: "1", CI: "1" }, stdio: ["ignore", "pipe", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (chunk) => (stderr += chunk));
      // Signal once the command is waiting on the server (its handler is installed by then).
      new Promise<void>((resolve) => (asked = resolve)).then(() => child.kill(signal));
      const code = await new Promise<number | null>((resolve) => child.on("exit", (exitCode) => resolve(exitCode)));
      assert.is(code, 130, `${signal}: ${stderr}`);
      assert.match(stderr, /interrupted\. Every step is safe to repeat/, signal);
    }
  } finally {
    silent.closeAllConnections();
    silent.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test("--dry-run | head: the closed pipe ends the command quietly (exit 141, as SIGPIPE would), no EPIPE stack", () => {
  const dir = mkdtempSync(join(tmpdir(), "giropops-epipe-"));
  try {
    const err = join(dir, "stderr");
    // head exits after one line; bootstrap keeps printing its plan into the closed pipe.
    const script = `"$0" scripts/bootstrap.mts --dry-run --cluster kind --repo https://github.com/giropops/giropops-platform.git --revision main 2>"$1" | head -n 1; echo "$\{PIPESTATUS[0]}"`;
    const result = spawnSync("bash", ["-c", script, process.execPath, err], { cwd: root, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", CI: "1" }, timeout: 60_000 });
    const [first, code] = result.stdout.trimEnd().split("\n");
    assert.match(first ?? "", /^Plan for kind cluster giropops/);
    assert.is(code, "141", readFileSync(err, "utf8"));
    assert.is(readFileSync(err, "utf8"), "");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
