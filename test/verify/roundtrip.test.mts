import { execFileSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCheck } from "../../scripts/lib/verify/checks.mts";
import { applied, bumpReplicas, overlayFile, roundtripCheck } from "../../scripts/lib/verify/roundtrip.mts";
import { contextFor, fakeClock, REPO_ROOT, startApiServer, type ApiServer } from "./lib/api-server.mts";

const KIND_OVERLAY = readFileSync(join(REPO_ROOT, overlayFile("kind")), "utf8");

test("raises the HPA floor in the kind overlay by one and changes nothing else", () => {
  const bump = bumpReplicas(KIND_OVERLAY);
  assert.ok(bump, "the kind overlay has a minReplicas patch");
  assert.is(bump!.field, "minReplicas");
  assert.is(bump!.to, bump!.from + 1);
  const changed = KIND_OVERLAY.split("\n").filter((line, i) => line !== bump!.text.split("\n")[i]);
  assert.is(changed.length, 1);
  assert.match(changed[0]!, /\/spec\/minReplicas/);
});

test("a kustomize replicas entry is bumped too; an overlay without either is refused", () => {
  const text = "resources: [../../../apps/giropops-senhas/deploy/app]\nreplicas:\n  - name: giropops-senhas\n    count: 2\n";
  const bump = bumpReplicas(text);
  assert.equal([bump?.field, bump?.from, bump?.to], ["replicas", 2, 3]);
  assert.match(bump!.text, /count: 3/);
  assert.is(bumpReplicas("resources: [x]\n"), undefined);
});

test("applied: scaling up needs the HPA floor and the Deployment; scaling back only the floor (HPA stabilization)", () => {
  const hpa = { field: "minReplicas" } as const;
  assert.ok(applied({ minReplicas: 2, deploymentReplicas: 2 }, hpa, 2, true));
  assert.not.ok(applied({ minReplicas: 2, deploymentReplicas: 1 }, hpa, 2, true));
  assert.ok(applied({ minReplicas: 1, deploymentReplicas: 2 }, hpa, 1, false));
  assert.ok(applied({ deploymentReplicas: 3 }, { field: "replicas" }, 3, true));
});

type World = { dir: string; work: string; remote: string; api: ApiServer; patches: string[] };
let world: World | undefined;

function git(cwd: string, ...args: string[]): string {
  return execFileSync("git", args, { cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** A remote, a checkout of it on main, and an API server whose "Argo CD" applies what the remote's main says. */
async function setUp(options: { argoFollows?: string; argoApplies?: boolean } = {}): Promise<World> {
  const dir = mkdtempSync(join(tmpdir(), "verify-roundtrip-"));
  const remote = join(dir, "remote.git");
  const work = join(dir, "work");
  git(dir, "init", "-q", "--bare", "-b", "main", remote);
  git(dir, "clone", "-q", remote, work);
  git(work, "config", "user.email", "verify@example.com");
  git(work, "config", "user.name", "verify test");
  git(work, "checkout", "-q", "-b", "main");
  const file = join(work, overlayFile("kind"));
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, KIND_OVERLAY);
  git(work, "add", ".");
  git(work, "commit", "-q", "-m", "kind overlay");
  git(work, "push", "-q", "origin", "main");
  const initial = bumpReplicas(KIND_OVERLAY)!.from;
  const floor = () => {
    if (options.argoApplies === false) return initial;
    const text = git(remote, "show", `main:${overlayFile("kind")}`);
    return Number(/\/spec\/minReplicas,\s*value:\s*(\d+)/.exec(text)![1]);
  };
  const patches: string[] = [];
  const api = await startApiServer([
    { path: "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications/root", answer: { body: { spec: { source: { repoURL: remote, targetRevision: options.argoFollows ?? "main", path: "clusters/kind" } } } } },
    {
      method: "PATCH",
      path: /^\/apis\/argoproj\.io\/v1alpha1\/namespaces\/argocd\/applications\//,
      answer: (seen) => {
        patches.push(`${seen.path.split("/").pop()} ${seen.headers["content-type"]} ${seen.body}`);
        return { body: {} };
      },
    },
    { path: "/apis/autoscaling/v2/namespaces/giropops-senhas/horizontalpodautoscalers/giropops-senhas", answer: () => ({ body: { spec: { minReplicas: floor(), maxReplicas: 3 } } }) },
    { path: "/apis/apps/v1/namespaces/giropops-senhas/deployments/giropops-senhas", answer: () => ({ body: { spec: { replicas: floor() }, status: { readyReplicas: floor() } } }) },
  ]);
  world = { dir, work, remote, api, patches };
  return world;
}

test.after.each(async () => {
  await world?.api.close();
  if (world) rmSync(world.dir, { recursive: true, force: true });
  world = undefined;
});

test("pushes the change, waits for Argo CD to apply it, then pushes the revert and waits again", async () => {
  const { api, work, remote, patches } = await setUp();
  const from = bumpReplicas(KIND_OVERLAY)!.from;
  const [result] = await runCheck(roundtripCheck, contextFor(api, { repoRoot: work, clock: fakeClock() }));
  assert.is(result?.status, "pass", `${result?.summary}\n${result?.evidence.join("\n")}`);
  const log = git(remote, "log", "--format=%s", "main").split("\n");
  assert.is(log[1], `verify: GitOps round trip, minReplicas ${from} → ${from + 1}`);
  assert.match(log[0]!, /^Revert "verify: GitOps round trip/);
  assert.is(readFileSync(join(work, overlayFile("kind")), "utf8"), KIND_OVERLAY, "the checkout ends as it started");
  assert.is(git(work, "status", "--porcelain"), "");
  assert.ok(patches.some((p) => p.startsWith("root application/merge-patch+json") && p.includes('"argocd.argoproj.io/refresh":"normal"')), "Argo CD is asked to refresh now");
  assert.ok(result?.evidence.some((l) => l.startsWith("applied in ") && l.includes(`: HPA min ${from + 1}, Deployment ${from + 1} replicas`)), result?.evidence.join("\n"));
});

test("fails when Argo CD never applies the change, and still reverts it on the remote", async () => {
  const { api, work, remote } = await setUp({ argoApplies: false });
  const clock = fakeClock();
  const [result] = await runCheck(roundtripCheck, contextFor(api, { repoRoot: work, clock }));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /did not apply the pushed change within 60s/);
  assert.match(git(remote, "log", "-1", "--format=%s", "main"), /^Revert /);
  assert.is(git(remote, "show", `main:${overlayFile("kind")}`) + "\n", KIND_OVERLAY);
});

test("refuses to push when Argo CD follows another branch than the checkout's", async () => {
  const { api, work, remote } = await setUp({ argoFollows: "release" });
  const before = git(remote, "rev-parse", "main");
  const [result] = await runCheck(roundtripCheck, contextFor(api, { repoRoot: work }));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /Argo CD follows .* @ release, this checkout is .* @ main/);
  assert.is(git(remote, "rev-parse", "main"), before, "nothing was pushed");
});

test.run();
