// Falco sees a shell opened in an app-namespace container. The app image is
// distroless (no shell at all), so when `sh` is not there the shell is opened
// in the Redis pod of the same namespace, whose image has one: the rule under
// test is about any container, and nothing is created or left behind. The
// command carries a unique marker; the event is found in the Falco pod logs on
// that node (Falco prints every alert there, with or without Falcosidekick).
import { APP_NAMESPACE, getJson, resultOf, type Check, type Verdict, type VerifyContext } from "./checks.mts";

type Pod = { metadata: { name: string; labels?: Record<string, string> }; spec?: { nodeName?: string; containers?: { name: string }[] }; status?: { phase?: string } };
type PodList = { items?: Pod[] };

export type FalcoEvent = { rule: string; output: string };

/** Alerts about a shell that mention `marker`, from Falco's log (JSON or text output). */
export function shellEvents(log: string, marker: string): FalcoEvent[] {
  const events: FalcoEvent[] = [];
  for (const line of log.split("\n")) {
    if (!line.includes(marker)) continue;
    const start = line.indexOf("{");
    if (start >= 0) {
      try {
        const event = JSON.parse(line.slice(start)) as { rule?: string; output?: string };
        if (typeof event.rule === "string" && /shell/i.test(`${event.rule} ${event.output ?? ""}`)) {
          events.push({ rule: event.rule, output: event.output ?? "" });
        }
        continue;
      } catch {
        // not JSON: read it as text output below
      }
    }
    if (/shell/i.test(line)) events.push({ rule: "(text output)", output: line.trim() });
  }
  return events;
}

export type FalcoObservation = { target: string; why: string; execOutput: string; execCode: number; falcoPods: string[]; log: string; marker: string };

export function judgeFalco(o: FalcoObservation): Verdict {
  const hint = "kubectl -n falco get pods -o wide; kubectl -n falco logs ds/falco -c falco --tail=50";
  const evidence = [`exec ${o.target}: sh -c 'echo ${o.marker}' → exit ${o.execCode}${o.why ? ` (${o.why})` : ""}`];
  if (o.execCode !== 0) return { ok: false, summary: "could not open a shell in any app-namespace container", evidence: [...evidence, o.execOutput.trim().slice(0, 300)], hint };
  if (o.falcoPods.length === 0) return { ok: false, summary: "no running Falco pod on the node of the target pod", evidence, hint };
  const events = shellEvents(o.log, o.marker);
  evidence.push(`read logs of ${o.falcoPods.join(", ")}`);
  if (events.length === 0) return { ok: false, summary: "Falco raised no shell-in-container alert for the exec", evidence, hint };
  const first = events[0]!;
  evidence.push(`rule "${first.rule}": ${first.output.slice(0, 300)}`);
  return { ok: true, summary: `Falco raised "${first.rule}" for a shell in ${o.target}`, evidence };
}

const running = (pod: Pod) => pod.status?.phase === "Running";

async function pods(ctx: VerifyContext, namespace: string, selector: string): Promise<Pod[]> {
  const list = await getJson<PodList>(ctx.kube, `/api/v1/namespaces/${namespace}/pods`, { labelSelector: selector });
  return (list.items ?? []).filter(running);
}

export const falcoCheck: Check = {
  name: "falco",
  title: "Falco raises the shell-in-container rule for a shell in an app-namespace pod",
  hint: "kubectl -n falco get pods -o wide",
  async run(ctx) {
    const marker = `giropops-verify-${ctx.clock.now().toString(36)}`;
    const command = ["sh", "-c", `echo ${marker}`];
    const candidates = [
      ...(await pods(ctx, APP_NAMESPACE, "app.kubernetes.io/name=giropops-senhas")).slice(0, 1),
      ...(await pods(ctx, APP_NAMESPACE, "app.kubernetes.io/name=redis")).slice(0, 1),
    ];
    let target: Pod | undefined;
    let exec = { stdout: "no running pod in giropops-senhas", stderr: "", exitCode: 1 };
    for (const pod of candidates) {
      const container = pod.spec?.containers?.[0]?.name ?? "";
      // A terminal, because the stock Falco rule only fires for shells with one.
      exec = await ctx.kube.exec(APP_NAMESPACE, pod.metadata.name, container, command, { tty: true });
      target = pod;
      if (exec.exitCode === 0) break;
    }
    const node = target?.spec?.nodeName;
    const falcoPods = (await pods(ctx, "falco", "app.kubernetes.io/name=falco")).filter((p) => !node || p.spec?.nodeName === node);
    let log = "";
    // Falco prints within a second or two; give it up to 30 s.
    for (let attempt = 0; attempt < 10 && exec.exitCode === 0 && falcoPods.length > 0; attempt++) {
      ctx.progress(`waiting for Falco's alert (${attempt * 3}s)`);
      log = "";
      for (const pod of falcoPods) {
        const answer = await ctx.kube.request("GET", `/api/v1/namespaces/falco/pods/${pod.metadata.name}/log`, { query: { container: "falco", sinceSeconds: "600" } });
        if (answer.status === 200) log += `${answer.text}\n`;
      }
      if (shellEvents(log, marker).length > 0) break;
      await ctx.clock.sleep(3000);
    }
    const verdict = judgeFalco({
      target: target ? `${APP_NAMESPACE}/${target.metadata.name}` : APP_NAMESPACE,
      why: exec.exitCode === 0 && candidates[0] && target !== candidates[0] ? `${candidates[0].metadata.name} has no shell (distroless app image), so in the Redis pod` : "",
      execOutput: `${exec.stdout}${exec.stderr}`,
      execCode: exec.exitCode,
      falcoPods: falcoPods.map((p) => p.metadata.name),
      log,
      marker,
    });
    return resultOf("falco", verdict);
  },
};
