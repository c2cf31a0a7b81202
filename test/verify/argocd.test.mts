import { test } from "uvu";
import * as assert from "uvu/assert";
import { argocdCheck, judgeArgoCd, TRACKING_ANNOTATION } from "../../scripts/lib/verify/argocd.mts";
import { runCheck } from "../../scripts/lib/verify/checks.mts";
import { contextFor, fixture, startApiServer, type ApiServer } from "./lib/api-server.mts";

const healthy = () => fixture("argocd-applications-healthy.json");
const degraded = () => fixture("argocd-applications-degraded.json");
const server = () => fixture("argocd-server-deployment.json");

test("passes when every Application is Synced/Healthy and argocd-server is tracked", () => {
  const verdict = judgeArgoCd(healthy(), server());
  assert.ok(verdict.ok, verdict.summary);
  assert.match(verdict.summary, /13 Applications Synced and Healthy, Argo CD manages itself/);
  assert.ok(verdict.evidence.some((l) => l.startsWith("13/13 Applications Synced and Healthy")));
  assert.ok(verdict.evidence.includes(`argocd-server ${TRACKING_ANNOTATION}: argocd:apps/Deployment:argocd/argocd-server`));
});

test("fails naming each unhealthy Application with Argo CD's own reason", () => {
  const verdict = judgeArgoCd(degraded(), server());
  assert.not.ok(verdict.ok);
  assert.match(verdict.summary, /2 Applications not Synced\/Healthy \(falco, giropops-senhas\)/);
  const lines = verdict.evidence.join("\n");
  // A DaemonSet's health is Progressing, never Degraded (gitops-engine pkg/health/health_daemonset.go);
  // its message is in status.resources[].health, persisted by gitops/argocd (controller.resource.health.persist).
  assert.match(lines, /falco: Synced\/Progressing — DaemonSet falco\/falco: Waiting for daemon set "falco" rollout to finish: 0 of 1 updated pods are available/);
  assert.match(lines, /giropops-senhas: OutOfSync\/Progressing — Failed to load target state/);
  assert.match(lines, /last sync Failed: one or more objects failed to apply/);
  assert.ok(verdict.hint?.includes("kubectl -n argocd"));
});

test("fails when Argo CD does not manage itself (no argocd Application, no tracking annotation)", () => {
  const list = healthy();
  list.items = list.items.filter((a: any) => a.metadata.name !== "argocd");
  const untracked = server();
  delete untracked.metadata.annotations[TRACKING_ANNOTATION];
  const verdict = judgeArgoCd(list, untracked);
  assert.not.ok(verdict.ok);
  assert.match(verdict.summary, /the argocd Application is missing/);
  assert.match(verdict.summary, /argocd-server is not tracked by Argo CD/);
});

test("fails on an empty Application list and on a missing argocd-server", () => {
  assert.not.ok(judgeArgoCd({ items: [] }, server()).ok);
  const verdict = judgeArgoCd(healthy(), undefined);
  assert.not.ok(verdict.ok);
  assert.ok(verdict.evidence.includes("Deployment argocd/argocd-server: missing"));
});

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

test("over HTTP: the check reads the Application list and argocd-server from the Kubernetes API", async () => {
  api = await startApiServer([
    { path: "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications", answer: { body: healthy() } },
    { path: "/apis/apps/v1/namespaces/argocd/deployments/argocd-server", answer: { body: server() } },
  ]);
  const [result] = await runCheck(argocdCheck, contextFor(api));
  assert.is(result?.status, "pass", result?.summary);
  assert.equal(api.seen.map((s) => s.path), ["/apis/argoproj.io/v1alpha1/namespaces/argocd/applications", "/apis/apps/v1/namespaces/argocd/deployments/argocd-server"]);
  assert.is(api.seen[0]?.headers.authorization, "Bearer test-token");
});

test("over HTTP: a degraded platform fails with the context-qualified command to dig in", async () => {
  api = await startApiServer([
    { path: "/apis/argoproj.io/v1alpha1/namespaces/argocd/applications", answer: { body: degraded() } },
    { path: "/apis/apps/v1/namespaces/argocd/deployments/argocd-server", answer: { body: server() } },
  ]);
  const [result] = await runCheck(argocdCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.hint ?? "", /kubectl --context kind-giropops -n argocd get applications/);
});

test("over HTTP: Argo CD not installed (404 on Applications) is a failed check, not a crash", async () => {
  api = await startApiServer([]);
  const [result] = await runCheck(argocdCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /could not be checked: GET \/apis\/argoproj\.io\/v1alpha1\/namespaces\/argocd\/applications answered HTTP 404/);
});

test.run();
