// Kyverno guards the app namespace: a bad Pod (privileged, `latest`, no
// limits) is denied with the policy's message, and a good one (the app's own
// pod template) is admitted. Both are server-side dry-runs (dryRun=All):
// admission runs in full, nothing is stored.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { renderKustomization } from "../argocd.mts";
import type { KubeObject } from "../kube.mts";
import { getJson, resultOf, statusMessage, type Check, type KubeResponse, type Verdict, type VerifyContext } from "./checks.mts";
import { APP_NAMESPACE } from "./monitoring.mts";

const POLICY_KINDS = new Set(["ValidatingPolicy", "ImageValidatingPolicy", "ClusterPolicy", "Policy", "ValidatingAdmissionPolicy"]);

/** Names of the policies the repository declares (gitops/policies rendered). */
export async function policyNames(ctx: Pick<VerifyContext, "runner" | "repoRoot">): Promise<string[]> {
  const dir = join(ctx.repoRoot, "gitops", "policies");
  if (!existsSync(join(dir, "kustomization.yaml"))) return [];
  return (await renderKustomization(ctx.runner, ctx.repoRoot, "gitops/policies")).filter((o) => POLICY_KINDS.has(o.kind)).map((o) => o.metadata.name);
}

type PodTemplate = { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Record<string, any>[] } & Record<string, any> };

/** A Pod that breaks the three rules: privileged, `:latest`, no limits. */
export function badPod(template: PodTemplate, name: string): KubeObject {
  const first = template.spec?.containers?.[0] ?? {};
  const repository = String(first.image ?? "ghcr.io/giropops/giropops-senhas").replace(/@sha256:[a-f0-9]+$/, "").replace(/:[^:/]+$/, "");
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: APP_NAMESPACE, labels: { "giropops.dev/verify": "true" } },
    spec: { containers: [{ name: first.name ?? "app", image: `${repository}:latest`, securityContext: { privileged: true } }] },
  };
}

/** A Pod the policies must admit: the app Deployment's own pod template. */
export function goodPod(template: PodTemplate, name: string): KubeObject {
  const spec = structuredClone(template.spec ?? {});
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: APP_NAMESPACE, labels: { ...(template.metadata?.labels ?? {}), "giropops.dev/verify": "true" } },
    spec,
  };
}

export function judgeKyverno(denied: KubeResponse, admitted: KubeResponse, policies: string[]): Verdict {
  const hint = "kubectl get validatingpolicies,clusterpolicies; kubectl -n kyverno logs deploy/kyverno-admission-controller --tail=50";
  const message = statusMessage(denied.body);
  const named = policies.filter((p) => message.includes(p));
  const byKyverno = /kyverno/i.test(message) || named.length > 0;
  const shown = message.replace(/\s+/g, " ").trim().slice(0, 600);
  const evidence = [
    denied.status >= 400
      ? `bad Pod (privileged, :latest, no limits) → HTTP ${denied.status}: ${shown}`
      : `bad Pod (privileged, :latest, no limits) → HTTP ${denied.status}: admitted`,
    ...(named.length > 0 ? [`policies named in the denial: ${named.join(", ")}`] : []),
    admitted.status < 300 ? `good Pod (the app's pod template) → HTTP ${admitted.status}: admitted (dry-run)` : `good Pod (the app's pod template) → HTTP ${admitted.status}: ${statusMessage(admitted.body).replace(/\s+/g, " ").slice(0, 400)}`,
  ];
  if (denied.status < 400) return { ok: false, summary: "a privileged `latest` Pod without limits was admitted (policies in Audit mode or not installed?)", evidence, hint };
  if (!byKyverno) return { ok: false, summary: "the bad Pod was refused, but not by a Kyverno policy (Pod Security Admission or quota?)", evidence, hint };
  if (admitted.status >= 300) return { ok: false, summary: "the app's own pod template is denied", evidence, hint };
  return { ok: true, summary: `Kyverno denies the bad Pod${named.length ? ` (${named.join(", ")})` : ""} and admits the app's`, evidence };
}

async function dryRunCreate(ctx: VerifyContext, pod: KubeObject): Promise<KubeResponse> {
  return ctx.kube.request("POST", `/api/v1/namespaces/${APP_NAMESPACE}/pods`, { query: { dryRun: "All" }, body: pod });
}

export const kyvernoCheck: Check = {
  name: "kyverno",
  title: "Kyverno denies a bad Pod and admits a good one (server-side dry-run)",
  hint: "kubectl -n kyverno get pods; kubectl -n giropops-senhas get deploy giropops-senhas",
  async run(ctx) {
    const deployment = await getJson<{ spec?: { template?: PodTemplate } }>(ctx.kube, `/apis/apps/v1/namespaces/${APP_NAMESPACE}/deployments/giropops-senhas`);
    const template = deployment.spec?.template ?? {};
    const suffix = ctx.clock.now().toString(36);
    const denied = await dryRunCreate(ctx, badPod(template, `verify-denied-${suffix}`));
    const admitted = await dryRunCreate(ctx, goodPod(template, `verify-admitted-${suffix}`));
    return resultOf("kyverno", judgeKyverno(denied, admitted, await policyNames(ctx)));
  },
};
