// The chaos report's judges on Locust runs recorded here (Locust 2.12 against
// the real app and a real redis-server): a steady run, and one where Redis was
// stopped for 4 s mid-run.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import {
  availabilityLines,
  availabilityReport,
  durabilityReport,
  durabilityVerdict,
  parseCsv,
  parseLocustFailures,
  parseLocustStats,
  sloVerdict,
} from "../../scripts/lib/verify/chaos-report.mts";

const fixture = (name: string) => readFileSync(join(import.meta.dirname, "fixtures/locust-2.12", name), "utf8");
const recorded = (run: string, durationSeconds = 30) =>
  availabilityReport({ stats: parseLocustStats(fixture(`${run}_stats.csv`)), failures: parseLocustFailures(fixture(`${run}_failures.csv`)), durationSeconds });

test("parses the Aggregated row and the percentiles of a recorded run", () => {
  const stats = parseLocustStats(fixture("steady_stats.csv"));
  assert.equal(stats.total.requests, 579);
  assert.equal(stats.total.failures, 0);
  assert.equal(stats.total.p95Ms, 22);
  assert.equal(stats.endpoints.map((e) => e.name), ["GET /api/senhas", "POST /api/gerar-senha"]);
});

test("reads the status out of the locustfile's failure messages, through CSV quoting", () => {
  const failures = parseLocustFailures(fixture("redis-outage_failures.csv"));
  assert.equal(failures.map((f) => [f.name, f.status, f.occurrences]), [
    ["GET /api/senhas", 503, 12],
    ["POST /api/gerar-senha", 503, 50],
  ]);
  assert.match(failures[0]!.error, /"message":"password storage \(Redis\) is unavailable"/);
});

test("a steady run holds the 99.9% objective and spends no budget", () => {
  const report = recorded("steady");
  assert.ok(report.ok);
  assert.equal(report.availability, 1);
  assert.equal(report.burnRate, 0);
  const verdict = sloVerdict({ report, podsKilled: 6, minutes: 3, users: 50, every: "every 30s" });
  assert.ok(verdict.ok);
  assert.match(verdict.summary, /100\.000% available while 6 app pods were killed/);
});

test("a run with a 4 s Redis outage fails the objective, with its budget burn", () => {
  const report = recorded("redis-outage");
  assert.not.ok(report.ok);
  assert.equal(report.sloErrors, 62);
  assert.equal(report.requests, 568);
  // 62/568 = 10.9% errors: 109x the allowed rate; over 30 s that is 0.126% of a 30-day budget.
  assert.ok(Math.abs(report.burnRate - 109.15) < 0.01, String(report.burnRate));
  assert.ok(Math.abs(report.budgetSpent - 0.001263) < 0.000001, String(report.budgetSpent));
  const verdict = sloVerdict({ report, podsKilled: 6, minutes: 3, users: 50, every: "every 30s" });
  assert.not.ok(verdict.ok);
  assert.match(verdict.summary, /availability fell to 89\.085%/);
  assert.ok(verdict.hint);
});

test("4xx answers are the load test's fault: reported, not counted against the SLO", () => {
  const stats = parseLocustStats("Type,Name,Request Count,Failure Count,95%\nPOST,x,2000,3,10\n,Aggregated,2000,3,10\n");
  const failures = parseLocustFailures('Method,Name,Error,Occurrences\nPOST,x,"CatchResponseError(\'status 400: bad\')",2\nPOST,x,"ConnectionError(\'reset\')",1\n');
  const report = availabilityReport({ stats, failures, durationSeconds: 60 });
  assert.equal([report.sloErrors, report.clientErrors], [1, 2]);
  assert.ok(report.ok, "1 error in 1998 requests is within 99.9%");
  assert.equal(availabilityReport({ stats, failures: [], durationSeconds: 60 }).ok, false, "3 in 2000 is not");
});

test("no traffic and no killed pod are failures, not passes", () => {
  const empty = availabilityReport({ stats: parseLocustStats("Type,Name,Request Count,Failure Count\n,Aggregated,0,0\n"), failures: [], durationSeconds: 60 });
  assert.not.ok(empty.ok);
  assert.match(sloVerdict({ report: empty, podsKilled: 3, minutes: 1, users: 1, every: "every 30s" }).summary, /no request reached/);
  assert.match(sloVerdict({ report: recorded("steady"), podsKilled: 0, minutes: 1, users: 1, every: "every 30s" }).summary, /killed no pod/);
});

test("the report lines carry requests, error rate, p95, availability and budget", () => {
  const lines = availabilityLines(recorded("redis-outage"));
  assert.match(lines[0]!, /^requests 568, failed 62 \(SLO errors 62, 4xx 0\), error rate 10\.915%, p95 790 ms$/);
  assert.match(lines[1]!, /availability 89\.085% \(objective 99\.9%; 0 errors allowed/);
  assert.match(lines[2]!, /burn rate 109\.15x over 30 s = 0\.1263% of the 30-day budget/);
});

test("durability: nothing lost when every password is still listed", () => {
  const before = ["c", "b", "a"];
  const d = durabilityReport(before, ["e", "d", "c", "b", "a"], 1000);
  assert.equal([d.kept, d.lost, d.trimmed, d.ok], [3, [], 0, true]);
});

test("durability: a missing password is a loss, even a recent one", () => {
  const d = durabilityReport(["c", "b", "a"], ["e", "b", "a"], 1000);
  assert.equal([d.kept, d.lost, d.ok], [2, ["c"], false]);
  const verdict = durabilityVerdict({ durability: d, bound: "AOF everysec", availability: recorded("steady"), recoverySeconds: 9 });
  assert.not.ok(verdict.ok);
  assert.equal(verdict.summary, "1 of 3 passwords written before the Redis restart are gone");
});

test("durability: the oldest passwords pushed out by the list cap are not a loss", () => {
  // cap 4: two new writes after the restart trimmed the two oldest.
  const d = durabilityReport(["d", "c", "b", "a"], ["f", "e", "d", "c"], 4);
  assert.equal([d.kept, d.trimmed, d.lost, d.ok], [2, 2, [], true]);
  // ...but a gap in the middle is, cap or not.
  assert.equal(durabilityReport(["d", "c", "b", "a"], ["f", "e", "d", "b"], 4).lost, ["c"]);
  // and below the cap nothing may be missing.
  assert.equal(durabilityReport(["d", "c", "b", "a"], ["f", "e", "d", "c"], 10).lost, ["b", "a"]);
});

test("durability: nothing to compare, or everything trimmed, is not a pass", () => {
  const steady = recorded("steady");
  assert.match(durabilityVerdict({ durability: durabilityReport([], ["a"], 10), bound: "", availability: steady, recoverySeconds: 1 }).summary, /durability was not tested/);
  const allTrimmed = durabilityReport(["b", "a"], ["d", "c"], 2);
  assert.equal([allTrimmed.kept, allTrimmed.trimmed, allTrimmed.ok], [0, 2, false]);
  assert.match(durabilityVerdict({ durability: allTrimmed, bound: "", availability: steady, recoverySeconds: 1 }).summary, /inconclusive/);
});

test("parseCsv keeps quoted commas, quotes and newlines", () => {
  assert.equal(parseCsv('a,"b,c","d ""e""","f\ng"\r\n1,2,3,4\n'), [
    ["a", "b,c", 'd "e"', "f\ng"],
    ["1", "2", "3", "4"],
  ]);
});

test.run();
