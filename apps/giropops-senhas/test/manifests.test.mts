// The kustomize bases render, and every workload meets the platform's rules.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

type Obj = { apiVersion: string; kind: string; metadata: { name: string; namespace?: string; labels?: Record<string, string> }; spec?: any };

const here = join(import.meta.dirname, "..");
const render = (base: string): Obj[] =>
  parseAllDocuments(execFileSync("kubectl", ["kustomize", join(here, "deploy", base)], { encoding: "utf8" })).map((doc) => doc.toJS() as Obj);
const app = render("app");
const redis = render("redis");
const find = (objs: Obj[], kind: string) => {
  const found = objs.find((o) => o.kind === kind);
  assert.ok(found, `${kind} rendered`);
  return found!;
};

test("both bases render into namespace giropops-senhas with the platform label", () => {
  assert.equal(app.map((o) => o.kind).sort(), ["Deployment", "HTTPRoute", "HorizontalPodAutoscaler", "NetworkPolicy", "PodDisruptionBudget", "Service", "ServiceMonitor"]);
  assert.equal(redis.map((o) => o.kind).sort(), ["ConfigMap", "NetworkPolicy", "Service", "StatefulSet"]);
  for (const o of [...app, ...redis]) {
    assert.is(o.metadata.namespace, "giropops-senhas", `${o.kind}/${o.metadata.name}`);
    assert.is(o.metadata.labels?.["app.kubernetes.io/part-of"], "giropops-platform", `${o.kind}/${o.metadata.name}`);
  }
  assert.not.ok([...app, ...redis].some((o) => o.kind === "Secret"), "no Secret in git");
});

test("every container: pinned image, requests+limits, probes, non-root, read-only root, no privilege escalation, drop ALL, RuntimeDefault", () => {
  for (const workload of [find(app, "Deployment"), find(redis, "StatefulSet")]) {
    const pod = workload.spec.template.spec;
    assert.is(pod.securityContext.runAsNonRoot, true);
    assert.is(pod.securityContext.seccompProfile.type, "RuntimeDefault");
    for (const c of pod.containers) {
      const where = `${workload.kind}/${c.name}`;
      assert.match(c.image, /:[\w.-]+(@sha256:[0-9a-f]{64})?$/, `${where} image tag`);
      assert.not.match(c.image, /:latest\b/, `${where} not latest`);
      for (const kind of ["requests", "limits"]) for (const r of ["cpu", "memory"]) assert.ok(c.resources?.[kind]?.[r], `${where} ${kind}.${r}`);
      assert.ok(c.livenessProbe && c.readinessProbe, `${where} probes`);
      const sc = c.securityContext;
      assert.is(sc.runAsNonRoot, true, where);
      assert.is(sc.readOnlyRootFilesystem, true, where);
      assert.is(sc.allowPrivilegeEscalation, false, where);
      assert.equal(sc.capabilities.drop, ["ALL"], where);
      assert.is(sc.seccompProfile.type, "RuntimeDefault", where);
    }
  }
});

test("the app keeps its interfaces: port 8080 named http, probes, Redis env from Secret redis-auth, drain fits the grace period", () => {
  const deployment = find(app, "Deployment");
  const pod = deployment.spec.template.spec;
  const [c] = pod.containers;
  assert.is(deployment.spec.replicas, 3);
  assert.equal(c.ports, [{ name: "http", containerPort: 8080, protocol: "TCP" }]);
  assert.is(c.securityContext.runAsUser, 65532);
  assert.is(c.readinessProbe.httpGet.path, "/readyz");
  assert.is(c.livenessProbe.httpGet.path, "/healthz");
  const env = Object.fromEntries(c.env.map((e: any) => [e.name, e]));
  assert.is(env.REDIS_URL.value, "redis://redis:6379");
  assert.equal(env.REDIS_PASSWORD.valueFrom.secretKeyRef, { name: "redis-auth", key: "password" });
  const drainSeconds = c.lifecycle.preStop.sleep.seconds + Number(env.SHUTDOWN_TIMEOUT_MS.value) / 1000 + Number(env.SHUTDOWN_DELAY_MS.value) / 1000;
  assert.ok(drainSeconds < pod.terminationGracePeriodSeconds, `drain ${drainSeconds}s < grace ${pod.terminationGracePeriodSeconds}s`);
  assert.ok(pod.topologySpreadConstraints.some((t: any) => t.topologyKey === "kubernetes.io/hostname"));

  const hpa = find(app, "HorizontalPodAutoscaler");
  assert.equal([hpa.spec.minReplicas, hpa.spec.maxReplicas, hpa.spec.metrics[0].resource.name], [3, 10, "cpu"]);
  const route = find(app, "HTTPRoute");
  assert.is(route.apiVersion, "gateway.networking.k8s.io/v1");
  assert.equal(route.spec.parentRefs, [{ name: "platform", namespace: "traefik", sectionName: "websecure" }]);
  assert.equal(route.spec.hostnames, ["senhas.localhost"]);
  assert.equal(route.spec.rules[0].backendRefs, [{ name: "giropops-senhas", port: 8080 }]);
  // Gateway API path matching (Exact; PathPrefix element by element): the public
  // route carries the page, the API and the assets, never /metrics or the probes.
  const matches: Array<{ path: { type: string; value: string } }> = route.spec.rules.flatMap((rule: any) => rule.matches);
  const routed = (path: string) =>
    matches.some(({ path: { type, value } }) =>
      type === "Exact" ? path === value : type === "PathPrefix" ? value === "/" || path === value || path.startsWith(`${value.replace(/\/$/, "")}/`) : false,
    );
  for (const path of ["/", "/api/gerar-senha", "/api/senhas", "/static/styles.css"]) assert.ok(routed(path), `${path} is public`);
  for (const path of ["/metrics", "/healthz", "/readyz", "/apix", "/metrics/"]) assert.not.ok(routed(path), `${path} is not public`);
  const monitor = find(app, "ServiceMonitor");
  assert.is(monitor.apiVersion, "monitoring.coreos.com/v1");
  assert.equal(monitor.spec.endpoints[0].port, "http");
  const service = find(app, "Service");
  assert.equal(service.spec.selector, monitor.spec.selector.matchLabels);
  const policy = find(app, "NetworkPolicy");
  const namespaces = policy.spec.ingress[0].from.map((f: any) => f.namespaceSelector.matchLabels["kubernetes.io/metadata.name"]).sort();
  assert.equal(namespaces, ["locust", "monitoring", "traefik"]);
});

