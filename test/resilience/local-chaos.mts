// Chaos under load on this machine, no cluster: the app's 3 replicas as
// processes behind a tiny L4 round-robin proxy that behaves like a Service
// (kube-proxy): a connection stays on the backend it was given, and the
// "endpoints" are the backends the readiness probe (the Deployment's: every
// 5 s, out after 2 failures, in after 1 success) finds ready and that are not
// being deleted. Redis runs with the shipped persistence settings.
//
// - runLocalChaos: pod deletions replayed as Kubernetes does them: endpoint
//   removal reaching the proxy 1 s later while preStop sleeps, then SIGTERM
//   (the app drains), and a replacement starting at once.
// - runLocalRedisRestart: Redis stopped (SIGTERM, as on pod deletion) and
//   started again on the same data after `downSeconds`; the stored passwords
//   are compared before and after, as verify --chaos does in a cluster.
// Locust (Debian's 2.12) sends the locustfile's traffic; the runs are judged
// with the same functions as verify --chaos.
//
// A measurement, not a test (a run takes minutes). Before the app answered
// "Connection: close" while draining, it lost a request every 8-12 deletions
// here (keep-alive race at close); since then, 21 deletions in 120 s lost none.
//
//   node test/resilience/local-chaos.mts pods [seconds=60] [killEverySeconds=10]
//   node test/resilience/local-chaos.mts redis [seconds=40] [downSeconds=5]
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { redisClient, startProcess, type ServerProcess } from "../../apps/giropops-senhas/test/harness.mts";
import { freePort, startRedis, type RedisServer } from "../../apps/giropops-senhas/test/redis-server.mts";
import { LIST_KEY } from "../../apps/giropops-senhas/src/store.mts";
import {
  availabilityLines,
  availabilityReport,
  durabilityLines,
  durabilityReport,
  parseLocustFailures,
  parseLocustStats,
  type AvailabilityReport,
  type DurabilityReport,
} from "../../scripts/lib/verify/chaos-report.mts";
import { durabilityBound, redisPersistence, toArgs } from "../../scripts/lib/verify/chaos-redis.mts";
import { kustomize } from "../lib/render.mts";

const REPO = join(import.meta.dirname, "../..");
const PASSWORD = "local-chaos-password";
// kube-proxy learns of a deleted pod's endpoint removal about this late; preStop covers it.
const ENDPOINT_PROPAGATION_MS = 1_000;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Backend = { process: ServerProcess; port: number; ready: boolean; deleted: boolean; failures: number };

/** The Deployment's values that shape a deletion and a probe. */
function shippedPod() {
  const deployment = kustomize("apps/giropops-senhas/deploy/app").map((r) => r.object).find((o) => o.kind === "Deployment")!;
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = Object.fromEntries((container.env ?? []).filter((e: any) => typeof e.value === "string").map((e: any) => [e.name, e.value]));
  delete env.PORT;
  const probe = container.readinessProbe ?? {};
  return {
    preStopSeconds: Number(container.lifecycle?.preStop?.sleep?.seconds ?? 0),
    env,
    replicas: Number(deployment.spec.replicas ?? 1),
    probe: { periodMs: Number(probe.periodSeconds ?? 10) * 1000, timeoutMs: Number(probe.timeoutSeconds ?? 1) * 1000, failureThreshold: Number(probe.failureThreshold ?? 3) },
  };
}

type Platform = {
  pod: ReturnType<typeof shippedPod>;
  redis: RedisServer;
  proxyPort: number;
  /** Deletes the oldest endpoint's pod the Kubernetes way and starts its replacement. */
  deletePod(): Promise<void>;
  close(): Promise<void>;
};

async function startPlatform(options: { preStopSeconds?: number } = {}): Promise<Platform> {
  const pod = shippedPod();
  if (options.preStopSeconds !== undefined) pod.preStopSeconds = options.preStopSeconds;
  const persistence = redisPersistence(kustomize("apps/giropops-senhas/deploy/redis").map((r) => r.object));
  const redis = await startRedis({ password: PASSWORD, args: toArgs(persistence.directives) });
  const env = { ...pod.env, REDIS_URL: redis.url, REDIS_PASSWORD: PASSWORD, LOG_LEVEL: "warn" };
  const backends: Backend[] = [];
  const pending: Promise<unknown>[] = [];
  const start = async () => {
    const process = await startProcess(env);
    backends.push({ process, port: Number(new URL(process.base).port), ready: true, deleted: false, failures: 0 });
  };

  // The readiness probe, per backend, as the kubelet runs it.
  let probing = true;
  const probeLoop = (async () => {
    while (probing) {
      await Promise.all(
        backends.filter((b) => !b.deleted).map(async (b) => {
          const ok = await fetch(`${b.process.base}/readyz`, { signal: AbortSignal.timeout(pod.probe.timeoutMs) }).then((r) => r.ok, () => false);
          b.failures = ok ? 0 : b.failures + 1;
          if (ok) b.ready = true;
          else if (b.failures >= pod.probe.failureThreshold) b.ready = false;
        }),
      );
      await sleep(pod.probe.periodMs);
    }
  })();

  let next = 0;
  const proxyPort = await freePort();
  const proxy: Server = await new Promise((resolve) => {
    const server = createServer((client: Socket) => {
      const endpoints = backends.filter((b) => b.ready);
      const backend = endpoints.length ? endpoints[next++ % endpoints.length] : undefined;
      if (!backend) return client.destroy(); // no endpoints: refused, as a Service without endpoints
      const upstream = connect({ port: backend.port, host: "127.0.0.1" });
      client.pipe(upstream).pipe(client);
      const close = () => (client.destroy(), upstream.destroy());
      client.on("error", close).on("close", close);
      upstream.on("error", close).on("close", close);
    });
    server.listen(proxyPort, "127.0.0.1", () => resolve(server));
  });
  for (let i = 0; i < pod.replicas; i++) await start();

  return {
    pod,
    redis,
    proxyPort,
    async deletePod() {
      const victim = backends.find((b) => b.ready && !b.deleted)!;
      victim.deleted = true;
      // From the deletion on, two clocks run at once: the endpoint removal
      // reaching the proxy, and preStop then SIGTERM.
      pending.push(
        sleep(ENDPOINT_PROPAGATION_MS).then(() => (victim.ready = false)),
        sleep(pod.preStopSeconds * 1000).then(async () => {
          victim.process.child.kill("SIGTERM");
          await victim.process.exited;
        }),
      );
      await start();
    },
    async close() {
      await Promise.all(pending);
      probing = false;
      await probeLoop;
      proxy.close();
      for (const b of backends) await b.process.stop();
      await redis.dispose();
    },
  };
}

