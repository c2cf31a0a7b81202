// The Kyverno policies in gitops/policies, evaluated from their own YAML text:
// every workload this repo renders passes them in the namespace it is deployed
// to, and a bad copy of a good workload is denied with the message of exactly
// the rule it breaks.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse as parseYaml } from "yaml";
import { parse as parseCel } from "@bufbuild/cel";
import { ValidatingPolicy } from "@kubernetes-models/kyverno/policies.kyverno.io/v1/ValidatingPolicy";
import { PolicyException } from "@kubernetes-models/kyverno/policies.kyverno.io/v1/PolicyException";
import { admit, kustomize, podFromTemplate } from "./lib/admission.mts";
import type { Request } from "./lib/admission.mts";
import { repoWorkloads } from "./lib/workloads.mts";

type Obj = Record<string, any>;

const rendered = kustomize("gitops/policies");
const policies = rendered.filter((o) => o.kind === "ValidatingPolicy");
const exceptions = rendered.filter((o) => o.kind === "PolicyException");
const enforced = policies.filter((p) => p.spec.validationActions.includes("Deny"));
const audited = policies.filter((p) => p.spec.validationActions.includes("Audit"));
const good: Obj = parseYaml(readFileSync(join(import.meta.dirname, "fixtures/good-deployment.yaml"), "utf8"));

const APP_NAMESPACE = "giropops-senhas";
const PLATFORM_NAMESPACE = "traefik";

/** Every failure and error of every policy for `object` in `namespace`. */
function judge(object: Obj, namespace: string, among: Obj[] = policies, request: Request = {}) {
  const failures: string[] = [];
  const errors: string[] = [];
  const matchedBy: string[] = [];
  for (const policy of among) {
    const verdict = admit(policy, object, namespace, exceptions, request);
    if (!verdict.matched) continue;
    matchedBy.push(policy.metadata.name);
    failures.push(...verdict.failures.map((m) => `${policy.metadata.name}: ${m}`));
    errors.push(...verdict.errors.map((m) => `${policy.metadata.name}: ${m}`));
  }
  return { failures, errors, matchedBy };
}

const clone = (o: Obj): Obj => structuredClone(o);
const app = (d: Obj) => d.spec.template.spec.containers[0];
const podSpec = (d: Obj) => d.spec.template.spec;

test("gitops/policies renders only ValidatingPolicies and PolicyExceptions", () => {
  assert.equal(rendered.filter((o) => !["ValidatingPolicy", "PolicyException"].includes(o.kind)).map((o) => o.kind), []);
  for (const exception of exceptions) {
    assert.is(exception.apiVersion, "policies.kyverno.io/v1");
    new PolicyException(exception as any).validate();
    // The chart only honours exceptions from the kyverno namespace (features.policyExceptions.namespace).
    assert.is(exception.metadata.namespace, "kyverno", exception.metadata.name);
    for (const ref of exception.spec.policyRefs)
      assert.ok(policies.some((p) => p.kind === ref.kind && p.metadata.name === ref.name), `${exception.metadata.name}: no policy ${ref.kind}/${ref.name}`);
  }
});

test("a PolicyException lets exactly what it names through", () => {
  const exception = {
    apiVersion: "policies.kyverno.io/v1",
    kind: "PolicyException",
    metadata: { name: "fixture-may-use-latest", namespace: "kyverno" },
    spec: {
      policyRefs: [{ name: "disallow-latest-tag", kind: "ValidatingPolicy" }],
      matchConditions: [{ name: "fixture-only", expression: "request.namespace == 'giropops-senhas' && object.metadata.name == 'fixture'" }],
    },
  };
  new PolicyException(exception as any).validate();
  const latest = clone(good);
  app(latest).image = "ghcr.io/giropops/giropops-senhas:latest";
  const policy = enforced.find((p) => p.metadata.name === "disallow-latest-tag")!;
  assert.is(admit(policy, latest, APP_NAMESPACE, [exception]).matched, false);
  const other = clone(latest);
  other.metadata.name = "other";
  const verdict = admit(policy, other, APP_NAMESPACE, [exception]);
  assert.ok(verdict.matched && verdict.failures.length === 1);
});

