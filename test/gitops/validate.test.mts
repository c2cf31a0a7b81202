import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { formatReport } from "../validate/format.mts";
import { KIND_BUDGET, blockedFrom, cpuMilli, projectRefusal, imageProblem, memoryBytes, validate, valuesImageProblems, workloadProblems, type Problem } from "../validate/validate.mts";
import { copyRepo, edit } from "./support.mts";

const show = (problems: Problem[]) => problems.map((p) => `${p.file} [${p.object ?? ""}] ${p.message}`).join("\n");

test("the repository's tree validates with no problems, within the kind budget", async () => {
  const report = await validate();
  assert.is(report.problems.length, 0, `\n${show(report.problems)}`);
  const kind = report.clusters.find((c) => c.cluster === "kind")!;
  assert.ok(kind.objects > 30, `kind renders ${kind.objects} objects`);
  assert.ok(kind.requests.cpuMilli > 0 && kind.requests.cpuMilli <= KIND_BUDGET.cpuMilli);
  assert.ok(kind.requests.memoryBytes > 0 && kind.requests.memoryBytes <= KIND_BUDGET.memoryBytes);
  assert.ok(report.remotes.every((r) => r.pinned));
  assert.match(formatReport(report), /OK: no problems/);
});

test("each deliberate breakage fails validation with the file and the object", async () => {
  const root = copyRepo();
  // A missing path.
  edit(root, "gitops/redis/application.yaml", "path: apps/giropops-senhas/deploy/redis", "path: apps/giropops-senhas/deploy/nope");
  // A latest tag.
  edit(root, "gitops/locust/master.yaml", "locustio/locust:2.32.2", "locustio/locust:latest");
  // A wave inversion: the Gateway API CRDs after Argo CD, whose HTTPRoute needs them.
  edit(root, "gitops/gateway-api-crds/application.yaml", 'sync-wave: "-4"', 'sync-wave: "5"');
  // A duplicate object: Redis's folder also ships the app's Service (same namespace).
  writeFileSync(join(root, "apps/giropops-senhas/deploy/redis/duplicate.yaml"), readFileSync(join(root, "apps/giropops-senhas/deploy/app/service.yaml"), "utf8"));
  edit(root, "apps/giropops-senhas/deploy/redis/kustomization.yaml", /resources:\n/, "resources:\n  - duplicate.yaml\n");
  // A missing limit.
  edit(root, "gitops/locust/worker.yaml", "            limits: { cpu: 500m, memory: 256Mi }\n", "");
  // Something bootstrap cannot apply at day 0 (no Gateway API CRDs yet).
  writeFileSync(join(root, "gitops/argocd/route.yaml"), readFileSync(join(root, "gitops/argocd/route/httproute.yaml"), "utf8"));
  edit(root, "gitops/argocd/kustomization.yaml", /resources:\n/, "resources:\n  - route.yaml\n");
  // The default project and a floating chart version.
  edit(root, "gitops/locust/application.yaml", "project: apps", "project: default");
  edit(root, "gitops/locust/application.yaml", 'sync-wave: "3"', 'sync-wave: "-3"');
  edit(root, "gitops/metrics-server/application.yaml", "targetRevision: 3.13.1", "targetRevision: 3.x");
  // An Application without a destination namespace (Argo CD refuses it even for cluster-scoped content).
  edit(root, "gitops/policies/application.yaml", /\n    # Cluster-scoped content[^\n]*\n    namespace: kyverno/, "");
  // A chart repository the project does not allow.
  edit(root, "gitops/gateway/application.yaml", "repoURL: https://traefik.github.io/charts", "repoURL: https://example.org/charts");

  const { problems } = await validate({ root });
  const expect = (file: string, object: string, message: RegExp) =>
    assert.ok(
      problems.some((p) => p.file === file && p.object === object && message.test(p.message)),
      `expected a problem in ${file} [${object}] matching ${message}; got:\n${show(problems)}`,
    );
  expect("gitops/redis/application.yaml", "Application argocd/redis", /spec\.source\.path "apps\/giropops-senhas\/deploy\/nope" does not exist/);
  expect("gitops/locust/master.yaml", "Deployment locust/locust-master", /locustio\/locust:latest uses the latest tag/);
  expect("gitops/argocd/route/httproute.yaml", "HTTPRoute argocd/argocd-server", /sync wave inversion: Application argocd-route \(wave -1\).*gateway-api-crds \(wave 5\)/);
  // An HTTPRoute synced before the Gateway controller would wait forever.
  expect("gitops/locust/httproute.yaml", "HTTPRoute locust/locust", /sync wave deadlock: Application locust \(wave -3\)/);
  assert.ok(
    problems.some((p) => p.object === "Service giropops-senhas/giropops-senhas" && /duplicate object: Service giropops-senhas\/giropops-senhas is also rendered from apps\/giropops-senhas\/deploy\/(app\/service|redis\/duplicate)\.yaml/.test(p.message)),
    `expected a duplicate Service; got:\n${show(problems)}`,
  );
  expect("gitops/locust/worker.yaml", "Deployment locust/locust-worker", /container locust: no cpu limit/);
  expect("gitops/locust/application.yaml", "Application argocd/locust", /project must be a non-default AppProject/);
  expect("gitops/argocd/route.yaml", "HTTPRoute argocd/argocd-server", /bootstrap applies gitops\/argocd at day 0, when no gateway\.networking\.k8s\.io CRD exists yet/);
  expect("gitops/gateway/application.yaml", "Application argocd/traefik", /AppProject platform does not list source repository https:\/\/example\.org\/charts/);
  expect("gitops/policies/application.yaml", "Application argocd/policies", /spec\.destination\.namespace is empty: AppProject platform refuses it/);
  expect("gitops/metrics-server/application.yaml", "Application argocd/metrics-server", /chart metrics-server version "3\.x" is not an exact version/);
});

test("a workload without the restricted settings or probes is reported container by container", () => {
  const problems = workloadProblems({
    kind: "Deployment",
    metadata: { name: "x" },
    spec: { template: { spec: { containers: [{ name: "web", image: "nginx", resources: { requests: { cpu: "1" } } }] } } },
  });
  for (const text of ["image nginx has no tag", "no memory request", "no cpu limit", "no readinessProbe", "no livenessProbe", "runAsNonRoot is not true", "readOnlyRootFilesystem is not true", "allowPrivilegeEscalation is not false", "capabilities.drop does not include ALL", "seccompProfile is not RuntimeDefault"]) {
    assert.ok(problems.includes(`container web: ${text}`), text);
  }
});

test("image references: tags and digests pass, latest and untagged fail (also inside chart values)", () => {
  assert.is(imageProblem("ghcr.io/a/b:1.2.3"), null);
  assert.is(imageProblem(`ghcr.io/a/b@sha256:${"a".repeat(64)}`), null);
  assert.is(imageProblem("localhost:5000/b"), "image localhost:5000/b has no tag");
  assert.match(imageProblem("b:latest") ?? "", /latest/);
  assert.equal(valuesImageProblems({ a: { image: { tag: "latest" } }, b: { image: "busybox" }, c: { image: { tag: "1.0" } } }), [
    'valuesObject.a.image.tag is "latest"',
    "valuesObject.b.image: image busybox has no tag",
  ]);
});

test("NetworkPolicies: a Service's pods admit only the namespaces their ingress rules name", () => {
  const at = (object: Record<string, unknown>) => ({ source: "x.yaml", object });
  const service = at({ kind: "Service", metadata: { name: "web", namespace: "app" }, spec: { selector: { tier: "web" } } });
  const policy = at({
    kind: "NetworkPolicy",
    metadata: { name: "web", namespace: "app" },
    spec: { podSelector: { matchLabels: { tier: "web" } }, policyTypes: ["Ingress"], ingress: [{ from: [{ namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "traefik" } } }, { podSelector: {} }] }] },
  });
  assert.is(blockedFrom([service, policy], "app", "web", "traefik"), null);
  assert.is(blockedFrom([service, policy], "app", "web", "app"), null, "same namespace via podSelector");
  assert.is(blockedFrom([service, policy], "app", "web", "locust"), "NetworkPolicy web admits no traffic from namespace locust");
  assert.is(blockedFrom([service], "app", "web", "locust"), null, "no policy, no restriction");
});

test("an AppProject refuses other repositories, other namespaces and an empty destination namespace", () => {
  const project = { metadata: { name: "p" }, spec: { sourceRepos: ["https://git/x.git"], destinations: [{ server: "https://kubernetes.default.svc", namespace: "a" }] } };
  const app = (repoURL: string, namespace?: string) => ({ spec: { source: { repoURL }, destination: { server: "https://kubernetes.default.svc", namespace } } });
  assert.equal(projectRefusal(project, app("https://git/x.git", "a")), []);
  assert.equal(projectRefusal(project, app("https://git/y.git", "a")), ["AppProject p does not list source repository https://git/y.git"]);
  assert.equal(projectRefusal(project, app("https://git/x.git", "b")), ["AppProject p has no destination https://kubernetes.default.svc namespace b"]);
  assert.match(projectRefusal(project, app("https://git/x.git"))[0] ?? "", /destination\.namespace is empty/);
});

test("quantities are read the Kubernetes way", () => {
  assert.is(cpuMilli("250m"), 250);
  assert.is(cpuMilli("1.5"), 1500);
  assert.is(memoryBytes("128Mi"), 128 * 1024 ** 2);
  assert.is(memoryBytes("1G"), 1e9);
});

test.run();