test("Redis: PVC without storage class, AOF everysec, password only from the Secret, only app pods may connect", () => {
  const sts = find(redis, "StatefulSet");
  const [claim] = sts.spec.volumeClaimTemplates;
  assert.is(claim.metadata.name, "data");
  assert.is(claim.spec.storageClassName, undefined);
  const [c] = sts.spec.template.spec.containers;
  assert.match(c.image, /^docker\.io\/library\/redis:8\.10\.1(-alpine)?@sha256:[0-9a-f]{64}$/);
  assert.equal(c.env.find((e: any) => e.name === "REDISCLI_AUTH").valueFrom.secretKeyRef, { name: "redis-auth", key: "password" });
  assert.not.match(JSON.stringify(c.command), /--requirepass/, "no password on the command line");
  const conf = readFileSync(join(here, "deploy/redis/redis.conf"), "utf8");
  assert.match(conf, /^appendonly yes$/m);
  assert.match(conf, /^appendfsync everysec$/m);
  assert.match(conf, /^dir \/data$/m);
  assert.equal(find(redis, "Service").metadata.name, "redis");
  const policy = find(redis, "NetworkPolicy");
  assert.equal(policy.spec.ingress, [{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "giropops-senhas" } } }], ports: [{ port: "redis", protocol: "TCP" }] }]);
});

test("the Redis start script renders the password into a file and refuses unsafe or empty ones", () => {
  const [c] = find(redis, "StatefulSet").spec.template.spec.containers;
  const script: string = c.command[2];
  const run = (password: string) => {
    // Same script, with the paths pointed at a temp dir and redis-server replaced by `cat` of the rendered file.
    const dir = execFileSync("mktemp", ["-d"], { encoding: "utf8" }).trim();
    const patched = script.replaceAll("/run/redis", dir).replace(/exec redis-server .*/, `cat ${dir}/auth.conf; rm -r ${dir}`);
    try {
      return { ok: true, out: execFileSync("sh", ["-c", patched], { env: { PATH: process.env.PATH, REDISCLI_AUTH: password }, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }) };
    } catch (error) {
      execFileSync("rm", ["-rf", dir]);
      return { ok: false, out: String((error as { stderr?: string }).stderr) };
    }
  };
  assert.equal(run("Abc123-_xyz"), { ok: true, out: 'requirepass "Abc123-_xyz"\n' });
  for (const bad of ["", 'a"b', "a\\b"]) {
    const result = run(bad);
    assert.is(result.ok, false, JSON.stringify(bad));
    assert.match(result.out, /must be set and contain no quote or backslash/);
  }
});

test("Dockerfile: digest-pinned bases, production deps of this workspace only, non-root, runs the .mts entry point", () => {
  const dockerfile = readFileSync(join(here, "Dockerfile"), "utf8");
  const bases = [...dockerfile.matchAll(/^ARG \w+_IMAGE=(\S+)$/gm)].map((m) => m[1]!);
  assert.is(bases.length, 2);
  for (const image of bases) assert.match(image, /^[\w./-]+:[\w.-]+@sha256:[0-9a-f]{64}$/, image);
  assert.match(dockerfile, /npm ci --omit=dev --workspace giropops-senhas/);
  assert.match(dockerfile, /^FROM --platform=\$BUILDPLATFORM /m);
  assert.match(dockerfile, /^USER 65532:65532$/m);
  const cmd = JSON.parse(dockerfile.match(/^CMD (\[.*\])$/m)![1]!) as string[];
  assert.is(cmd.at(-1), "apps/giropops-senhas/src/server.mts");
  // Everything the image COPYs from the context is let through by the Dockerfile's ignore file.
  const ignore = readFileSync(join(here, "Dockerfile.dockerignore"), "utf8");
  for (const path of ["package.json", "package-lock.json", "apps/giropops-senhas/package.json", "apps/giropops-senhas/src/"]) {
    assert.ok(ignore.split("\n").includes(`!${path}`), `${path} allowed into the build context`);
    assert.ok(dockerfile.includes(`COPY ${path.replace(/\/$/, "")}`) || dockerfile.includes(`COPY package.json package-lock.json`), path);
  }
});

test.run();
