import { test } from "uvu";
import * as assert from "uvu/assert";
import { createServer, type Server } from "node:net";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { UserError } from "../../scripts/lib/errors.mts";
import { OKE_DOMAIN_FILE, checkOkeDomain, compareVersions, okeManifestDomains, portInUse } from "../../scripts/lib/preflight.mts";
import { REPO_ROOT } from "../../scripts/lib/runtime.mts";
import { harness, REPO } from "../lib/cli-harness.mts";
import { healthyMachine, type Machine } from "../lib/fake-runner.mts";

const ARGS = ["--cluster", "kind", "--repo", REPO, "--revision", "main"];

/** Runs bootstrap on a machine with one thing wrong; returns exit code, output and commands. */
async function run(machine: Machine, args = ARGS, extra: Parameters<typeof harness>[0] = {}) {
  const h = harness({ machine, ...extra });
  const code = await bootstrap(args, h.deps);
  return { code, out: h.output(), calls: h.runner.calls };
}

function assertStoppedBeforeChanging(calls: string[]) {
  for (const call of calls) assert.not.match(call, /^(kind create|docker build|kind load|minikube start|tofu apply)/, `ran ${call}`);
}

test("missing docker: says so, how to install it, and creates nothing", async () => {
  const machine = healthyMachine();
  machine.tools.docker = false;
  const { code, out, calls } = await run(machine);
  assert.is(code, 1);
  assert.match(out, /docker is not installed \(runs the kind\/minikube nodes and builds the app image\)/);
  assert.match(out, /fix: install docker >= 24\.0\.0: https:\/\/docs\.docker\.com\/engine\/install\//);
  assertStoppedBeforeChanging(calls);
});

test("missing kind, with the minimum version in the fix", async () => {
  const machine = healthyMachine();
  machine.tools.kind = false;
  const { code, out, calls } = await run(machine);
  assert.is(code, 1);
  assert.match(out, /kind is not installed/);
  assert.match(out, /install kind >= 0\.30\.0/);
  assertStoppedBeforeChanging(calls);
});

test("kind older than 0.30 cannot run the pinned node image", async () => {
  const machine = healthyMachine();
  machine.tools.kind = "kind v0.29.0 go1.24.2 linux/amd64";
  const { code, out } = await run(machine);
  assert.is(code, 1);
  assert.match(out, /kind 0\.29\.0 is too old \(need >= 0\.30\.0\)/);
});

test("kubectl outside the version skew of the cluster it will talk to: kind's node image, minikube's profile", async () => {
  const machine = healthyMachine();
  machine.tools.kubectl = "Client Version: v1.34.3\nKustomize Version: v5.7.1";
  // clusters/kind/kind-config.yaml pins kindest/node:v1.36.1.
  const kind = await run(machine);
  assert.is(kind.code, 1);
  assert.match(kind.out, /kubectl 1\.34\.3 is outside the version skew Kubernetes supports for the kind cluster \(clusters\/kind\/kind-config\.yaml\) \(v1\.36\.1: kubectl 1\.35 to 1\.37\)/);
  assertStoppedBeforeChanging(kind.calls);
  // clusters/minikube/profile.yaml pins v1.34.0: the same kubectl is fine there.
  const minikube = await run(machine, ["--cluster", "minikube", "--repo", REPO, "--revision", "main"]);
  assert.not.match(minikube.out, /outside the version skew/);
  assert.match(minikube.out, /✔ Preflight: \d+ checks passed/);
});

test("docker daemon not running, or not allowed", async () => {
  const stopped = await run(healthyMachine({ docker: "stopped" }));
  assert.is(stopped.code, 1);
  assert.match(stopped.out, /the Docker daemon is not running/);
  assert.match(stopped.out, /fix: start Docker Desktop, or: sudo systemctl start docker/);
  const denied = await run(healthyMachine({ docker: "denied" }));
  assert.match(denied.out, /no permission to talk to the Docker daemon/);
  assert.match(denied.out, /usermod -aG docker/);
});

test("not enough CPUs or memory for the platform", async () => {
  const { code, out } = await run(healthyMachine({ dockerCpus: 2, dockerMemoryGiB: 4 }));
  assert.is(code, 1);
  assert.match(out, /Docker offers 2 CPUs; the platform needs 4/);
  assert.match(out, /Docker offers 4\.0 GiB of memory; the platform needs 6 GiB/);
});

test("Docker set to the documented 6 GiB passes, though it reports a little less", async () => {
  const { out } = await run(healthyMachine({ dockerMemoryGiB: 5.8 }));
  assert.match(out, /✔ Preflight: \d+ checks passed/);
  assert.not.match(out, /GiB of memory/);
});

test("a busy host port is reported with how to find who holds it", async () => {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const { code, out, calls } = await run(healthyMachine(), ARGS, { overrides: { hostPorts: [port] } });
    assert.is(code, 1);
    assert.match(out, new RegExp(`host port ${port} is already in use`));
    assert.match(out, new RegExp(`lsof -i :${port}`));
    assertStoppedBeforeChanging(calls);
  } finally {
    server.close();
  }
});

