// The locustfile against the real app and a real redis-server: requests flow
// and none fail. (Load numbers live in `npm run bench`, not here.)
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawn } from "node:child_process";
import { createServer } from "node:http";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { startInProcess } from "./harness.mts";
import { startRedis } from "./redis-server.mts";

const locustfile = join(import.meta.dirname, "../../locust/locustfile.py");

/** Runs locust headless (async: the in-process server needs the event loop) and reads its CSV stats. */
async function runLocust(host: string, users: number, seconds: number) {
  const dir = mkdtempSync(join(tmpdir(), "giropops-locust-"));
  try {
    const args = ["-f", locustfile, "--headless", "-u", String(users), "-r", "10", "-t", `${seconds}s`, "--host", host, "--csv", join(dir, "run"), "--only-summary"];
    const child = spawn("locust", args, { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    const code = await new Promise<number | null>((resolve) => child.on("close", resolve));
    const [header, ...rows] = readFileSync(join(dir, "run_stats.csv"), "utf8").trim().split("\n").map((line) => line.split(",").map((cell) => cell.replace(/"/g, "")));
    const stats = new Map(rows.map((row) => [row[header!.indexOf("Name")]!, row]));
    const count = (name: string, field: "Request Count" | "Failure Count") => Number(stats.get(name)?.[header!.indexOf(field)] ?? NaN);
    const failures = readFileSync(join(dir, "run_failures.csv"), "utf8");
    return { code, output, count, failures };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("locust drives both endpoints for 5 s with zero failures", async () => {
  const redis = await startRedis();
  const server = await startInProcess({ REDIS_URL: redis.url, LOG_LEVEL: "warn" });
  try {
    const run = await runLocust(server.base, 20, 5);
    assert.is(run.code, 0, run.output);
    assert.ok(run.count("Aggregated", "Request Count") > 0, "some requests");
    assert.ok(run.count("POST /api/gerar-senha", "Request Count") > 0, "POST requests");
    assert.is(run.count("Aggregated", "Failure Count"), 0, run.output);
  } finally {
    await server.close();
    await redis.dispose();
  }
});

test("the locustfile's checks mark wrong answers as failures", async () => {
  // A server that answers 200 with the wrong shape: every request must be counted as failed.
  const fake = createServer((_req, res) => res.writeHead(200, { "content-type": "application/json" }).end('{"password": "x"}'));
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const address = fake.address();
  try {
    const run = await runLocust(`http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`, 5, 3);
    assert.is.not(run.code, 0, "locust exits non-zero when requests fail");
    assert.ok(run.count("Aggregated", "Request Count") > 0);
    assert.is(run.count("Aggregated", "Failure Count"), run.count("Aggregated", "Request Count"));
  } finally {
    fake.close();
  }
});

/** A fake API whose passwords have the right length and letters, and `extra` characters always or never. */
async function fakeApi(extra: string) {
  const fake = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk) => (body += chunk));
    req.on("end", () => {
      if (req.url === "/api/senhas") return res.writeHead(200, { "content-type": "application/json" }).end("[]");
      const { tamanho, incluir_numeros } = JSON.parse(body) as { tamanho: number; incluir_numeros: boolean };
      const senha = `${incluir_numeros ? "7" : ""}${extra}`.padEnd(tamanho, "a");
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ senha }));
    });
  });
  await new Promise<void>((resolve) => fake.listen(0, "127.0.0.1", resolve));
  const address = fake.address();
  return { url: `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`, close: () => fake.close() };
}

test("the locustfile checks punctuation: present when asked, absent when not", async () => {
  for (const [extra, message] of [["!", "punctuation present but not requested"], ["", "punctuation requested but missing"]] as const) {
    const fake = await fakeApi(extra);
    try {
      const run = await runLocust(fake.url, 10, 4);
      const posts = run.count("POST /api/gerar-senha", "Request Count");
      const failed = run.count("POST /api/gerar-senha", "Failure Count");
      assert.ok(posts > 0, "some POSTs");
      assert.ok(failed > 0 && failed < posts, `only the wrong half fails (${failed}/${posts})`);
      assert.ok(run.failures.includes(message), run.failures);
      assert.not.ok(run.failures.includes("digits"), run.failures);
    } finally {
      fake.close();
    }
  }
});

test.run();
