// Invariant: traffic the platform relies on gets through the NetworkPolicies:
// the Gateway reaches every HTTPRoute backend, Locust reaches its target.
import type { Rendered } from "../../lib/render.mts";
import { PLATFORM_GATEWAY } from "./routes.mts";
import { applicationOf, collect, type ClusterContext, type Problem } from "./types.mts";

type LabelSelector = { matchLabels?: Record<string, string>; matchExpressions?: { key: string; operator: string; values?: string[] }[] };
type Peer = { namespaceSelector?: LabelSelector; podSelector?: LabelSelector };

function matches(selector: LabelSelector | undefined, labels: Record<string, string>): boolean {
  if (!selector) return true;
  const byLabels = Object.entries(selector.matchLabels ?? {}).every(([k, v]) => labels[k] === v);
  const byExpressions = (selector.matchExpressions ?? []).every((e) => {
    const has = Object.hasOwn(labels, e.key);
    if (e.operator === "In") return has && e.values!.includes(labels[e.key]!);
    if (e.operator === "NotIn") return !has || !e.values!.includes(labels[e.key]!);
    if (e.operator === "Exists") return has;
    if (e.operator === "DoesNotExist") return !has;
    return false;
  });
  return byLabels && byExpressions;
}

/**
 * Why pods behind Service ns/name refuse traffic from namespace `from`
 * (ingress NetworkPolicies rendered in the same cluster), or null when they
 * accept it. Namespaces carry only their kubernetes.io/metadata.name label
 * here; port restrictions are not evaluated.
 */
export function blockedFrom(objects: Rendered[], ns: string, service: string, from: string): string | null {
  const svc = objects.find((r) => r.object.kind === "Service" && r.object.metadata?.name === service && (r.object.metadata?.namespace ?? ns) === ns)?.object;
  const selector = svc?.spec?.selector;
  if (!selector) return null;
  const policies = objects
    .map((r) => r.object)
    .filter((o) => o.kind === "NetworkPolicy" && (o.metadata?.namespace ?? ns) === ns)
    .filter((o) => (o.spec?.policyTypes ?? ["Ingress"]).includes("Ingress") && matches(o.spec?.podSelector, selector));
  if (policies.length === 0) return null;
  const nsLabels = { "kubernetes.io/metadata.name": from };
  // The source pods' labels are unknown here: a podSelector counts as admitting them.
  const peerAdmits = (peer: Peer) => (peer.namespaceSelector ? matches(peer.namespaceSelector, nsLabels) : peer.podSelector ? from === ns : false);
  const admitted = policies.some((o) => (o.spec?.ingress ?? []).some((rule: { from?: Peer[] }) => !rule.from || rule.from.length === 0 || rule.from.some(peerAdmits)));
  return admitted ? null : `NetworkPolicy ${policies.map((o) => o.metadata?.name).join(", ")} admits no traffic from namespace ${from}`;
}

export function reachability(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  const all = ctx.render.all;
  for (const [name, rendered] of ctx.render.byApplication) {
    const destination = applicationOf(ctx, name).object.spec.destination?.namespace ?? "";
    for (const r of rendered) {
      if (r.object.kind === "HTTPRoute") {
        for (const ref of r.object.spec?.rules?.flatMap((rule: any) => rule.backendRefs ?? []) ?? []) {
          const ns = ref.namespace ?? r.object.metadata?.namespace ?? destination;
          const blocked = blockedFrom(all, ns, ref.name, PLATFORM_GATEWAY.namespace);
          if (blocked) problem(r, `the Gateway (namespace ${PLATFORM_GATEWAY.namespace}) cannot reach backend ${ns}/${ref.name}: ${blocked}`);
        }
      }
      const target = r.object.kind === "ConfigMap" ? /^https?:\/\/([a-z0-9-]+)\.([a-z0-9-]+)\.svc/.exec(String(r.object.data?.LOCUST_HOST ?? "")) : null;
      if (target) {
        const blocked = blockedFrom(all, target[2]!, target[1]!, destination);
        if (blocked) problem(r, `Locust (namespace ${destination}) cannot reach its target ${target[2]}/${target[1]}: ${blocked}`);
      }
    }
  }
  return problems;
}
