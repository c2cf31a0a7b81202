import { spawn } from "node:child_process";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { parse } from "yaml";
import { runCheck } from "../../scripts/lib/verify/checks.mts";
import { CSV_MARKER, jobFromCronJob, judgeLocust, locustCheck, parseSummaryTable, statsFromCsv } from "../../scripts/lib/verify/locust.mts";
import { contextFor, fixtureText, REPO_ROOT, startApiServer, type ApiServer } from "./lib/api-server.mts";

// Recorded with Locust 2.12.1 running apps/locust/locustfile.py through the Job's
// own shell wrapper: a healthy run, and one where most answers were wrong.
const passing = fixtureText("locust-job-log-passing.txt");
const failing = fixtureText("locust-job-log-failing.txt");
const cronJob = parse(readFileSync(join(REPO_ROOT, "gitops/locust/headless.yaml"), "utf8"));

test("reads Locust's CSV stats printed after the marker", () => {
  const stats = statsFromCsv(passing.split(CSV_MARKER)[1]!);
  assert.is(stats?.requests, 184);
  assert.is(stats?.failures, 0);
  assert.equal(stats?.rows.map((r) => r.name), ["GET /api/senhas", "POST /api/gerar-senha"]);
});

test("reads the final summary table: totals, rows, req/s, median and p95", () => {
  const stats = parseSummaryTable(passing.split(CSV_MARKER)[0]!);
  assert.equal([stats?.requests, stats?.failures, stats?.rps, stats?.medianMs, stats?.p95Ms], [204, 0, 20.71, 3, 30]);
  assert.equal(stats?.rows, [
    { name: "GET /api/senhas", requests: 41, failures: 0 },
    { name: "POST /api/gerar-senha", requests: 163, failures: 0 },
  ]);
  assert.equal([parseSummaryTable(failing)?.requests, parseSummaryTable(failing)?.failures], [71, 55]);
  assert.is(parseSummaryTable("Starting Locust\n"), undefined);
});

test("judge: under 1% errors passes with the summary as evidence; 77% fails; no stats fails", () => {
  const ok = judgeLocust({ job: "locust-verify-1", phase: "Complete", log: passing, seconds: 10 });
  assert.ok(ok.ok, ok.summary);
  assert.match(ok.summary, /204 requests in 10s, error rate 0\.00% \(< 1%\)/);
  assert.ok(ok.evidence.includes("204 requests, 0 failures (0.00%), 20.7 req/s, median 3 ms, p95 30 ms"));
  const csvOnly = judgeLocust({ job: "locust-verify-1", phase: "Complete", log: `${CSV_MARKER}\n${passing.split(CSV_MARKER)[1]}`, seconds: 10 });
  assert.match(csvOnly.summary, /184 requests/, "the CSV is the fallback");
  const bad = judgeLocust({ job: "locust-verify-1", phase: "Failed", log: failing, seconds: 8 });
  assert.not.ok(bad.ok);
  assert.match(bad.summary, /error rate 77\.46% is not under 1%/);
  assert.match(bad.hint ?? "", /kubectl -n locust logs job\/locust-verify-1/);
  const none = judgeLocust({ job: "locust-verify-1", phase: "Timeout", log: "Starting Locust 2.32.2\n", seconds: 60 });
  assert.match(none.summary, /printed no stats \(Job Timeout\)/);
});

test("the Job is the CronJob's template, bounded to the asked length, writing and printing its CSV", () => {
  const job = jobFromCronJob(cronJob, "locust-verify-abc", 45) as any;
  assert.is(job.metadata.name, "locust-verify-abc");
  assert.is(job.metadata.namespace, "locust");
  assert.is(job.metadata.annotations["cronjob.kubernetes.io/instantiate"], "manual");
  const container = job.spec.template.spec.containers[0];
  const template = cronJob.spec.jobTemplate.spec.template.spec.containers[0];
  assert.is(container.image, template.image);
  assert.equal(container.securityContext, template.securityContext);
  assert.equal(container.resources, template.resources);
  assert.is(container.args.filter((a: string) => a === "--run-time").length, 1);
  assert.is(container.args[container.args.indexOf("--run-time") + 1], "45s");
  assert.ok(container.args.includes("--csv"));
  assert.is(container.command[0], "sh");
  assert.ok(job.spec.activeDeadlineSeconds >= 45 + 240);
  assert.is(cronJob.spec.jobTemplate.spec.template.spec.containers[0].command, undefined, "the CronJob itself is untouched");
});