test("the policies are policies.kyverno.io/v1 ValidatingPolicies of the right shape", () => {
  assert.ok(policies.length >= 12, `only ${policies.length} policies rendered`);
  for (const policy of policies) {
    const name = policy.metadata?.name;
    assert.is(policy.apiVersion, "policies.kyverno.io/v1", name);
    assert.is(policy.kind, "ValidatingPolicy", name);
    // The JSON schema of the CRD (from @kubernetes-models/kyverno) throws on a wrong field type or a missing required field.
    new ValidatingPolicy(policy as any).validate();
    const spec = policy.spec;
    assert.ok(["Deny", "Audit"].some((a) => spec.validationActions?.length === 1 && spec.validationActions[0] === a), `${name}: validationActions`);
    assert.ok(spec.matchConstraints?.resourceRules?.length > 0, `${name}: matchConstraints.resourceRules`);
    assert.ok(spec.matchConstraints?.namespaceSelector, `${name}: namespaceSelector`);
    assert.ok(spec.validations?.length > 0, `${name}: validations`);
    for (const v of spec.validations) {
      assert.type(v.expression, "string", `${name}: expression`);
      assert.ok(typeof v.message === "string" && v.message.length > 0, `${name}: every validation has a message`);
    }
    for (const field of ["podSpec", "containers", "images"])
      assert.ok(spec.variables?.some((v: Obj) => v.name === field), `${name}: variable ${field}`);
  }
});

test("every expression parses as plain CEL (no optional syntax the offline evaluator cannot read)", () => {
  for (const policy of policies)
    for (const e of [...(policy.spec.matchConditions ?? []), ...policy.spec.variables, ...policy.spec.validations])
      assert.not.throws(() => parseCel(e.expression), `${policy.metadata.name}: ${e.expression}`);
});

test("each rule is enforced in the app namespaces and audited, with the same text, in the platform ones", () => {
  assert.is(enforced.length, audited.length);
  for (const policy of enforced) {
    const twin = audited.find((p) => p.metadata.name === `${policy.metadata.name}-audit`);
    assert.ok(twin, `${policy.metadata.name} has no -audit twin`);
    assert.equal(twin.spec.validations, policy.spec.validations);
    assert.equal(twin.spec.variables, policy.spec.variables);
    assert.equal(twin.spec.matchConditions, policy.spec.matchConditions);
    assert.is(policy.spec.failurePolicy, "Fail");
    assert.is(twin.spec.failurePolicy, "Ignore", "a down Kyverno never blocks the platform");
  }
});

test("scope: Deny in giropops-senhas and locust, Audit elsewhere, nothing in system namespaces", () => {
  const modes = (ns: string) => judge(good, ns).matchedBy;
  for (const ns of ["giropops-senhas", "locust"]) {
    const matched = modes(ns);
    assert.ok(matched.length > 0 && matched.every((n) => !n.endsWith("-audit")), `${ns}: ${matched}`);
  }
  for (const ns of ["argocd", "monitoring", "traefik", "falco", "cert-manager"]) {
    const matched = modes(ns);
    assert.ok(matched.length > 0 && matched.every((n) => n.endsWith("-audit")), `${ns}: ${matched}`);
  }
  for (const ns of ["kube-system", "kube-public", "kube-node-lease", "kyverno", "local-path-storage"])
    assert.equal(modes(ns), [], ns);
});

test("the good fixture passes every policy as a Deployment, its Pod, a StatefulSet and a CronJob", () => {
  const statefulSet = { ...clone(good), kind: "StatefulSet", spec: { ...clone(good).spec, serviceName: "fixture" } };
  const cronJob = {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: { name: "fixture" },
    spec: { schedule: "@hourly", jobTemplate: { spec: { template: clone(good).spec.template } } },
  };
  for (const object of [good, podFromTemplate(good)!, statefulSet, cronJob])
    for (const ns of [APP_NAMESPACE, PLATFORM_NAMESPACE]) {
      const { failures, errors, matchedBy } = judge(object, ns);
      assert.ok(matchedBy.length > 0, `${object.kind} in ${ns} matched nothing`);
      assert.equal(errors, [], `${object.kind} in ${ns}`);
      assert.equal(failures, [], `${object.kind} in ${ns}`);
    }
});