test("ports are not checked when reusing our own cluster (it holds them)", async () => {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  try {
    const machine = healthyMachine({ kindClusters: new Set(["giropops"]) });
    const h = harness({ machine, overrides: { hostPorts: [port] } });
    // stop right after the cluster step: no Kubernetes here
    h.deps.kube = () => {
      throw new UserError("stop here");
    };
    await bootstrap(ARGS, h.deps);
    assert.not.match(h.output(), /already in use/);
    assert.match(h.output(), /reusing kind cluster giropops/);
  } finally {
    server.close();
  }
});

test("a free port is free; EACCES on a privileged port does not count as busy", async () => {
  assert.is(await portInUse(0), false);
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  assert.is(await portInUse((server.address() as { port: number }).port), true);
  server.close();
  // Whatever this machine allows on port 1 (root binds, others get EACCES), it is never "in use".
  assert.is(await portInUse(1), false);
});

test("an unreachable repository or a missing branch stops before any change", async () => {
  const unreachable = await run(healthyMachine({ remote: { error: "unable to access 'https://github.com/giropops/giropops-platform.git/': Could not resolve host: github.com" } }));
  assert.is(unreachable.code, 1);
  assert.match(unreachable.out, /cannot read https:\/\/github\.com\/giropops\/giropops-platform\.git: fatal: unable to access/);
  assert.match(unreachable.out, /a private GitHub repository needs GITHUB_TOKEN/);
  assertStoppedBeforeChanging(unreachable.calls);
  const noBranch = await run(healthyMachine(), [...ARGS.slice(0, 4), "--revision", "feature-x"]);
  assert.is(noBranch.code, 1);
  assert.match(noBranch.out, /has no branch or tag "feature-x"/);
  assert.match(noBranch.out, /git push origin feature-x/);
});

test("a repository the cluster cannot clone (a local path as origin, an SSH URL bootstrap has no key for) is refused with the https fix", async () => {
  // --repo and GIT_REPO_URL are checked as URLs by the configuration; this checkout's origin is not.
  for (const [where, url, message, fix] of [
    ["origin", "/home/me/giropops-platform", /\/home\/me\/giropops-platform is a path on this machine: Argo CD clones the repository from inside the cluster/, /--repo https:\/\/github\.com\/YOU\/giropops-platform\.git/],
    ["origin", "../giropops-platform", /\.\.\/giropops-platform is a path on this machine/, /pass its https URL/],
    ["origin", "file:///srv/git/giropops-platform.git", /is a path on this machine/, /pass its https URL/],
    ["--repo", "git@gitlab.com:me/giropops-platform.git", /git@gitlab\.com:me\/giropops-platform\.git is an SSH URL, and bootstrap makes a deploy key only for GitHub repositories/, /--repo https:\/\/gitlab\.com\/me\/giropops-platform\.git/],
    ["--repo", "ssh://git@git.example.com:2222/me/giropops-platform.git", /is an SSH URL/, /--repo https:\/\/git\.example\.com\/me\/giropops-platform\.git/],
  ] as const) {
    const machine = () => healthyMachine(where === "origin" ? { origin: url } : {});
    const args = ["--cluster", "kind", ...(where === "--repo" ? ["--repo", url] : []), "--revision", "main"];
    const { code, out, calls } = await run(machine(), args);
    assert.is(code, 1, out);
    assert.match(out, message);
    assert.match(out, fix);
    assert.not.ok(calls.some((c) => c.startsWith("git ls-remote")), "the local path was not taken as reachable");
    assertStoppedBeforeChanging(calls);
    const dry = await run(machine(), [...args, "--dry-run"]);
    assert.match(dry.out, message, "--dry-run names it too");
  }
  // A GitHub SSH URL is fine: Argo CD reads a public repository over https, a private one with the deploy key bootstrap adds.
  const github = await run(healthyMachine(), ["--cluster", "kind", "--repo", "git@github.com:giropops/giropops-platform.git", "--revision", "main", "--dry-run"]);
  assert.not.match(github.out, /SSH URL|path on this machine/);
});