test("the Job's shell wrapper runs Locust, keeps its exit code and prints the CSV after the marker", async () => {
  const stored: string[] = [];
  const app = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      response.setHeader("content-type", "application/json");
      if (request.method === "POST") {
        // Honours the contract the locustfile checks: digits and punctuation exactly when asked.
        const asked = JSON.parse(body || "{}") as { tamanho?: number; incluir_numeros?: boolean; incluir_caracteres_especiais?: boolean };
        const tamanho = asked.tamanho ?? 12;
        const senha = `${asked.incluir_numeros ? "1" : ""}${asked.incluir_caracteres_especiais ? "!" : ""}`.padEnd(tamanho, "a");
        stored.unshift(senha);
        stored.length = Math.min(stored.length, 10);
        response.end(JSON.stringify({ senha }));
      } else response.end(JSON.stringify(stored.map((senha, i) => ({ id: i + 1, senha }))));
    });
  });
  await new Promise<void>((resolve) => app.listen(0, "127.0.0.1", resolve));
  const dir = mkdtempSync(join(tmpdir(), "verify-locust-"));
  try {
    const container = (jobFromCronJob(cronJob, "locust-verify-local", 2) as any).spec.template.spec.containers[0];
    // The same command and arguments, with the paths of this machine instead of the pod's.
    const args = (container.args as string[]).map((a) => a.replace("/locust/locustfile.py", join(REPO_ROOT, "apps/locust/locustfile.py")).replace("/tmp/verify", join(dir, "verify")));
    const command = (container.command as string[]).map((a) => a.replaceAll("/tmp/verify", join(dir, "verify")));
    const host = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
    // Not spawnSync: that would block the event loop the stub app answers on.
    const run = await new Promise<{ status: number | null; stdout: string }>((resolve) => {
      const child = spawn(command[0]!, [...command.slice(1), ...args, "--users", "5", "--spawn-rate", "5"], { env: { ...process.env, LOCUST_HOST: host } });
      let stdout = "";
      child.stdout.on("data", (c) => (stdout += c));
      child.stderr.on("data", (c) => (stdout += c));
      child.on("close", (status) => resolve({ status, stdout }));
    });
    assert.is(run.status, 0, run.stdout.slice(-500));
    const verdict = judgeLocust({ job: "locust-verify-local", phase: "Complete", log: run.stdout, seconds: 2 });
    assert.ok(verdict.ok, `${verdict.summary}\n${run.stdout.slice(-800)}`);
    assert.ok(run.stdout.includes(CSV_MARKER));
  } finally {
    app.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

test("over HTTP: creates the Job from the CronJob, waits for it, reads its pod's log and removes it", async () => {
  let polls = 0;
  let created: any;
  api = await startApiServer([
    { path: "/apis/batch/v1/namespaces/locust/cronjobs/locust-headless", answer: { body: cronJob } },
    {
      method: "POST",
      path: "/apis/batch/v1/namespaces/locust/jobs",
      answer: (seen) => {
        created = JSON.parse(seen.body);
        return { status: 201, body: created };
      },
    },
    {
      path: /^\/apis\/batch\/v1\/namespaces\/locust\/jobs\/locust-verify-/,
      answer: () => ({ body: { ...created, status: ++polls < 3 ? { active: 1 } : { succeeded: 1, conditions: [{ type: "Complete", status: "True" }] } } }),
    },
    { path: "/api/v1/namespaces/locust/pods", answer: (seen) => ({ body: { items: [{ metadata: { name: `${seen.query.get("labelSelector")?.split("=")[1]}-x2b9q` } }] } }) },
    { path: /^\/api\/v1\/namespaces\/locust\/pods\/locust-verify-.*-x2b9q\/log$/, answer: { text: passing } },
    { method: "DELETE", path: /^\/apis\/batch\/v1\/namespaces\/locust\/jobs\/locust-verify-/, answer: { body: { kind: "Status", status: "Success" } } },
  ]);
  const [result] = await runCheck(locustCheck, contextFor(api));
  assert.is(result?.status, "pass", result?.summary);
  assert.is(polls, 3);
  assert.match(created.metadata.name, /^locust-verify-/);
  assert.ok(api.seen.some((s) => s.path === "/api/v1/namespaces/locust/pods" && s.query.get("labelSelector") === `job-name=${created.metadata.name}`));
  const deleted = api.seen.find((s) => s.method === "DELETE");
  assert.is(deleted?.query.get("propagationPolicy"), "Background");
});

test.run();