test("image references are read the way the runtime resolves them", () => {
  const ok = [
    "redis:8.10.1",
    "docker.io/traefik:v3.7.11",
    "ghcr.io/giropops/giropops-senhas:dev",
    `ghcr.io/giropops/giropops-senhas@sha256:${"a".repeat(64)}`,
    `ghcr.io/giropops/giropops-senhas:1.0.0@sha256:${"b".repeat(64)}`,
    "locustio/locust:2.32.2",
  ];
  for (const image of ok) {
    const d = clone(good);
    app(d).image = image;
    assert.equal(judge(d, APP_NAMESPACE).failures, [], image);
  }
});

test("requests and limits are compared as quantities: the smallest and the largest allowed values pass", () => {
  for (const resources of [
    { requests: { cpu: "1m", memory: "1" }, limits: { cpu: "2", memory: "4Gi" } },
    { requests: { cpu: "0.001", memory: "1Ki" }, limits: { cpu: "2000m", memory: "4096Mi" } },
    { requests: { cpu: 1, memory: "1e6" }, limits: { cpu: 2, memory: "4294967296" } },
  ]) {
    const d = clone(good);
    app(d).resources = resources;
    const { failures, errors } = judge(d, APP_NAMESPACE, enforced);
    assert.equal(errors, [], JSON.stringify(resources));
    assert.equal(failures, [], JSON.stringify(resources));
  }
});

