import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderKustomization } from "../../scripts/lib/argocd.mts";
import { createRunner } from "../../scripts/lib/runner.mts";
import { runCheck, type KubeResponse } from "../../scripts/lib/verify/checks.mts";
import { badPod, goodPod, judgeKyverno, kyvernoCheck, latestWithoutLimitsPod, policyNames, refusedBy } from "../../scripts/lib/verify/kyverno.mts";
import { contextFor, REPO_ROOT, startApiServer, type ApiServer, type Seen } from "./lib/api-server.mts";

const runner = createRunner();
// The app Deployment as the kind overlay renders it: what the check reads from the cluster.
const deployment = (await renderKustomization(runner, REPO_ROOT, "clusters/kind/giropops-senhas")).find((o) => o.kind === "Deployment")!;
const template = deployment.spec.template;
const policies = await policyNames({ runner, repoRoot: REPO_ROOT });

// Answers of a dry-run create (kube-apiserver 1.36, Kyverno 1.19 ValidatingPolicy webhook),
// shaped as upstream builds them:
//  - Pod Security: 403 Forbidden from the PodSecurity admission plugin.
//  - Kyverno: HTTP 400 with no reason. Kyverno's vpol handler denies with a
//    Status without a code (kyverno v1.19.0 pkg/utils/admission/response.go
//    Response; pkg/webhooks/resource/vpol/handler.go joins "Policy <name>
//    failed: <message>" with "; "), and the API server raises every denial code
//    below 400 to 400 (k8s.io/apiserver pkg/admission/plugin/webhook/errors/
//    statuserror.go ToStatusErr). The webhook is "vpol.validate.kyverno.svc-fail"
//    plus "-" and 8 hex digits of its selectors' digest, since this platform's
//    Deny and Audit policies have different namespaceSelectors (kyverno v1.19.0
//    pkg/controllers/webhook/validating.go groupBySelectors); the 8 digits here
//    stand in for that digest.
const status = (code: number, message: string, reason?: string) => ({
  status: code,
  body: { kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, ...(reason ? { reason } : {}), code },
  text: "",
});
const PSA_DENIAL = status(
  403,
  'pods "verify-privileged-x" is forbidden: violates PodSecurity "restricted:latest": privileged (container "giropops-senhas" must not set securityContext.privileged=true), allowPrivilegeEscalation != false (container "giropops-senhas" must set securityContext.allowPrivilegeEscalation=false), unrestricted capabilities (container "giropops-senhas" must set securityContext.capabilities.drop=["ALL"]), runAsNonRoot != true (pod or container "giropops-senhas" must set securityContext.runAsNonRoot=true), seccompProfile (pod or container "giropops-senhas" must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost")',
  "Forbidden",
);
const KYVERNO_DENIAL = status(
  400,
  'admission webhook "vpol.validate.kyverno.svc-fail-3f9c2a71" denied the request: Policy disallow-latest-tag failed: The latest tag is not allowed; pin a version or a digest.; Policy require-resources failed: Every container must set resources.limits.cpu and resources.limits.memory.',
);
const ADMITTED: KubeResponse = { status: 201, body: { kind: "Pod", apiVersion: "v1", metadata: { name: "verify-good-x" } }, text: "" };

test("the bad Pod is privileged, :latest and without limits; the latest one keeps the app's restricted security context", () => {
  const bad = badPod(template, "b");
  const container = bad.spec.containers[0];
  assert.is(container.image, "ghcr.io/giropops/giropops-senhas:latest");
  assert.is(container.securityContext.privileged, true);
  assert.is(container.resources, undefined);
  const latest = latestWithoutLimitsPod(template, "l");
  assert.is(latest.spec.containers[0].image, "ghcr.io/giropops/giropops-senhas:latest");
  assert.is(latest.spec.containers[0].resources, undefined);
  assert.equal(latest.spec.containers[0].securityContext, template.spec.containers[0].securityContext);
  assert.equal(goodPod(template, "g").spec, template.spec, "the good Pod is the app's own template");
  assert.is(template.spec.containers[0].resources !== undefined, true, "building the others did not change the template");
});