test("every problem is reported at once, each with its fix", async () => {
  const machine = healthyMachine({ docker: "stopped", remote: { error: "Repository not found." } });
  machine.tools.kind = false;
  const { code, out } = await run(machine);
  assert.is(code, 1);
  assert.match(out, /preflight found 3 problems:/);
  assert.is(out.match(/fix:/g)?.length, 3);
  assert.not.match(out, /\n\s+at /, "no stack trace");
});

test("unpushed commits and uncommitted changes are warnings, not errors", async () => {
  const machine = healthyMachine({ ahead: 2, dirty: true, kindClusters: new Set(["giropops"]) });
  const h = harness({ machine });
  h.deps.kube = () => {
    throw new UserError("stop here");
  };
  await bootstrap(ARGS, h.deps);
  assert.match(h.output(), /2 local commits on main not pushed: Argo CD deploys what is on the remote, not your working tree \(git push\)/);
  assert.match(h.output(), /uncommitted changes in this checkout are not deployed/);
});

test("--dry-run finds unpushed commits from the remote-tracking branch; a failing preflight still shows its warnings", async () => {
  const dry = await run(healthyMachine({ ahead: 3 }), [...ARGS, "--dry-run"]);
  assert.is(dry.code, 0, dry.out);
  assert.match(dry.out, /3 local commits on main not pushed \(compared with origin\/main as last fetched\): Argo CD deploys what is on the remote/);
  assert.not.ok(dry.calls.some((c) => c.startsWith("git ls-remote")), "no network under --dry-run");

  const machine = healthyMachine({ ahead: 2 });
  machine.tools.kind = false;
  const failed = await run(machine);
  assert.is(failed.code, 1);
  assert.match(failed.out, /2 local commits on main not pushed: Argo CD deploys what is on the remote/);
  assert.match(failed.out, /preflight found 1 problem/);
  assert.ok(failed.out.indexOf("not pushed") < failed.out.indexOf("preflight found"), "the warning comes before the error");
});