// One bad copy of the good fixture per validation: [policy, message, how to break it].
const BAD: Array<[string, string, (d: Obj) => void]> = [
  ["require-resources", "Every container must set resources.requests.cpu and resources.requests.memory.", (d) => delete app(d).resources.requests],
  ["require-resources", "Every container must set resources.requests.cpu and resources.requests.memory.", (d) => delete podSpec(d).initContainers[0].resources.requests.memory],
  ["require-resources", "Every container must set resources.limits.cpu and resources.limits.memory.", (d) => delete app(d).resources.limits.cpu],
  // A zero is BestEffort (requests) or no limit at all (limits), however it is written.
  ["require-resources", "Every container's CPU and memory requests and limits must be more than zero.", (d) => (app(d).resources.requests.cpu = "0")],
  ["require-resources", "Every container's CPU and memory requests and limits must be more than zero.", (d) => (app(d).resources.requests.memory = "0Mi")],
  ["require-resources", "Every container's CPU and memory requests and limits must be more than zero.", (d) => (app(d).resources.limits.cpu = 0)],
  ["require-resources", "Every container's CPU and memory requests and limits must be more than zero.", (d) => (podSpec(d).initContainers[0].resources.limits.memory = "0.0Gi")],
  ["require-resources", "Every container's CPU and memory requests and limits must be more than zero.", (d) => (app(d).resources = { requests: { cpu: "0m", memory: "0" }, limits: { cpu: "0", memory: "0e3" } })],
  // Limits past any node the platform supports, in every notation.
  ["require-resources", "No container may have limits above cpu 2 or memory 4Gi", (d) => (app(d).resources.limits.cpu = "1000")],
  ["require-resources", "No container may have limits above cpu 2 or memory 4Gi", (d) => (app(d).resources.limits.memory = "1Ei")],
  ["require-resources", "No container may have limits above cpu 2 or memory 4Gi", (d) => (app(d).resources.limits.cpu = "2001m")],
  ["require-resources", "No container may have limits above cpu 2 or memory 4Gi", (d) => (app(d).resources.limits.memory = "4097Mi")],
  ["require-resources", "No container may have limits above cpu 2 or memory 4Gi", (d) => (app(d).resources.limits.memory = "5G")],
  ["require-resources", "No container may have limits above cpu 2 or memory 4Gi", (d) => (podSpec(d).initContainers[0].resources.limits.cpu = "1e3")],
  ["require-non-root", "Containers must run as non-root (securityContext.runAsNonRoot true on the pod or on every container).", (d) => delete podSpec(d).securityContext.runAsNonRoot],
  ["require-non-root", "Containers must run as non-root (securityContext.runAsNonRoot true on the pod or on every container).", (d) => (app(d).securityContext.runAsNonRoot = false)],
  ["require-non-root", "Every container must set securityContext.allowPrivilegeEscalation to false.", (d) => (app(d).securityContext.allowPrivilegeEscalation = true)],
  ["require-non-root", "Every container must set securityContext.allowPrivilegeEscalation to false.", (d) => delete podSpec(d).initContainers[0].securityContext.allowPrivilegeEscalation],
  ["disallow-host-access", "Privileged containers are not allowed.", (d) => (app(d).securityContext.privileged = true)],
  ["disallow-host-access", "Containers may add no Linux capability other than NET_BIND_SERVICE.", (d) => (app(d).securityContext.capabilities.add = ["SYS_ADMIN"])],
  ["disallow-host-access", "Containers may add no Linux capability other than NET_BIND_SERVICE.", (d) => (app(d).securityContext.capabilities.add = ["NET_BIND_SERVICE", "NET_RAW"])],
  ["disallow-host-access", "Containers may add no Linux capability other than NET_BIND_SERVICE.", (d) => (podSpec(d).initContainers[0].securityContext.capabilities = { add: ["ALL"] })],
  ["disallow-host-access", "Containers may add no Linux capability other than NET_BIND_SERVICE.", (d) => (podSpec(d).initContainers[0].securityContext.capabilities.add = ["all"])],
  ["disallow-host-access", "hostPort is not allowed.", (d) => (app(d).ports[0].hostPort = 8080)],
  ["disallow-host-access", "hostPort is not allowed.", (d) => (podSpec(d).initContainers[0].ports = [{ containerPort: 6379, hostPort: 6379 }])],
  ["disallow-host-access", "hostPath volumes are not allowed.", (d) => podSpec(d).volumes.push({ name: "host", hostPath: { path: "/" } })],
  ["disallow-host-access", "hostNetwork is not allowed.", (d) => (podSpec(d).hostNetwork = true)],
  ["disallow-host-access", "hostPID and hostIPC are not allowed.", (d) => (podSpec(d).hostPID = true)],
  ["disallow-host-access", "hostPID and hostIPC are not allowed.", (d) => (podSpec(d).hostIPC = true)],
  ["disallow-latest-tag", "Every image must be pinned by a tag or a digest (untagged images mean latest).", (d) => (app(d).image = "quay.io/argoproj/argocd")],
  ["disallow-latest-tag", "The latest tag is not allowed; pin a version or a digest.", (d) => (app(d).image = "ghcr.io/giropops/giropops-senhas:latest")],
  ["disallow-latest-tag", "The latest tag is not allowed; pin a version or a digest.", (d) => (podSpec(d).initContainers[0].image = "redis:latest")],
  ["restrict-image-registries", "Images must come from the platform's registries", (d) => (app(d).image = "docker.io/library/nginx:1.29.0")],
  ["restrict-image-registries", "Images must come from the platform's registries", (d) => (app(d).image = "evil.example/giropops/giropops-senhas:1.0.0")],
  // The app is one repository, not the organisation (issue 21 point 3): the rest of ghcr.io/giropops is unsigned.
  ["restrict-image-registries", "Images must come from the platform's registries", (d) => (app(d).image = "ghcr.io/giropops/other-image:1.0.0")],
  ["restrict-image-registries", "Images must come from the platform's registries", (d) => (app(d).image = "ghcr.io/giropops/giropops-senhas-debug:1.0.0")],
  ["restrict-image-registries", "Images must come from the platform's registries", (d) => (podSpec(d).initContainers[0].image = "redis-evil/redis:8.10.1")],
  ["require-probes", "Every container of a Deployment or StatefulSet, native sidecars included, must have a livenessProbe and a readinessProbe.", (d) => delete app(d).readinessProbe],
  ["require-probes", "Every container of a Deployment or StatefulSet, native sidecars included, must have a livenessProbe and a readinessProbe.", (d) => delete app(d).livenessProbe],
  ["require-probes", "Every container of a Deployment or StatefulSet, native sidecars included, must have a livenessProbe and a readinessProbe.", (d) => (podSpec(d).initContainers[0].restartPolicy = "Always")],
  ["require-probes", "Every container of a Deployment or StatefulSet, native sidecars included, must have a livenessProbe and a readinessProbe.", (d) => podSpec(d).initContainers.push({ ...podSpec(d).initContainers[0], name: "sidecar", restartPolicy: "Always", readinessProbe: { exec: { command: ["true"] } } })],
];