test("refusedBy tells Kyverno, named policies and Pod Security apart (and never matches the -audit twins)", () => {
  const kyverno = refusedBy(String(KYVERNO_DENIAL.body.message), [...policies, "disallow-latest-tag-audit"]);
  assert.ok(kyverno.kyverno);
  assert.ok(kyverno.named.includes("disallow-latest-tag"));
  assert.ok(kyverno.named.includes("require-resources"));
  assert.not.ok(kyverno.named.includes("disallow-latest-tag-audit"));
  const psa = refusedBy(String(PSA_DENIAL.body.message), policies);
  assert.equal([psa.kyverno, psa.podSecurity], [false, true]);
});

test("passes: bad Pods denied (Kyverno naming its policies), the app's admitted", () => {
  const verdict = judgeKyverno({ bad: PSA_DENIAL, latestWithoutLimits: KYVERNO_DENIAL, good: ADMITTED }, policies);
  assert.ok(verdict.ok, verdict.summary);
  assert.match(verdict.summary, /disallow-latest-tag, require-resources/);
  assert.match(verdict.summary, /Pod Security refused the privileged one first/);
  assert.ok(verdict.evidence.some((l) => l.includes("Policy disallow-latest-tag failed: The latest tag is not allowed")));
});

test("fails when policies only audit (bad Pods admitted), when only Pod Security refuses, or when the good Pod is denied", () => {
  assert.match(judgeKyverno({ bad: ADMITTED, latestWithoutLimits: ADMITTED, good: ADMITTED }, policies).summary, /was admitted/);
  assert.match(judgeKyverno({ bad: PSA_DENIAL, latestWithoutLimits: ADMITTED, good: ADMITTED }, policies).summary, /Kyverno does not enforce/);
  assert.match(judgeKyverno({ bad: PSA_DENIAL, latestWithoutLimits: PSA_DENIAL, good: ADMITTED }, policies).summary, /not by a Kyverno policy/);
  const good = judgeKyverno({ bad: KYVERNO_DENIAL, latestWithoutLimits: KYVERNO_DENIAL, good: KYVERNO_DENIAL }, policies);
  assert.not.ok(good.ok);
  assert.match(good.summary, /app's own pod template is denied/);
});

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

/** Admission as the cluster does it: Pod Security first, then Kyverno's webhook. */
function admit(seen: Seen) {
  const pod = JSON.parse(seen.body);
  const containers = pod.spec.containers as any[];
  const answer = ({ status, body }: KubeResponse) => ({ status, body });
  if (containers.some((c) => c.securityContext?.privileged)) return answer(PSA_DENIAL);
  if (containers.some((c) => String(c.image).endsWith(":latest") || !c.resources?.limits)) return answer(KYVERNO_DENIAL);
  return { status: 201, body: pod };
}

test("over HTTP: three server-side dry-run creates in giropops-senhas, judged from the API's answers", async () => {
  api = await startApiServer([
    { path: "/apis/apps/v1/namespaces/giropops-senhas/deployments/giropops-senhas", answer: { body: deployment } },
    { method: "POST", path: "/api/v1/namespaces/giropops-senhas/pods", answer: admit },
  ]);
  const [result] = await runCheck(kyvernoCheck, contextFor(api));
  assert.is(result?.status, "pass", result?.summary);
  const posts = api.seen.filter((s) => s.method === "POST");
  assert.is(posts.length, 3);
  assert.ok(posts.every((p) => p.query.get("dryRun") === "All"), "nothing is ever really created");
});

test("over HTTP: an admitted bad Pod fails the check", async () => {
  api = await startApiServer([
    { path: "/apis/apps/v1/namespaces/giropops-senhas/deployments/giropops-senhas", answer: { body: deployment } },
    { method: "POST", path: "/api/v1/namespaces/giropops-senhas/pods", answer: (seen) => ({ status: 201, body: JSON.parse(seen.body) }) },
  ]);
  const [result] = await runCheck(kyvernoCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.hint ?? "", /kubectl --context kind-giropops get validatingpolicies/);
});

test.run();
