import { test } from "uvu";
import * as assert from "uvu/assert";
import { runCheck, type KubeApi } from "../../scripts/lib/verify/checks.mts";
import { falcoCheck, judgeFalco, shellEvents } from "../../scripts/lib/verify/falco.mts";
import { contextFor, fakeClock, fixtureText, startApiServer, type ApiServer } from "./lib/api-server.mts";

const MARKER = "giropops-verify-test1";
const jsonLog = (marker = MARKER) => fixtureText("falco-log-json.txt").replaceAll("MARKER", marker);
const textLog = (marker = MARKER) => fixtureText("falco-log-text.txt").replaceAll("MARKER", marker);

test("finds the shell alert carrying the marker in Falco's JSON and text output, and nothing else", () => {
  const json = shellEvents(jsonLog(), MARKER);
  assert.is(json.length, 1);
  assert.is(json[0]?.rule, "Terminal shell in container");
  assert.match(json[0]?.output ?? "", /k8s_pod_name=redis-0/);
  assert.is(shellEvents(textLog(), MARKER).length, 1);
  assert.is(shellEvents(jsonLog(), "giropops-verify-other").length, 0, "an older run's alert does not count");
});

const observation = { target: "giropops-senhas/redis-0", why: "", execOutput: `${MARKER}\r\n`, execCode: 0, falcoPods: ["falco-x7k2p"], log: jsonLog(), marker: MARKER };

test("judge: passes with the rule and output as evidence; fails without an alert, a Falco pod or a shell", () => {
  const ok = judgeFalco(observation);
  assert.ok(ok.ok, ok.summary);
  assert.match(ok.summary, /Falco raised "Terminal shell in container" for a shell in giropops-senhas\/redis-0/);
  assert.match(judgeFalco({ ...observation, log: "" }).summary, /no shell-in-container alert/);
  assert.match(judgeFalco({ ...observation, falcoPods: [] }).summary, /no running Falco pod/);
  assert.match(judgeFalco({ ...observation, execCode: 1 }).summary, /could not open a shell/);
});

const pod = (name: string, app: string, node = "giropops-control-plane") => ({
  metadata: { name, namespace: app === "falco" ? "falco" : "giropops-senhas", labels: { "app.kubernetes.io/name": app } },
  spec: { nodeName: node, containers: [{ name: app }] },
  status: { phase: "Running" },
});

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

async function setUp(options: { alert: boolean }) {
  const clock = fakeClock();
  const marker = `giropops-verify-${clock.now().toString(36)}`;
  let logReads = 0;
  api = await startApiServer([
    {
      path: "/api/v1/namespaces/giropops-senhas/pods",
      answer: (seen) => ({
        body: { kind: "PodList", items: seen.query.get("labelSelector") === "app.kubernetes.io/name=redis" ? [pod("redis-0", "redis")] : [pod("giropops-senhas-7d9f8c6b5-4xkzq", "giropops-senhas")] },
      }),
    },
    { path: "/api/v1/namespaces/falco/pods", answer: { body: { kind: "PodList", items: [pod("falco-x7k2p", "falco"), pod("falco-other", "falco", "another-node")] } } },
    // Falco needs a moment: the first read has no alert yet.
    { path: "/api/v1/namespaces/falco/pods/falco-x7k2p/log", answer: () => ({ text: ++logReads > 1 && options.alert ? jsonLog(marker) : fixtureText("falco-log-text.txt").split("\n")[0]! }) },
  ]);
  const execs: { pod: string; command: string[]; tty: boolean | undefined }[] = [];
  const base = contextFor(api, { clock });
  const kube: KubeApi = {
    server: base.kube.server,
    request: (...args) => base.kube.request(...args),
    // The app image is distroless: no sh. Redis' image has one.
    async exec(_namespace, podName, _container, command, options) {
      execs.push({ pod: podName, command, tty: options?.tty });
      if (podName.startsWith("giropops-senhas")) {
        return { stdout: "", stderr: 'exec: "sh": executable file not found in $PATH: unknown\n', exitCode: 1 };
      }
      return { stdout: `${marker}\r\n`, stderr: "", exitCode: 0 };
    },
  };
  return { ctx: { ...base, kube }, execs, marker, reads: () => logReads, api };
}

test("over HTTP: the distroless app pod has no shell, so the shell opens in Redis' pod with a terminal, and the alert is read from that node's Falco", async () => {
  const { ctx, execs, marker, reads } = await setUp({ alert: true });
  const [result] = await runCheck(falcoCheck, ctx);
  assert.is(result?.status, "pass", result?.summary);
  assert.equal(execs.map((e) => e.pod), ["giropops-senhas-7d9f8c6b5-4xkzq", "redis-0"]);
  assert.ok(execs.every((e) => e.tty === true), "the stock rule only fires for shells with a terminal");
  assert.equal(execs[1]?.command, ["sh", "-c", `echo ${marker}`]);
  assert.match(result?.evidence[0] ?? "", /has no shell \(distroless app image\), so in the Redis pod/);
  assert.is(reads(), 2);
  assert.not.ok(api!.seen.some((s) => s.path.includes("falco-other")), "only the Falco pod on the target's node is read");
  assert.is(api!.seen.find((s) => s.path.endsWith("/log"))?.query.get("container"), "falco");
});

test("over HTTP: no alert within the wait fails, after polling with the clock (no real waiting)", async () => {
  const { ctx, reads } = await setUp({ alert: false });
  const [result] = await runCheck(falcoCheck, ctx);
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /no shell-in-container alert/);
  assert.is(reads(), 10);
  assert.match(result?.hint ?? "", /kubectl --context kind-giropops -n falco/);
});

test.run();