test("every validation message has at least one bad fixture", () => {
  for (const policy of enforced)
    for (const v of policy.spec.validations)
      assert.ok(
        BAD.some(([name, message]) => name === policy.metadata.name && v.message.startsWith(message)),
        `${policy.metadata.name}: no bad fixture for «${v.message}»`,
      );
});

for (const [policyName, message, breakIt] of BAD) {
  test(`${policyName} denies: ${breakIt.toString().replace(/^\(d\) => /, "")}`, () => {
    const bad = clone(good);
    breakIt(bad);
    const wanted = (m: string) => m.startsWith(`${policyName}: ${message}`);
    const deny = judge(bad, APP_NAMESPACE, enforced);
    assert.equal(deny.errors, []);
    assert.ok(deny.failures.length > 0 && deny.failures.every(wanted), `denied with ${JSON.stringify(deny.failures)}`);
    // The same object in a platform namespace is reported by the -audit twin, not denied.
    const audit = judge(bad, PLATFORM_NAMESPACE);
    assert.equal(audit.errors, []);
    assert.ok(audit.failures.length > 0, "not reported in a platform namespace");
    assert.ok(audit.failures.every((m) => m.startsWith(`${policyName}-audit: ${message}`)), JSON.stringify(audit.failures));
    // Also as the bare Pod the controller would create (the probe rule only judges controllers).
    if (policyName !== "require-probes") {
      const pod = judge(podFromTemplate(bad)!, APP_NAMESPACE, enforced);
      assert.ok(pod.failures.length > 0 && pod.failures.every(wanted), `Pod: ${JSON.stringify(pod.failures)}`);
    }
  });
}

test("a native sidecar with both probes is admitted; a plain init container needs none", () => {
  const d = clone(good);
  podSpec(d).initContainers.push({ ...podSpec(d).initContainers[0], name: "sidecar", restartPolicy: "Always", livenessProbe: { exec: { command: ["true"] } }, readinessProbe: { exec: { command: ["true"] } } });
  assert.not.ok("livenessProbe" in podSpec(d).initContainers[0]);
  for (const kind of ["Deployment", "StatefulSet"]) {
    const { failures, errors } = judge({ ...d, kind }, APP_NAMESPACE, enforced);
    assert.equal(errors, [], kind);
    assert.equal(failures, [], kind);
  }
});

test("NET_BIND_SERVICE is the one capability a container may add; hostPort 0 means none", () => {
  const d = clone(good);
  app(d).securityContext.capabilities = { drop: ["ALL"], add: ["NET_BIND_SERVICE"] };
  app(d).ports[0].hostPort = 0;
  const { failures, errors } = judge(d, APP_NAMESPACE, enforced);
  assert.equal(errors, []);
  assert.equal(failures, []);
});

// `kubectl debug` adds an ephemeral container to a running Pod: an UPDATE of the
// pods/ephemeralcontainers subresource whose object is the whole Pod.
const DEBUGGER: Obj = {
  name: "debugger",
  image: "docker.io/library/redis:8.10.1",
  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ["ALL"] } },
};
function debugged(container: Obj) {
  const before = podFromTemplate(good)!;
  const after = clone(before);
  after.spec.ephemeralContainers = [container];
  return { after, request: { operation: "UPDATE", subresource: "ephemeralcontainers", oldObject: before } satisfies Request };
}

