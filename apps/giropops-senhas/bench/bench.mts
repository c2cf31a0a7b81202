// Loopback benchmark: real redis-server + the real server process (production
// defaults: JSON access log on, written to /dev/null), driven by autocannon.
//   npm run bench                      (defaults below)
//   BENCH_SECONDS=20 BENCH_CONNECTIONS=100 npm run bench
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { readFileSync } from "node:fs";
import { cpus } from "node:os";
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

const redis = await startRedis();
const port = await freePort();
const server = spawn(process.execPath, [...nodeFlags, join(import.meta.dirname, "../src/server.mts")], {
  env: { ...process.env, PORT: String(port), HOST: "127.0.0.1", REDIS_URL: redis.url },
  stdio: ["ignore", "ignore", "inherit"],
});
const base = `http://127.0.0.1:${port}`;

try {
  for (let i = 0; ; i++) {
    const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (i > 100) throw new Error("server did not become ready");
    await new Promise((resolve) => setTimeout(resolve, 100));
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

  const rows: string[][] = [];
  for (const scenario of scenarios) {
    const options = { url: base + scenario.path, method: scenario.method, headers: scenario.headers, body: scenario.body, connections };
    await autocannon({ ...options, duration: warmupSeconds });
    const result = await autocannon({ ...options, duration: seconds });
    const failures = result.errors + result.timeouts + result.non2xx;
    rows.push([
      scenario.name,
      Math.round(result.requests.average).toLocaleString("en-US"),
      `${result.latency.p50} ms`,
      `${result.latency.p99} ms`,
      String(failures),
    ]);
  }

  const status = readFileSync(`/proc/${server.pid}/status`, "utf8");
  const kb = (field: string) => Number(status.match(new RegExp(`^${field}:\\s+(\\d+)`, "m"))?.[1] ?? NaN);

  const header = ["endpoint", "req/s", "p50", "p99", "errors"];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  console.log(`\n${cpus().length} CPU (${cpus()[0]?.model ?? "?"}), node ${process.version} ${nodeFlags.join(" ")}, ${connections} connections, ${seconds} s per endpoint after ${warmupSeconds} s warm-up\n`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const row of rows) console.log(line(row));
  console.log(`\nserver resident memory: ${(kb("VmRSS") / 1024).toFixed(0)} MiB now, ${(kb("VmHWM") / 1024).toFixed(0)} MiB peak`);
} finally {
  const exited = new Promise((resolve) => server.once("exit", resolve));
  server.kill("SIGTERM");
  await exited;
  await redis.dispose();
}