test("a bad .env is one message listing every bad value, before any command runs", async () => {
  const dir = mkdtempSync(join(tmpdir(), "giropops-env-"));
  try {
    const envFile = join(dir, ".env");
    writeFileSync(envFile, "CLUSTER=docker-desktop\nBOOTSTRAP_TIMEOUT=soon\nREDIS_PASSWORD=short\n");
    const h = harness({ envFile });
    const code = await bootstrap(["--repo", REPO], h.deps);
    assert.is(code, 1);
    assert.match(h.output(), /Invalid configuration \(from .*\.env, the environment or flags\):/);
    assert.match(h.output(), /CLUSTER="docker-desktop" must be one of kind, minikube, oke/);
    assert.match(h.output(), /BOOTSTRAP_TIMEOUT="soon" must be a duration/);
    assert.match(h.output(), /REDIS_PASSWORD=\(hidden\)/);
    assert.not.match(h.output(), /short/);
    assert.equal(h.runner.calls, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("bad flag values name the flag and are usage errors (exit 2, like an unknown flag); a bad .env value exits 1", async () => {
  const h = harness();
  assert.is(await bootstrap(["--cluster", "k3d", "--timeout", "0", "--name", "Bad_Name"], h.deps), 2);
  for (const argv of [["--cluster", "k3d"], ["--timeout", "soon"]]) assert.is(await bootstrap(argv, harness().deps), 2, argv.join(" "));
  assert.is(await bootstrap(["--repo", REPO, "--revision", "main"], harness({ env: { CLUSTER: "k3d" } }).deps), 1, "from the environment: a configuration error");
  assert.match(h.output(), /--cluster "k3d" must be one of kind, minikube, oke/);
  assert.match(h.output(), /--timeout "0" must be longer than zero/);
  assert.match(h.output(), /--name "Bad_Name" must be lower-case letters/);
});

test("no --repo and no origin remote: says how to name the repository", async () => {
  const machine = healthyMachine();
  const h = harness({ machine });
  h.runner.calls.length = 0;
  const original = h.deps.runner.run;
  h.deps.runner = { ...h.deps.runner, run: (cmd, args, opts) => (cmd === "git" && args[0] === "remote" ? Promise.resolve({ code: 2, stdout: "", stderr: "error: No such remote 'origin'" }) : original(cmd, args, opts)) };
  assert.is(await bootstrap(["--cluster", "kind"], h.deps), 1);
  assert.match(h.output(), /no git repository to deploy from: this checkout has no "origin" remote/);
  assert.match(h.output(), /fix: pass --repo https:\/\/github\.com\/YOU\/giropops-platform\.git or set GIT_REPO_URL/);
});

test("versions compare numerically", () => {
  assert.ok(compareVersions("0.30.0", "0.4.0") > 0);
  assert.ok(compareVersions("1.9.9", "1.10.0") < 0);
  assert.is(compareVersions("3.71.0", "3.71.0"), 0);
});

test("OKE: the domain in clusters/oke/patches/domain.yaml must be PLATFORM_DOMAIN, or bootstrap stops before creating anything", async () => {
  const shipped = readFileSync(join(REPO_ROOT, OKE_DOMAIN_FILE), "utf8");
  assert.equal(okeManifestDomains(shipped), ["example.com"], "the comment's sed example is not a hostname");
  const root = mkdtempSync(join(tmpdir(), "giropops-domain-"));
  try {
    mkdirSync(join(root, "clusters/oke/patches"), { recursive: true });
    writeFileSync(join(root, OKE_DOMAIN_FILE), shipped);
    const oci = join(root, "oci-config");
    writeFileSync(oci, "[DEFAULT]\nuser=ocid1.user.oc1..aaaatest\n");
    const env = { OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaatest", PLATFORM_DOMAIN: "giropops.dev", OCI_CLI_CONFIG_FILE: oci };
    const { code, out, calls } = await run(healthyMachine(), ["--cluster", "oke", "--repo", REPO, "--revision", "main", "--yes"], { env, overrides: { root } });
    assert.is(code, 1, out);
    assert.match(out, /clusters\/oke\/patches\/domain\.yaml at main \([0-9a-f]{12}\) publishes \*\.example\.com, but PLATFORM_DOMAIN is giropops\.dev/);
    assert.match(out, /fix: edit clusters\/oke\/patches\/domain\.yaml \(sed -i 's\/example\\\.com\/giropops\.dev\/g' clusters\/oke\/patches\/domain\.yaml\), commit and push; or set PLATFORM_DOMAIN=example\.com/);
    assertStoppedBeforeChanging(calls);
    assert.not.ok(calls.some((c) => c.includes(" init ")), "no OpenTofu at all");

    // edited in the working tree but not committed: Argo CD deploys the committed file, so it still stops
    writeFileSync(join(root, OKE_DOMAIN_FILE), shipped.replaceAll("example.com", "giropops.dev"));
    const uncommitted = await run(healthyMachine({ committed: { [OKE_DOMAIN_FILE]: shipped } }), ["--cluster", "oke", "--repo", REPO, "--revision", "main", "--yes"], { env, overrides: { root } });
    assert.is(uncommitted.code, 1, uncommitted.out);
    assert.match(uncommitted.out, /domain\.yaml at main \([0-9a-f]{12}\) publishes \*\.example\.com, but PLATFORM_DOMAIN is giropops\.dev/);
    assert.ok(uncommitted.calls.some((c) => /^git show [0-9a-f]{40}:clusters\/oke\/patches\/domain\.yaml$/.test(c)), uncommitted.calls.join("\n"));
    // and the reverse: committed and pushed, whatever the working tree says, it passes this check
    writeFileSync(join(root, OKE_DOMAIN_FILE), shipped);
    const pushed = await run(healthyMachine({ committed: { [OKE_DOMAIN_FILE]: shipped.replaceAll("example.com", "giropops.dev") } }), ["--cluster", "oke", "--repo", REPO, "--revision", "main", "--yes"], { env, overrides: { root } });
    assert.not.match(pushed.out, /domain\.yaml at main .*but PLATFORM_DOMAIN/);
    // after the sed the fix names, the two agree
    assert.equal(checkOkeDomain({ text: shipped.replaceAll("example.com", "giropops.dev"), at: "main" }, "giropops.dev"), []);
    // half-edited: several domains
    assert.match(checkOkeDomain({ text: shipped.replace("senhas.example.com", "senhas.giropops.dev"), at: "main" }, "giropops.dev")[0]!.message, /several domains \(example\.com, giropops\.dev\)/);
    // not in the revision at all
    assert.match(checkOkeDomain({ problem: "fatal: path 'clusters/oke/patches/domain.yaml' does not exist in 'main'" }, "giropops.dev")[0]!.message, /^cannot read clusters\/oke\/patches\/domain\.yaml at the revision Argo CD deploys/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test.run();