test("an ephemeral container that follows the rules is admitted, without resources or probes", () => {
  const { after, request } = debugged(DEBUGGER);
  for (const ns of [APP_NAMESPACE, PLATFORM_NAMESPACE]) {
    const verdict = judge(after, ns, policies, request);
    assert.ok(verdict.matchedBy.length > 0, `pods/ephemeralcontainers in ${ns} matched nothing`);
    assert.equal(verdict.errors, [], ns);
    assert.equal(verdict.failures, [], ns);
  }
});

// [policy, message, the ephemeral container]: each breaks one rule.
const BAD_DEBUGGERS: Array<[string, string, Obj]> = [
  ["disallow-latest-tag", "The latest tag is not allowed; pin a version or a digest.", { ...DEBUGGER, image: "docker.io/library/redis:latest" }],
  ["disallow-latest-tag", "Every image must be pinned by a tag or a digest (untagged images mean latest).", { ...DEBUGGER, image: "quay.io/argoproj/argocd" }],
  ["restrict-image-registries", "Images must come from the platform's registries", { ...DEBUGGER, image: "docker.io/library/busybox:1.37.0" }],
  ["require-non-root", "Containers must run as non-root", { ...DEBUGGER, securityContext: { ...DEBUGGER.securityContext, runAsNonRoot: false, runAsUser: 0 } }],
  ["require-non-root", "Every container must set securityContext.allowPrivilegeEscalation to false.", { ...DEBUGGER, securityContext: {} }],
  ["disallow-host-access", "Privileged containers are not allowed.", { ...DEBUGGER, securityContext: { ...DEBUGGER.securityContext, privileged: true } }],
  ["disallow-host-access", "Containers may add no Linux capability other than NET_BIND_SERVICE.", { ...DEBUGGER, securityContext: { ...DEBUGGER.securityContext, capabilities: { add: ["SYS_PTRACE"] } } }],
];

for (const [policyName, message, container] of BAD_DEBUGGERS) {
  test(`${policyName} denies the ephemeral container ${JSON.stringify(container)}`, () => {
    const { after, request } = debugged(container);
    const deny = judge(after, APP_NAMESPACE, enforced, request);
    assert.equal(deny.errors, []);
    assert.ok(deny.failures.length > 0 && deny.failures.every((m) => m.startsWith(`${policyName}: ${message}`)), JSON.stringify(deny.failures));
    const audit = judge(after, PLATFORM_NAMESPACE, audited, request);
    assert.ok(audit.failures.length > 0 && audit.failures.every((m) => m.startsWith(`${policyName}-audit: ${message}`)), JSON.stringify(audit.failures));
  });
}

test("the pods rule names the subresource: plain \"pods\" would not match kubectl debug", () => {
  const { after, request } = debugged({ ...DEBUGGER, image: "docker.io/library/busybox:latest" });
  const policy = structuredClone(enforced.find((p) => p.metadata.name === "disallow-latest-tag")!);
  assert.ok(admit(policy, after, APP_NAMESPACE, [], request).matched);
  for (const rule of policy.spec.matchConstraints.resourceRules) rule.resources = rule.resources.filter((r: string) => r !== "pods/ephemeralcontainers");
  assert.is(admit(policy, after, APP_NAMESPACE, [], request).matched, false);
});

test("a bare ReplicaSet is skipped by Kyverno's resource filter, its Pods are not", () => {
  const replicaSet = { ...clone(good), kind: "ReplicaSet" };
  app(replicaSet).image = "docker.io/library/busybox:latest";
  for (const policy of policies) {
    const verdict = admit(policy, replicaSet, APP_NAMESPACE, exceptions);
    assert.equal(verdict, { matched: false, reason: "Kyverno's resource filter [ReplicaSet,*,*] skips it" }, policy.metadata.name);
  }
  const pod = judge(podFromTemplate(replicaSet)!, APP_NAMESPACE, enforced);
  assert.ok(pod.failures.some((f) => f.startsWith("disallow-latest-tag:")) && pod.failures.some((f) => f.startsWith("restrict-image-registries:")), JSON.stringify(pod.failures));
  // The same filters skip everything in kube-system.
  assert.match(JSON.stringify(admit(enforced[0]!, podFromTemplate(good)!, "kube-system")), /resource filter \[\*\/\*,kube-system,\*\]/);
});

