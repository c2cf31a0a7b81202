// Chaos under load on this machine, no cluster: 3 app processes behind a tiny
// L4 round-robin proxy that behaves like a Service (kube-proxy): a connection
// stays on the backend it was given, and "endpoints" are the backends whose
// /readyz answers 200 and that are not being deleted. A pod deletion is
// replayed as Kubernetes does it: out of the endpoints at once, preStop sleep,
// SIGTERM (the app drains), and a replacement added once it is ready.
// Endpoint removal reaches the proxy a second late, as it reaches kube-proxy.
// Locust (Debian's 2.12) sends the locustfile's traffic; the report judges
// the run with the same functions as `verify --chaos`.
//
//   node test/resilience/local-chaos.mts [seconds=60] [killEverySeconds=10]
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync } from "node:fs";
import { createServer, connect, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { startProcess, type ServerProcess } from "../../apps/giropops-senhas/test/harness.mts";
import { freePort, startRedis } from "../../apps/giropops-senhas/test/redis-server.mts";
import { availabilityLines, availabilityReport, parseLocustFailures, parseLocustStats, type AvailabilityReport } from "../../scripts/lib/verify/chaos-report.mts";
import { redisPersistence, toArgs } from "../../scripts/lib/verify/chaos-redis.mts";
import { kustomize } from "../lib/render.mts";

const REPO = join(import.meta.dirname, "../..");
const PASSWORD = "local-chaos-password";
// kube-proxy learns of a deleted pod's endpoint removal about this late; preStop covers it.
const ENDPOINT_PROPAGATION_MS = 1_000;

type Backend = { process: ServerProcess; port: number; inEndpoints: boolean };

/** The Deployment's pod spec values that shape a deletion: preStop sleep and the app's env. */
function shippedPod() {
  const deployment = kustomize("apps/giropops-senhas/deploy/app").map((r) => r.object).find((o) => o.kind === "Deployment")!;
  const container = deployment.spec.template.spec.containers[0];
  const env: Record<string, string> = Object.fromEntries((container.env ?? []).filter((e: any) => typeof e.value === "string").map((e: any) => [e.name, e.value]));
  return { preStopSeconds: Number(container.lifecycle?.preStop?.sleep?.seconds ?? 0), env, replicas: Number(deployment.spec.replicas ?? 1) };
}

function startProxy(port: number, pick: () => Backend | undefined): Promise<Server> {
  const server = createServer((client: Socket) => {
    const backend = pick();
    if (!backend) return client.destroy(); // no endpoints: connection refused, as a Service would
    const upstream = connect({ port: backend.port, host: "127.0.0.1" });
    client.pipe(upstream).pipe(client);
    const close = () => (client.destroy(), upstream.destroy());
    client.on("error", close).on("close", close);
    upstream.on("error", close).on("close", close);
  });
  return new Promise((resolve) => server.listen(port, "127.0.0.1", () => resolve(server)));
}

export type LocalChaosResult = { report: AvailabilityReport; kills: number; lines: string[] };

export type LocalChaosOptions = {
  /** Replace the Deployment's preStop sleep (the control case sets 0). */
  preStopSeconds?: number;
};

export async function runLocalChaos(seconds: number, killEverySeconds: number, options: LocalChaosOptions = {}): Promise<LocalChaosResult> {
  const pod = shippedPod();
  if (options.preStopSeconds !== undefined) pod.preStopSeconds = options.preStopSeconds;
  const persistence = redisPersistence(kustomize("apps/giropops-senhas/deploy/redis").map((r) => r.object));
  const redis = await startRedis({ password: PASSWORD, args: toArgs(persistence.directives) });
  const env = { ...pod.env, REDIS_URL: redis.url, REDIS_PASSWORD: PASSWORD, LOG_LEVEL: "warn" };
  delete (env as Record<string, string>).PORT;
  const backends: Backend[] = [];
  const start = async () => {
    const process = await startProcess(env);
    const backend = { process, port: Number(new URL(process.base).port), inEndpoints: true };
    backends.push(backend);
  };
  let next = 0;
  const proxyPort = await freePort();
  const proxy = await startProxy(proxyPort, () => {
    const ready = backends.filter((b) => b.inEndpoints);
    return ready.length ? ready[next++ % ready.length] : undefined;
  });

  const dir = join(REPO, ".artifacts", "local-chaos");
  mkdirSync(dir, { recursive: true });
  const prefix = join(dir, "run");
  let kills = 0;
  const terminations: Promise<unknown>[] = [];
  try {
    for (let i = 0; i < pod.replicas; i++) await start();
    const locust = spawn(
      "locust",
      ["-f", join(REPO, "apps/locust/locustfile.py"), "--headless", "-u", "20", "-r", "10", "-t", `${seconds}s`, "--host", `http://127.0.0.1:${proxyPort}`, "--csv", prefix, "--only-summary", "--loglevel", "ERROR"],
      { stdio: "ignore" },
    );
    const locustDone = new Promise((resolve) => locust.once("exit", resolve));
    const until = Date.now() + (seconds - killEverySeconds) * 1000;
    await new Promise((resolve) => setTimeout(resolve, killEverySeconds * 1000));
    while (Date.now() < until) {
      // Delete the oldest pod: endpoints drop it, preStop sleeps, SIGTERM drains; a replacement starts.
      const victim = backends.find((b) => b.inEndpoints)!;
      kills++;
      // From the deletion on, two clocks run at once, as in Kubernetes: the
      // endpoint removal reaching the proxy, and preStop then SIGTERM.
      const after = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
      terminations.push(
        after(ENDPOINT_PROPAGATION_MS).then(() => (victim.inEndpoints = false)),
        after(pod.preStopSeconds * 1000).then(async () => {
          victim.process.child.kill("SIGTERM");
          await victim.process.exited;
        }),
      );
      await start();
      await new Promise((resolve) => setTimeout(resolve, killEverySeconds * 1000));
    }
    await locustDone;
    await Promise.all(terminations);
  } finally {
    proxy.close();
    for (const b of backends) await b.process.stop();
    await redis.dispose();
  }
  const report = availabilityReport({
    stats: parseLocustStats(readFileSync(`${prefix}_stats.csv`, "utf8")),
    failures: parseLocustFailures(readFileSync(`${prefix}_failures.csv`, "utf8")),
    durationSeconds: seconds,
  });
  const failures = parseLocustFailures(readFileSync(`${prefix}_failures.csv`, "utf8")).map((f) => `failure x${f.occurrences}: ${f.name}: ${f.error.slice(0, 160)}`);
  return { report, kills, lines: [`app processes killed: ${kills} (one every ${killEverySeconds} s, preStop ${pod.preStopSeconds} s, SIGTERM drain)`, ...availabilityLines(report), ...failures] };
}

if (import.meta.main) {
  const [seconds = 60, every = 10] = process.argv.slice(2).map(Number);
  const result = await runLocalChaos(seconds, every);
  console.log(result.lines.join("\n"));
  process.exitCode = result.report.ok ? 0 : 1;
}
