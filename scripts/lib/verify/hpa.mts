// The app's HorizontalPodAutoscaler is there and reads current metrics, which
// only happens when metrics-server answers for the app's pods.
import { APP_NAMESPACE, getJson, plural, resultOf, type Check, type Verdict } from "./checks.mts";

type MetricStatus = {
  type?: string;
  resource?: { name?: string; current?: { averageUtilization?: number; averageValue?: string; value?: string } };
};
type Hpa = {
  metadata: { name: string };
  spec?: { minReplicas?: number; maxReplicas?: number; metrics?: unknown[] };
  status?: { currentReplicas?: number; desiredReplicas?: number; currentMetrics?: MetricStatus[]; conditions?: { type?: string; status?: string; reason?: string; message?: string }[] };
};
export type HpaList = { items?: Hpa[] };
export type PodMetricsList = { items?: { metadata: { name: string }; containers?: { name: string; usage?: { cpu?: string; memory?: string } }[] }[] };

function describeMetric(m: MetricStatus): string | undefined {
  const current = m.resource?.current;
  if (!current) return undefined;
  const value = current.averageUtilization !== undefined ? `${current.averageUtilization}%` : (current.averageValue ?? current.value);
  return value === undefined ? undefined : `${m.resource?.name ?? m.type} ${value}`;
}

export function judgeHpa(hpas: HpaList, podMetrics: PodMetricsList | undefined): Verdict {
  const hint = "kubectl -n giropops-senhas describe hpa; kubectl -n kube-system logs deploy/metrics-server --tail=30; kubectl top pods -n giropops-senhas";
  const items = hpas.items ?? [];
  const usage = podMetrics?.items ?? [];
  const evidence = [podMetrics ? `metrics-server: usage for ${plural(usage.length, "pod")} in giropops-senhas` : "metrics-server: no answer from metrics.k8s.io"];
  if (items.length === 0) return { ok: false, summary: "no HorizontalPodAutoscaler in giropops-senhas", evidence, hint };
  let ok = true;
  for (const hpa of items) {
    const metrics = (hpa.status?.currentMetrics ?? []).map(describeMetric).filter((m): m is string => Boolean(m));
    const active = hpa.status?.conditions?.find((c) => c.type === "ScalingActive");
    evidence.push(
      `${hpa.metadata.name}: replicas ${hpa.status?.currentReplicas ?? "?"} (min ${hpa.spec?.minReplicas ?? 1}, max ${hpa.spec?.maxReplicas ?? "?"}), current ${metrics.join(", ") || "<unknown>"}` +
        (active && active.status !== "True" ? `; ScalingActive=${active.status}: ${active.reason ?? ""} ${active.message ?? ""}`.trimEnd() : ""),
    );
    if (metrics.length === 0 || active?.status === "False") ok = false;
  }
  if (!ok) return { ok: false, summary: "the HPA has no current metrics (metrics-server not serving?)", evidence, hint };
  if (usage.length === 0) return { ok: false, summary: "metrics-server reports no pod usage in giropops-senhas", evidence, hint };
  return { ok: true, summary: `${plural(items.length, "HPA")} with current metrics`, evidence };
}

export const hpaCheck: Check = {
  name: "hpa",
  title: "the app's HPA is present with current metrics (metrics-server works)",
  hint: "kubectl get apiservice v1beta1.metrics.k8s.io",
  async run(ctx) {
    const hpas = await getJson<HpaList>(ctx.kube, `/apis/autoscaling/v2/namespaces/${APP_NAMESPACE}/horizontalpodautoscalers`);
    const metrics = await ctx.kube.request("GET", `/apis/metrics.k8s.io/v1beta1/namespaces/${APP_NAMESPACE}/pods`);
    return resultOf("hpa", judgeHpa(hpas, metrics.status === 200 ? (metrics.body as PodMetricsList) : undefined));
  },
};