test("a PolicyException outside the kyverno namespace exempts nothing", () => {
  const policy = enforced.find((p) => p.metadata.name === "disallow-latest-tag")!;
  const latest = clone(good);
  app(latest).image = "ghcr.io/giropops/giropops-senhas:latest";
  const exception = (namespace: string) => ({
    apiVersion: "policies.kyverno.io/v1",
    kind: "PolicyException",
    metadata: { name: "anything-goes", namespace },
    spec: { policyRefs: [{ name: "disallow-latest-tag", kind: "ValidatingPolicy" }], matchConditions: [{ name: "all", expression: "true" }] },
  });
  assert.is(admit(policy, latest, APP_NAMESPACE, [exception("kyverno")]).matched, false);
  const verdict = admit(policy, latest, APP_NAMESPACE, [exception(APP_NAMESPACE)]);
  assert.ok(verdict.matched && verdict.failures.length === 1, JSON.stringify(verdict));
});

test("a privileged CronJob is denied through spec.jobTemplate", () => {
  const template = clone(good).spec.template;
  template.spec.containers[0].securityContext.privileged = true;
  const cronJob = { apiVersion: "batch/v1", kind: "CronJob", metadata: { name: "x" }, spec: { schedule: "@daily", jobTemplate: { spec: { template } } } };
  assert.equal(judge(cronJob, APP_NAMESPACE, enforced).failures, ["disallow-host-access: Privileged containers are not allowed."]);
});

test("only Falco's sensor, the node exporter and the chaos daemon are exempt from the host rules, only in their namespaces", () => {
  const hosty = (labels: Obj) => {
    const d = clone(good);
    d.kind = "DaemonSet";
    d.metadata.labels = labels;
    app(d).securityContext.privileged = true;
    podSpec(d).hostNetwork = true;
    podSpec(d).volumes.push({ name: "proc", hostPath: { path: "/proc" } });
    return d;
  };
  const hostRule = (failures: string[]) => failures.filter((f) => f.startsWith("disallow-host-access-audit:"));
  assert.equal(hostRule(judge(hosty({ "app.kubernetes.io/name": "falco" }), "falco").failures), []);
  assert.equal(hostRule(judge(hosty({ "app.kubernetes.io/name": "prometheus-node-exporter" }), "monitoring").failures), []);
  assert.equal(hostRule(judge(hosty({ "app.kubernetes.io/component": "chaos-daemon" }), "chaos-mesh").failures), []);
  assert.is(hostRule(judge(hosty({ "app.kubernetes.io/component": "chaos-daemon" }), "monitoring").failures).length, 3);
  assert.is(hostRule(judge(hosty({ "app.kubernetes.io/name": "falco" }), "monitoring").failures).length, 3);
  assert.is(hostRule(judge(hosty({ "app.kubernetes.io/name": "something" }), "falco").failures).length, 3);
  // The carve-out is for the host rules: the sensor's resources are still checked.
  const sensor = hosty({ "app.kubernetes.io/name": "falco" });
  delete app(sensor).resources;
  assert.ok(judge(sensor, "falco").failures.some((f) => f.startsWith("require-resources-audit:")));
  // And an app namespace has no carve-out at all.
  assert.is(judge(hosty({ "app.kubernetes.io/name": "falco" }), APP_NAMESPACE, enforced).failures.filter((f) => f.startsWith("disallow-host-access:")).length, 3);
});

const workloads = repoWorkloads();

test("this repo renders workloads to check", () => {
  assert.ok(workloads.length > 0, "no Pod-bearing object rendered from this repo");
});

for (const { source, object, namespace } of workloads) {
  test(`${source}: ${object.kind}/${object.metadata?.name} in ${namespace} passes every policy`, () => {
    for (const candidate of [object, podFromTemplate(object)].filter((o): o is Obj => Boolean(o))) {
      const { failures, errors } = judge(candidate, namespace);
      assert.equal(errors, [], `${candidate.kind}: evaluation errors`);
      assert.equal(failures, [], `${candidate.kind}: denied or reported`);
    }
  });
}

test.run();
