import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCheck } from "../../scripts/lib/verify/checks.mts";
import { hpaCheck, judgeHpa } from "../../scripts/lib/verify/hpa.mts";
import { contextFor, fixture, startApiServer, type ApiServer } from "./lib/api-server.mts";

test("passes with a current CPU reading (the app HPA's only metric) and pod usage from metrics-server", () => {
  const verdict = judgeHpa(fixture("hpa-list.json"), fixture("pod-metrics.json"));
  assert.ok(verdict.ok, verdict.summary);
  assert.ok(verdict.evidence.includes("giropops-senhas: replicas 3 (min 3, max 6), current cpu 3%"));
  assert.ok(verdict.evidence.includes("metrics-server: usage for 2 pods in giropops-senhas"));
});

test("fails with the HPA controller's reason when it has no metrics", () => {
  const verdict = judgeHpa(fixture("hpa-list-no-metrics.json"), undefined);
  assert.not.ok(verdict.ok);
  assert.match(verdict.summary, /no current metrics/);
  assert.match(verdict.evidence.join("\n"), /ScalingActive=False: FailedGetResourceMetric/);
  assert.ok(verdict.evidence.includes("metrics-server: no answer from metrics.k8s.io"));
});

test("fails without an HPA, and when metrics-server reports no pods", () => {
  assert.match(judgeHpa({ items: [] }, fixture("pod-metrics.json")).summary, /no HorizontalPodAutoscaler/);
  assert.match(judgeHpa(fixture("hpa-list.json"), { items: [] }).summary, /reports no pod usage/);
});

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

test("over HTTP: reads autoscaling/v2 and metrics.k8s.io; an unavailable metrics API fails the check", async () => {
  api = await startApiServer([
    { path: "/apis/autoscaling/v2/namespaces/giropops-senhas/horizontalpodautoscalers", answer: { body: fixture("hpa-list.json") } },
    { path: "/apis/metrics.k8s.io/v1beta1/namespaces/giropops-senhas/pods", answer: { body: fixture("pod-metrics.json") } },
  ]);
  const [pass] = await runCheck(hpaCheck, contextFor(api));
  assert.is(pass?.status, "pass", pass?.summary);
  await api.close();
  api = await startApiServer([
    { path: "/apis/autoscaling/v2/namespaces/giropops-senhas/horizontalpodautoscalers", answer: { body: fixture("hpa-list-no-metrics.json") } },
    { path: "/apis/metrics.k8s.io/v1beta1/namespaces/giropops-senhas/pods", answer: { status: 503, body: { kind: "Status", message: "the server is currently unable to handle the request", code: 503 } } },
  ]);
  const [fail] = await runCheck(hpaCheck, contextFor(api));
  assert.is(fail?.status, "fail");
  assert.match(fail?.hint ?? "", /kubectl --context kind-giropops -n kube-system logs deploy\/metrics-server/);
});

test.run();
