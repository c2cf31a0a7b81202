// Loopback benchmark: the real server process (production defaults: JSON access
// log on, written to /dev/null, metrics on) and a bare node:http + Redis reference
// (bench/bare.mts), each against its own real redis-server, in the same run, driven
// by autocannon one after the other. It prints app/bare ratios, which carry across
// machines; absolute figures do not.
//   npm run bench                      (defaults below)
//   BENCH_SECONDS=20 BENCH_CONNECTIONS=100 npm run bench
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { cpus, loadavg } from "node:os";
import { join } from "node:path";
import { freePort, startRedis } from "../test/redis-server.mts";

type AutocannonResult = {
  requests: { average: number; total: number };
  latency: { p50: number; p99: number; p99_9?: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
};
type Autocannon = (options: Record<string, unknown>) => Promise<AutocannonResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

const seconds = Number(process.env.BENCH_SECONDS ?? 10);
const connections = Number(process.env.BENCH_CONNECTIONS ?? 100);
const warmupSeconds = 3;

// Run Node with the flags production uses (the Dockerfile's CMD and the Deployment's
// NODE_OPTIONS), so the figures describe what runs in the cluster.
const cmd = readFileSync(join(import.meta.dirname, "../Dockerfile"), "utf8").match(/^CMD (\[.*\])$/m)?.[1];
const deployment = readFileSync(join(import.meta.dirname, "../deploy/app/deployment.yaml"), "utf8");
const nodeOptions = deployment.match(/- name: NODE_OPTIONS\s+value: (.+)$/m)?.[1]?.trim() ?? "";
const nodeFlags = [...(JSON.parse(cmd ?? "[]") as string[]).filter((arg) => arg.startsWith("--")), ...nodeOptions.split(/\s+/).filter(Boolean)];

type Target = { name: string; base: string; child: ChildProcess; idleRssMiB: number; dispose(): Promise<void> };

const clockTicks = 100; // USER_HZ on Linux: /proc/<pid>/stat counts CPU time in 1/100 s.

function procStatus(pid: number, field: string): number {
  const status = readFileSync(`/proc/${pid}/status`, "utf8");
  return Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, "m"))?.[1] ?? NaN);
}

/** User + system CPU seconds the process used so far. */
function cpuSeconds(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

async function start(name: string, script: string): Promise<Target> {
  const redis = await startRedis();
  const port = await freePort();
  const child = spawn(process.execPath, [...nodeFlags, script], {
    env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", REDIS_URL: redis.url },
    stdio: ["ignore", "ignore", "inherit"],
  });
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; ; i++) {
    if (await fetch(`${base}/healthz`).then((r) => r.ok, () => false)) break;
    if (i > 100) throw new Error(`${name} did not start`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  // Idle: started, connected, one request served, then left alone for a moment.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  const idleRssMiB = procStatus(child.pid!, "VmRSS") / 1024;
  return {
    name,
    base,
    child,
    idleRssMiB,
    async dispose() {
      const exited = new Promise((resolve) => child.once("exit", resolve));
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 3_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      await redis.dispose();
    },
  };
}

const scenarios = [
  {
    name: "POST /api/gerar-senha",
    method: "POST",
    path: "/api/gerar-senha",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ tamanho: 16, incluir_numeros: true, incluir_caracteres_especiais: true }),
  },
  { name: "GET /api/senhas", method: "GET", path: "/api/senhas" },
];

type Measure = { rps: number; p50: number; p99: number; cpuUsPerRequest: number; failures: number };

async function measure(target: Target, scenario: (typeof scenarios)[number]): Promise<Measure> {
  const options = { url: target.base + scenario.path, method: scenario.method, headers: scenario.headers, body: scenario.body, connections };
  await autocannon({ ...options, duration: warmupSeconds });
  const cpuBefore = cpuSeconds(target.child.pid!);
  const result = await autocannon({ ...options, duration: seconds });
  const cpu = cpuSeconds(target.child.pid!) - cpuBefore;
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    cpuUsPerRequest: (cpu / Math.max(1, result.requests.total)) * 1e6,
    failures: result.errors + result.timeouts + result.non2xx,
  };
}

const targets: Target[] = [];
try {
  targets.push(await start("app", join(import.meta.dirname, "../src/server.mts")));
  targets.push(await start("bare", join(import.meta.dirname, "bare.mts")));
  const [app, bare] = targets as [Target, Target];

  const rows: string[][] = [];
  const ratios: string[][] = [];
  const fmt = (n: number) => Math.round(n).toLocaleString("en-US");
  for (const scenario of scenarios) {
    // Alternate, so a neighbour's burst on a shared machine hits both sides alike.
    const a = await measure(app, scenario);
    const b = await measure(bare, scenario);
    for (const [name, m] of [["app", a], ["bare", b]] as const) {
      rows.push([`${scenario.name} (${name})`, fmt(m.rps), `${m.p50} ms`, `${m.p99} ms`, `${m.cpuUsPerRequest.toFixed(0)} µs`, String(m.failures)]);
    }
    ratios.push([scenario.name, (a.rps / b.rps).toFixed(2), (a.cpuUsPerRequest / b.cpuUsPerRequest).toFixed(2)]);
  }

  const table = (header: string[], body: string[][]) => {
    const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i]!.length)));
    const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
    console.log(line(header));
    console.log(widths.map((w) => "-".repeat(w)).join("  "));
    for (const row of body) console.log(line(row));
  };
  console.log(
    `\n${new Date().toISOString()}, ${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), load ${loadavg()[0]!.toFixed(1)}, node ${process.version} ${nodeFlags.join(" ")}, ${connections} connections, ${seconds} s per run after ${warmupSeconds} s warm-up\n`,
  );
  table(["endpoint", "req/s", "p50", "p99", "CPU/req", "errors"], rows);
  console.log("");
  table(["app / bare", "req/s", "CPU/req"], ratios);
  const peak = procStatus(app.child.pid!, "VmHWM") / 1024;
  console.log(`\nidle RSS: app ${app.idleRssMiB.toFixed(0)} MiB, bare ${bare.idleRssMiB.toFixed(0)} MiB (ratio ${(app.idleRssMiB / bare.idleRssMiB).toFixed(2)}); app peak ${peak.toFixed(0)} MiB`);
  console.log("targets (issue 15): req/s ratio >= 0.90 on both routes, app p99 <= 20 ms, app idle RSS <= 80 MiB");
} finally {
  for (const target of targets.reverse()) await target.dispose();
}