/** Locust headless for `seconds`; resolves with the run judged like verify's. */
function runLocust(proxyPort: number, seconds: number, name: string): { done: Promise<AvailabilityReport>; failures: () => string[] } {
  const dir = join(REPO, ".artifacts", "local-chaos");
  mkdirSync(dir, { recursive: true });
  const prefix = join(dir, name);
  const locust = spawn(
    "locust",
    ["-f", join(REPO, "apps/locust/locustfile.py"), "--headless", "-u", "20", "-r", "10", "-t", `${seconds}s`, "--host", `http://127.0.0.1:${proxyPort}`, "--csv", prefix, "--only-summary", "--loglevel", "ERROR"],
    { stdio: "ignore" },
  );
  const read = (suffix: string) => readFileSync(`${prefix}_${suffix}.csv`, "utf8");
  return {
    done: new Promise((resolve, reject) => {
      locust.once("error", reject);
      locust.once("exit", () => {
        try {
          resolve(availabilityReport({ stats: parseLocustStats(read("stats")), failures: parseLocustFailures(read("failures")), durationSeconds: seconds }));
        } catch (error) {
          reject(error);
        }
      });
    }),
    failures: () => parseLocustFailures(read("failures")).map((f) => `failure x${f.occurrences}: ${f.name}: ${f.error.slice(0, 140)}`),
  };
}

export type LocalChaosResult = { report: AvailabilityReport; kills: number; lines: string[] };

export async function runLocalChaos(seconds: number, killEverySeconds: number, options: { preStopSeconds?: number } = {}): Promise<LocalChaosResult> {
  const platform = await startPlatform(options);
  let kills = 0;
  try {
    const locust = runLocust(platform.proxyPort, seconds, "pods");
    const until = Date.now() + (seconds - killEverySeconds) * 1000;
    await sleep(killEverySeconds * 1000);
    while (Date.now() < until) {
      await platform.deletePod();
      kills++;
      await sleep(killEverySeconds * 1000);
    }
    const report = await locust.done;
    const lines = [
      `app pods deleted: ${kills} (one every ${killEverySeconds} s; endpoints out after 1 s, preStop ${platform.pod.preStopSeconds} s, SIGTERM drain)`,
      ...availabilityLines(report),
      ...locust.failures(),
    ];
    return { report, kills, lines };
  } finally {
    await platform.close();
  }
}

export type LocalRedisResult = { report: AvailabilityReport; durability: DurabilityReport; lines: string[] };

export async function runLocalRedisRestart(seconds: number, downSeconds: number): Promise<LocalRedisResult> {
  const platform = await startPlatform();
  try {
    const locust = runLocust(platform.proxyPort, seconds, "redis");
    const warmupMs = Math.max(5_000, ((seconds - downSeconds) * 1000) / 3);
    await sleep(warmupMs);
    const read = async () => {
      const client = await redisClient(platform.redis.url, PASSWORD);
      try {
        return await client.lRange(LIST_KEY, 0, -1);
      } finally {
        await client.close();
      }
    };
    const before = await read();
    await sleep(2_500); // past the fsync window, as verify waits
    await platform.redis.stop("SIGTERM");
    await sleep(downSeconds * 1000);
    await platform.redis.start();
    const after = await read();
    const report = await locust.done;
    const durability = durabilityReport(before, after, Number(platform.pod.env.SENHAS_LIST_CAP ?? 1000));
    const bound = durabilityBound(redisPersistence(kustomize("apps/giropops-senhas/deploy/redis").map((r) => r.object)).directives).description;
    const lines = [`Redis stopped (SIGTERM) for ${downSeconds} s under load`, ...durabilityLines(durability, bound), ...availabilityLines(report), ...locust.failures()];
    return { report, durability, lines };
  } finally {
    await platform.close();
  }
}

if (import.meta.main) {
  const [mode = "pods", a, b] = process.argv.slice(2);
  const result = mode === "redis" ? await runLocalRedisRestart(Number(a ?? 40), Number(b ?? 5)) : await runLocalChaos(Number(a ?? 60), Number(b ?? 10));
  console.log(result.lines.join("\n"));
}
