import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRunner } from "../../scripts/lib/runner.mts";
import { runCheck } from "../../scripts/lib/verify/checks.mts";
import {
  dashboardTitlesIn,
  grafanaCheck,
  judgeDashboards,
  judgeRules,
  judgeTargets,
  prometheusCheck,
  prometheusPort,
  renderedMonitoring,
  ruleGroupsIn,
} from "../../scripts/lib/verify/monitoring.mts";
import { contextFor, fixture, REPO_ROOT, serviceRoutes, startApiServer, type ApiServer, type Route } from "./lib/api-server.mts";

const rendered = await renderedMonitoring({ runner: createRunner(), repoRoot: REPO_ROOT });
const repoGroups = ruleGroupsIn(rendered);
const repoDashboards = dashboardTitlesIn(rendered);

/** Prometheus' /api/v1/rules as it answers with the chart's groups plus `ours`. */
function rulesAnswer(ours: string[]) {
  const answer = fixture("prometheus-rules-defaults.json");
  for (const name of ours) answer.data.groups.push({ name, file: `/etc/prometheus/rules/x/monitoring-${name}.yaml`, rules: [], interval: 30 });
  return answer;
}

test("the expected rule groups and dashboards come from the rendered gitops/monitoring tree", () => {
  assert.ok(repoGroups.length > 0, "gitops/monitoring declares rule groups");
  assert.ok(repoGroups.every((g) => typeof g === "string" && g.length > 0));
  assert.ok(repoDashboards.length > 0, "gitops/monitoring declares dashboards");
});

test("targets: passes when the app's pods are up, naming them", () => {
  const verdict = judgeTargets(fixture("prometheus-query-up.json"));
  assert.ok(verdict.ok, verdict.summary);
  assert.match(verdict.summary, /scrapes 2 app targets/);
  assert.ok(verdict.evidence.includes("giropops-senhas giropops-senhas-7d9f8c6b5-4xkzq up=1"));
});

test("targets: fails when no target exists, or all are down", () => {
  assert.match(judgeTargets(fixture("prometheus-query-empty.json")).summary, /no target in namespace giropops-senhas/);
  const down = judgeTargets(fixture("prometheus-query-down.json"));
  assert.not.ok(down.ok);
  assert.match(down.summary, /every giropops-senhas target is down/);
  assert.not.ok(judgeTargets({ status: "error", error: "bad_data: parse error" }).ok);
});

test("rules: passes when every group from git is loaded, fails naming the missing ones", () => {
  assert.ok(judgeRules(rulesAnswer(repoGroups), repoGroups).ok);
  const missing = repoGroups[0]!;
  const verdict = judgeRules(rulesAnswer(repoGroups.slice(1)), repoGroups);
  assert.not.ok(verdict.ok);
  assert.match(verdict.summary, new RegExp(`not loaded: ${missing.replaceAll(".", "\\.")}`));
  assert.ok(verdict.evidence.includes(`MISSING ${missing}`));
  assert.not.ok(judgeRules(rulesAnswer([]), []).ok, "nothing to look for is not a pass");
});

test("dashboards: all from git found passes; a missing one, a refused login or an error fails", () => {
  assert.ok(judgeDashboards(200, fixture("grafana-search.json"), ["Platform overview"]).ok);
  const missing = judgeDashboards(200, fixture("grafana-search.json"), ["Platform overview", "Not there"]);
  assert.not.ok(missing.ok);
  assert.match(missing.summary, /Grafana lacks Not there/);
  assert.match(judgeDashboards(401, undefined, ["x"]).summary, /refused the admin login/);
  assert.not.ok(judgeDashboards(502, undefined, ["x"]).ok);
});

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

/** The operator's governing Service as kube-prometheus-stack 88.5.3 gets it (port http-web). */
const prometheusOperated = () => fixture("prometheus-operated-service.json");

test("over HTTP: Prometheus is asked through the API server's service proxy on the port the Service names, with the app's up query", async () => {
  api = await startApiServer(serviceRoutes(prometheusOperated(), {
    "/api/v1/query": { body: fixture("prometheus-query-up.json") },
    "/api/v1/rules": { body: rulesAnswer(repoGroups) },
  }));
  const [result] = await runCheck(prometheusCheck, contextFor(api));
  assert.is(result?.status, "pass", result?.summary);
  const query = api.seen.find((s) => s.path.endsWith("/api/v1/query"));
  assert.is(query?.path, "/api/v1/namespaces/monitoring/services/prometheus-operated:http-web/proxy/api/v1/query");
  assert.is(query?.query.get("query"), 'up{namespace="giropops-senhas"}');
});

test("the Prometheus port is read from the Service: its first port, never Thanos' grpc; none means no HTTP port", async () => {
  const thanos = { spec: { ports: [{ name: "web", port: 9090 }, { name: "grpc", port: 10901 }] } };
  assert.is(prometheusPort(prometheusOperated()), "http-web");
  assert.is(prometheusPort(thanos), "web");
  assert.is(prometheusPort({ spec: { ports: [{ port: 9090 }] } }), "9090");
  assert.is(prometheusPort({ spec: { ports: [{ name: "grpc", port: 10901 }] } }), undefined);
  const service = prometheusOperated();
  service.spec.ports = [];
  api = await startApiServer(serviceRoutes(service, {}));
  const [result] = await runCheck(prometheusCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /has no HTTP port/);
});

test("over HTTP: a rule group missing in Prometheus fails the check", async () => {
  api = await startApiServer(serviceRoutes(prometheusOperated(), {
    "/api/v1/query": { body: fixture("prometheus-query-up.json") },
    "/api/v1/rules": { body: rulesAnswer(repoGroups.slice(0, -1)) },
  }));
  const [result] = await runCheck(prometheusCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /not loaded/);
});

const USER = "admin";
const PASSWORD = "s3cret-grafana-pass";
const b64 = (text: string) => Buffer.from(text).toString("base64");

function grafanaRoutes(hits: unknown[]): Route[] {
  return [
    {
      path: "/api/v1/namespaces/monitoring/secrets/grafana-admin",
      answer: { body: { apiVersion: "v1", kind: "Secret", metadata: { name: "grafana-admin", namespace: "monitoring" }, type: "Opaque", data: { "admin-user": b64(USER), "admin-password": b64(PASSWORD) } } },
    },
    {
      path: "/api/search",
      host: "grafana.localhost",
      answer: (seen) =>
        seen.headers.authorization === `Basic ${b64(`${USER}:${PASSWORD}`)}`
          ? { body: hits }
          : { status: 401, body: { message: "invalid username or password" } },
    },
  ];
}

test("over HTTP: Grafana's search is asked with the admin Secret, which never shows in the result", async () => {
  const hits = fixture<{ title: string }[]>("grafana-search.json");
  for (const title of repoDashboards) if (!hits.some((h) => h.title === title)) hits.push({ title, type: "dash-db" } as never);
  api = await startApiServer(grafanaRoutes(hits));
  const [result] = await runCheck(grafanaCheck, contextFor(api));
  assert.is(result?.status, "pass", result?.summary);
  assert.is(api.seen.find((s) => s.path === "/api/search")?.query.get("type"), "dash-db");
  assert.not.match(JSON.stringify(result), PASSWORD);
  assert.not.match(JSON.stringify(result), b64(`${USER}:${PASSWORD}`));
});

test("over HTTP: Grafana without our dashboards fails, naming them", async () => {
  api = await startApiServer(grafanaRoutes([]));
  const [result] = await runCheck(grafanaCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", new RegExp(`Grafana lacks .*${repoDashboards[0]!.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")}`));
});

test.run();
