// runChaos drives a cluster: an in-memory one here that answers like the
// Kubernetes API (pods replaced while the pod-kill Schedule exists, a new
// redis-0 after the PodChaos), a fake clock, and the real `kubectl kustomize`
// of gitops/chaos/experiments, so what is created is what git holds.
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { loadConfig } from "../../scripts/lib/config.mts";
import { createRunner } from "../../scripts/lib/runner.mts";
import { FAILURES_MARKER, runChaos } from "../../scripts/lib/verify/chaos.mts";
import type { KubeApi, KubeMethod, KubeResponse, VerifyContext } from "../../scripts/lib/verify/checks.mts";
import { CSV_MARKER } from "../../scripts/lib/verify/locust.mts";

const REPO = join(import.meta.dirname, "../..");
const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures/locust-2.12", name), "utf8");
type Obj = Record<string, any>;

type Scenario = {
  chaosMesh?: boolean;
  /** Locust run recorded for each phase. */
  load?: { app: string; redis: string };
  /** Passwords Redis lists after its restart (before it: c, b, a). */
  afterRestart?: string[];
  redisComesBack?: boolean;
};

function fakeCluster(scenario: Scenario) {
  const calls: string[] = [];
  const experiments = new Map<string, Obj>();
  const jobs = new Map<string, { tag: string }>();
  let next = 0;
  const uid = (prefix: string) => `${prefix}-${++next}`;
  let appPods = [uid("app"), uid("app"), uid("app")];
  let redisPod = uid("redis");
  let redisRestarted = false;
  const pod = (name: string, id: string) => ({ metadata: { name, uid: id }, status: { phase: "Running", conditions: [{ type: "Ready", status: "True" }] } });
  const ok = (body: unknown): KubeResponse => ({ status: 200, body, text: typeof body === "string" ? body : JSON.stringify(body) });
  const notFound: KubeResponse = { status: 404, body: { message: "not found" }, text: "" };

  const kube: KubeApi = {
    server: "https://fake",
    async request(method: KubeMethod, path: string, options = {}) {
      calls.push(`${method} ${path}`);
      const experiment = /^\/apis\/chaos-mesh\.org\/v1alpha1\/namespaces\/chaos-mesh\/(\w+)(?:\/([\w-]+))?$/.exec(path);
      if (path === "/apis/chaos-mesh.org/v1alpha1") return scenario.chaosMesh === false ? notFound : ok({ kind: "APIResourceList" });
      if (experiment) {
        const key = `${experiment[1]}/${experiment[2] ?? (options.body as Obj)?.metadata?.name}`;
        if (method === "POST") return experiments.set(key, options.body as Obj), { status: 201, body: options.body, text: "" };
        if (method === "DELETE") return experiments.delete(key) ? ok({}) : notFound;
        return experiments.has(key) ? ok(experiments.get(key)) : notFound;
      }
      if (path === "/apis/batch/v1/namespaces/locust/cronjobs/locust-headless") {
        return ok({ spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: "locust", args: ["-f", "/locust/locustfile.py", "--headless", "--users", "20", "--run-time", "60s"] }] } } } } } });
      }
      if (path === "/apis/batch/v1/namespaces/locust/jobs" && method === "POST") {
        const job = options.body as Obj;
        jobs.set(job.metadata.name, { tag: job.metadata.name.includes("redis") ? "redis" : "app" });
        return { status: 201, body: job, text: "" };
      }
      const job = /^\/apis\/batch\/v1\/namespaces\/locust\/jobs\/([\w-]+)$/.exec(path);
      if (job) return method === "DELETE" ? ok({}) : ok({ status: { succeeded: 1 } });
      if (path === "/api/v1/namespaces/locust/pods") return ok({ items: [{ metadata: { name: `${options.query?.labelSelector?.slice(9)}-pod` }, status: { phase: "Running" } }] });
      const log = /^\/api\/v1\/namespaces\/locust\/pods\/([\w-]+)-pod\/log$/.exec(path);
      if (log) {
        const run = scenario.load?.[jobs.get(log[1]!)!.tag as "app" | "redis"] ?? "steady";
        return ok(`Locust summary...\n${CSV_MARKER}\n${fixture(`${run}_stats.csv`)}${FAILURES_MARKER}\n${fixture(`${run}_failures.csv`)}`);
      }
      if (path === "/api/v1/namespaces/giropops-senhas/pods") {
        if (options.query?.labelSelector === "app.kubernetes.io/name=giropops-senhas") {
          // While the Schedule exists, every look finds one pod replaced.
          if (experiments.has("schedules/app-pod-kill")) appPods = [...appPods.slice(1), uid("app")];
          return ok({ items: appPods.map((id, i) => pod(`giropops-senhas-${i}`, id)) });
        }
        if (options.query?.labelSelector === "app.kubernetes.io/name=redis") {
          if (experiments.has("podchaos/redis-pod-kill") && !redisRestarted && scenario.redisComesBack !== false) (redisPod = uid("redis")), (redisRestarted = true);
          return ok({ items: [pod("redis-0", redisPod)] });
        }
      }
      if (path === "/apis/apps/v1/namespaces/giropops-senhas/deployments/giropops-senhas") {
        return ok({ spec: { template: { spec: { containers: [{ env: [{ name: "SENHAS_LIST_CAP", value: "1000" }] }] } } } });
      }
      if (path === "/apis/apps/v1/namespaces/giropops-senhas/statefulsets/redis") {
        return ok({
          metadata: { name: "redis" },
          spec: { template: { spec: { containers: [{ name: "redis", command: ["redis-server", "/etc/redis/redis.conf"], volumeMounts: [{ name: "config", mountPath: "/etc/redis" }] }], volumes: [{ name: "config", configMap: { name: "redis-config-abc" } }] } } },
        });
      }
      if (path === "/api/v1/namespaces/giropops-senhas/configmaps") return ok({ items: [{ metadata: { name: "redis-config-abc" }, data: { "redis.conf": "appendonly yes\nappendfsync everysec\n" } }] });
      return notFound;
    },
    async exec(namespace, podName, container, command) {
      calls.push(`EXEC ${namespace}/${podName}/${container} ${command.join(" ")}`);
      const list = redisRestarted ? (scenario.afterRestart ?? ["d", "c", "b", "a"]) : ["c", "b", "a"];
      return { stdout: list.map((s) => `${s}\n`).join(""), stderr: "", exitCode: 0 };
    },
  };
  return { kube, calls, experiments };
}

