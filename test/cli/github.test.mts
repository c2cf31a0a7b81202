import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { generateSshKeyPair, keyMaterial, publicKeyOf } from "../../scripts/lib/sshkey.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";
import { startFakeGitHub, type FakeGitHub } from "../lib/fake-github.mts";
import { simulateArgoCd } from "../lib/fake-argocd.mts";
import { harness } from "../lib/cli-harness.mts";
import { healthyMachine, REMOTE_SHA } from "../lib/fake-runner.mts";

const TOKEN = "ghp_fake0123456789abcdefghijklmnop";
const PRIVATE = "https://github.com/acme/platform-private.git";
const ARGS = ["--cluster", "kind", "--repo", PRIVATE, "--revision", "main", "--timeout", "20s"];

let kube: FakeKube;
let github: FakeGitHub;
let argo: { stop(): void };
test.before.each(async () => {
  kube = await startFakeKube({ context: "kind-giropops" });
  github = await startFakeGitHub({
    token: TOKEN,
    repos: { "acme/platform-private": { private: true, refs: { main: REMOTE_SHA } }, "acme/platform-public": { private: false, refs: { main: REMOTE_SHA } } },
  });
  argo = simulateArgoCd(kube, [{ name: "gateway" }]);
});
test.after.each(async () => {
  argo.stop();
  await Promise.all([kube.close(), github.close()]);
});

const decode = (value: string) => Buffer.from(value, "base64").toString();

test("private repository: one read-only deploy key, its private half only in the Argo CD repository Secret", async () => {
  const machine = healthyMachine({ origin: PRIVATE });
  const h = harness({ kube, github, machine, env: { GITHUB_TOKEN: TOKEN } });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());

  const keys = github.keys.get("acme/platform-private") ?? [];
  assert.is(keys.length, 1);
  assert.is(keys[0]!.read_only, true);
  assert.match(keys[0]!.title, /giropops-platform Argo CD \(kind\/giropops\)/);

  const secret = kube.get("Secret", "repo-giropops-platform", "argocd")!;
  assert.is(secret.metadata.labels["argocd.argoproj.io/secret-type"], "repository");
  assert.is(decode(secret.data.type), "git");
  assert.is(decode(secret.data.url), "git@github.com:acme/platform-private.git");
  const privateKey = decode(secret.data.sshPrivateKey);
  assert.match(privateKey, /^-----BEGIN OPENSSH PRIVATE KEY-----\n/);
  assert.is(keyMaterial(publicKeyOf(privateKey)), keys[0]!.key, "GitHub holds the public half of the stored key");

  // Argo CD reads the repository over ssh with that key
  assert.is(kube.get("Application", "root", "argocd")!.spec.source.repoURL, "git@github.com:acme/platform-private.git");
  // the repository was checked through the API, not git ls-remote (which has no credentials)
  assert.not.ok(h.runner.calls.some((c) => c.startsWith("git ls-remote")));

  const out = h.output();
  assert.match(out, /private repository: read-only deploy key created on GitHub, stored in Secret argocd\/repo-giropops-platform/);
  for (const line of privateKey.split("\n").filter((l) => l.length > 20)) assert.not.ok(out.includes(line), "private key never printed");
  assert.not.ok(out.includes(TOKEN), "token never printed");
  for (const [namespace, name] of [["giropops-senhas", "redis-auth"], ["monitoring", "grafana-admin"]] as const) {
    for (const value of Object.values(kube.get("Secret", name, namespace)!.data as Record<string, string>)) {
      if (decode(value) !== "admin") assert.not.ok(out.includes(decode(value)), `${namespace}/${name} value never printed`);
    }
  }

  // re-run: the key is read back from the Secret and found on GitHub; nothing is added
  const before = kube.changes.length;
  const again = harness({ kube, github, machine, env: { GITHUB_TOKEN: TOKEN } });
  assert.is(await bootstrap(ARGS, again.deps), 0, again.output());
  assert.is(github.keys.get("acme/platform-private")!.length, 1);
  assert.is(decode(kube.get("Secret", "repo-giropops-platform", "argocd")!.data.sshPrivateKey), privateKey);
  assert.match(again.output(), /read-only deploy key reused on GitHub, kept in Secret/);
  assert.equal(kube.changes.slice(before), [], "no object changed on re-run");
});

test("the generated private key is a valid OpenSSH ed25519 key (ssh-keygen reads it)", () => {
  const pair = generateSshKeyPair("test");
  const dir = mkdtempSync(join(tmpdir(), "giropops-key-"));
  try {
    const file = join(dir, "id");
    writeFileSync(file, pair.privateKey, { mode: 0o600 });
    let derived: string;
    try {
      derived = execFileSync("ssh-keygen", ["-y", "-f", file], { encoding: "utf8" });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === "ENOENT") {
        // no ssh-keygen here: the format is still checked by parsing it back
        derived = publicKeyOf(pair.privateKey);
      } else throw error;
    }
    assert.is(keyMaterial(derived), keyMaterial(pair.publicKey));
    assert.match(pair.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAA[\w+/]+ test$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("public repository with a token: no deploy key, https URL", async () => {
  const repo = "https://github.com/acme/platform-public.git";
  const h = harness({ kube, github, env: { GITHUB_TOKEN: TOKEN } });
  assert.is(await bootstrap(["--cluster", "kind", "--repo", repo, "--revision", "main", "--timeout", "20s"], h.deps), 0, h.output());
  assert.is(github.keys.get("acme/platform-public"), undefined);
  assert.is(kube.get("Secret", "repo-giropops-platform", "argocd"), undefined);
  assert.is(kube.get("Application", "root", "argocd")!.spec.source.repoURL, repo);
});

test("a rejected token (401) and an invisible repository (404) are clear preflight errors", async () => {
  const bad = harness({ kube, github, env: { GITHUB_TOKEN: "ghp_wrongwrongwrongwrongwrong" } });
  assert.is(await bootstrap(ARGS, bad.deps), 1);
  assert.match(bad.output(), /GitHub rejected GITHUB_TOKEN while reading the repository \(401 Bad credentials\)/);
  assert.match(bad.output(), /fix: create a new token/);
  assert.not.ok(bad.output().includes("ghp_wrong"), "token not echoed");

  const missing = harness({ kube, github, env: { GITHUB_TOKEN: TOKEN } });
  assert.is(await bootstrap(["--cluster", "kind", "--repo", "https://github.com/acme/nope.git", "--revision", "main"], missing.deps), 1);
  assert.match(missing.output(), /GitHub answered 404 for acme\/nope while reading the repository: it does not exist or GITHUB_TOKEN cannot see it/);
  assert.match(missing.output(), /fix: check --repo \/ GIT_REPO_URL/);
  assert.is(kube.changes.length, 0, "nothing applied");
});

test("a revision GitHub does not know is reported with how to push it", async () => {
  const h = harness({ kube, github, env: { GITHUB_TOKEN: TOKEN } });
  assert.is(await bootstrap(["--cluster", "kind", "--repo", PRIVATE, "--revision", "feature-y"], h.deps), 1);
  assert.match(h.output(), /acme\/platform-private has no branch, tag or commit "feature-y"/);
});

test.run();