function context(kube: KubeApi): VerifyContext {
  let now = Date.parse("2026-11-23T12:00:00Z");
  return {
    config: loadConfig({ env: {} }),
    kube,
    http: async () => ({ status: 200, headers: {}, text: "" }),
    runner: createRunner(),
    clock: { now: () => now, sleep: async (ms) => void (now += ms) },
    repoRoot: REPO,
    url: (name) => `http://${name}.localhost`,
    kubectl: (...args) => ["kubectl", ...args].join(" "),
    progress: () => {},
    options: { locustSeconds: 60, roundtripTimeoutMs: 300_000 },
  };
}

test("a healthy run passes both gates and leaves no experiment behind", async () => {
  const cluster = fakeCluster({});
  const results = await runChaos(context(cluster.kube));
  assert.equal(results.map((r) => [r.name, r.status]), [
    ["chaos-slo", "pass"],
    ["chaos-durability", "pass"],
  ]);
  assert.match(results[0]!.summary, /^100\.000% available while \d+ app pods were killed/);
  assert.ok(results[0]!.evidence.some((l) => l.includes("one every 30s")), results[0]!.evidence.join("\n"));
  assert.match(results[1]!.summary, /all 3 passwords listed before the Redis restart are still listed after it/);
  assert.ok(results[1]!.evidence.some((l) => l.startsWith("bound: AOF, fsync everysec")));
  assert.equal(cluster.experiments.size, 0, "experiments deleted");
  // Created from git, in this order.
  const posts = cluster.calls.filter((c) => c.startsWith("POST /apis/chaos-mesh.org"));
  assert.equal(posts, ["POST /apis/chaos-mesh.org/v1alpha1/namespaces/chaos-mesh/schedules", "POST /apis/chaos-mesh.org/v1alpha1/namespaces/chaos-mesh/podchaos"]);
  const report = readFileSync(join(REPO, ".artifacts/chaos/report.md"), "utf8");
  assert.match(report, /## chaos-slo: PASS/);
  assert.ok(existsSync(join(REPO, ".artifacts/chaos/app-pod-kill_stats.csv")));
});

test("errors under pod kills fail the SLO gate; a lost password fails the durability gate", async () => {
  const cluster = fakeCluster({ load: { app: "redis-outage", redis: "redis-outage" }, afterRestart: ["d", "b", "a"] });
  const [slo, durability] = await runChaos(context(cluster.kube));
  assert.equal(slo!.status, "fail");
  assert.match(slo!.summary, /availability fell to 89\.085%/);
  assert.equal(durability!.status, "fail");
  assert.equal(durability!.summary, "1 of 3 passwords written before the Redis restart are gone");
});

test("the Redis snapshot is taken before the deletion and read again after Redis is back", async () => {
  const cluster = fakeCluster({});
  await runChaos(context(cluster.kube));
  const order = cluster.calls.filter((c) => c.startsWith("EXEC") || c.includes("/podchaos"));
  const firstExec = order.findIndex((c) => c.startsWith("EXEC"));
  const create = order.indexOf("POST /apis/chaos-mesh.org/v1alpha1/namespaces/chaos-mesh/podchaos");
  const lastExec = order.findLastIndex((c) => c.startsWith("EXEC"));
  assert.ok(firstExec < create && create < lastExec, order.join("\n"));
  assert.match(order[firstExec]!, /redis-0\/redis redis-cli --raw LRANGE senhas 0 -1/);
});

test("a Redis that never comes back fails the gate and still deletes the experiment", async () => {
  const cluster = fakeCluster({ redisComesBack: false });
  const [, durability] = await runChaos(context(cluster.kube));
  assert.equal(durability!.status, "fail");
  assert.match(durability!.summary, /could not be run: Redis was not Ready again within 180 s/);
  assert.equal(cluster.experiments.size, 0);
});

test("verify's chaos time sets how long app pods are killed", async () => {
  const cluster = fakeCluster({});
  const ctx = context(cluster.kube);
  const [slo] = await runChaos({ ...ctx, options: { ...ctx.options, chaosSeconds: 60 } });
  assert.ok(slo!.evidence.some((l) => l.includes("one every 30s for 1 min")), slo!.evidence.join("\n"));
});

test("without Chaos Mesh the run says how to enable it", async () => {
  const results = await runChaos(context(fakeCluster({ chaosMesh: false }).kube));
  assert.equal(results.length, 1);
  assert.equal(results[0]!.status, "fail");
  assert.match(results[0]!.hint!, /"- \.\.\/\.\.\/gitops\/chaos" to the resources of clusters\/kind\/kustomization\.yaml/);
});

test.run();
