// Kyverno guards the app namespace: bad Pods (privileged, `latest`, no
// limits) are denied with the policy's message, and a good one (the app's own
// pod template) is admitted. All are server-side dry-runs (dryRun=All):
// admission runs in full, nothing is stored.
import { join } from "node:path";
import { existsSync } from "node:fs";
import { renderKustomization } from "../argocd.mts";
import type { KubeObject } from "../kube.mts";
import { getJson, resultOf, statusMessage, type Check, type KubeResponse, type Verdict, type VerifyContext } from "./checks.mts";
import { APP_NAMESPACE } from "./checks.mts";

const POLICY_KINDS = new Set(["ValidatingPolicy", "ImageValidatingPolicy", "ClusterPolicy", "Policy", "ValidatingAdmissionPolicy"]);

/** Names of the policies the repository declares (gitops/policies rendered). */
export async function policyNames(ctx: Pick<VerifyContext, "runner" | "repoRoot">): Promise<string[]> {
  const dir = join(ctx.repoRoot, "gitops", "policies");
  if (!existsSync(join(dir, "kustomization.yaml"))) return [];
  return (await renderKustomization(ctx.runner, ctx.repoRoot, "gitops/policies")).filter((o) => POLICY_KINDS.has(o.kind)).map((o) => o.metadata.name);
}

type PodTemplate = { metadata?: { labels?: Record<string, string> }; spec?: { containers?: Record<string, any>[] } & Record<string, any> };

const repositoryOf = (image: unknown) => String(image ?? "ghcr.io/giropops/giropops-senhas").replace(/@sha256:[a-f0-9]+$/, "").replace(/:[^:/]+$/, "");

/** A Pod that breaks the three rules: privileged, `:latest`, no limits. */
export function badPod(template: PodTemplate, name: string): KubeObject {
  const first = template.spec?.containers?.[0] ?? {};
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: APP_NAMESPACE, labels: { "giropops.dev/verify": "true" } },
    spec: { containers: [{ name: first.name ?? "app", image: `${repositoryOf(first.image)}:latest`, securityContext: { privileged: true } }] },
  };
}

/** A Pod the policies must admit: the app Deployment's own pod template. */
export function goodPod(template: PodTemplate, name: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: APP_NAMESPACE, labels: { ...(template.metadata?.labels ?? {}), "giropops.dev/verify": "true" } },
    spec: structuredClone(template.spec ?? {}),
  };
}

/**
 * The app's pod template with `:latest` and no resources. It passes Pod Security
 * "restricted", which (when the namespace enforces it) rejects a privileged Pod
 * before any webhook runs, so only Kyverno can deny this one.
 */
export function latestWithoutLimitsPod(template: PodTemplate, name: string): KubeObject {
  const pod = goodPod(template, name);
  for (const container of (pod.spec?.containers ?? []) as Record<string, any>[]) {
    container.image = `${repositoryOf(container.image)}:latest`;
    delete container.resources;
  }
  return pod;
}

export type KyvernoAnswers = { bad: KubeResponse; latestWithoutLimits: KubeResponse; good: KubeResponse };

const oneLine = (text: string, max = 500) => text.replace(/\s+/g, " ").trim().slice(0, max);
const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

/** Who refused a request, read from its Status message. */
export function refusedBy(message: string, policies: string[]): { kyverno: boolean; named: string[]; podSecurity: boolean } {
  // "disallow-latest-tag" must not match "disallow-latest-tag-audit".
  const named = policies.filter((p) => new RegExp(`(^|[^\\w-])${escape(p)}(?![\\w-])`).test(message));
  return { kyverno: /kyverno/i.test(message) || named.length > 0, named, podSecurity: /violates PodSecurity/.test(message) };
}

export function judgeKyverno(answers: KyvernoAnswers, policies: string[]): Verdict {
  const hint = "kubectl get validatingpolicies; kubectl -n kyverno logs deploy/kyverno-admission-controller --tail=50";
  const { bad, latestWithoutLimits, good } = answers;
  const describe = (label: string, r: KubeResponse) =>
    r.status < 300 ? `${label} → HTTP ${r.status}: admitted (dry-run)` : `${label} → HTTP ${r.status}: ${oneLine(statusMessage(r.body))}`;
  const badBy = refusedBy(statusMessage(bad.body), policies);
  const latestBy = refusedBy(statusMessage(latestWithoutLimits.body), policies);
  const named = [...new Set([...badBy.named, ...latestBy.named])];
  const evidence = [
    describe("privileged, :latest, no limits", bad),
    describe("the app's pod with :latest and no resources", latestWithoutLimits),
    describe("the app's own pod template", good),
    ...(named.length ? [`Kyverno policies named: ${named.join(", ")}`] : []),
  ];
  if (bad.status < 400) return { ok: false, summary: "a privileged `latest` Pod without limits was admitted (policies in Audit mode or not installed?)", evidence, hint };
  if (latestWithoutLimits.status < 400) return { ok: false, summary: "a `latest` Pod without limits was admitted: Kyverno does not enforce in giropops-senhas", evidence, hint };
  if (!latestBy.kyverno) return { ok: false, summary: "the bad Pods were refused, but not by a Kyverno policy", evidence, hint };
  if (good.status >= 300) return { ok: false, summary: "the app's own pod template is denied", evidence, hint };
  const psa = badBy.podSecurity ? "; Pod Security refused the privileged one first" : "";
  return { ok: true, summary: `Kyverno denies bad Pods${named.length ? ` (${named.join(", ")})` : ""} and admits the app's${psa}`, evidence };
}

async function dryRunCreate(ctx: VerifyContext, pod: KubeObject): Promise<KubeResponse> {
  return ctx.kube.request("POST", `/api/v1/namespaces/${APP_NAMESPACE}/pods`, { query: { dryRun: "All" }, body: pod });
}

export const kyvernoCheck: Check = {
  name: "kyverno",
  title: "Kyverno denies bad Pods and admits a good one (server-side dry-run)",
  hint: "kubectl -n kyverno get pods; kubectl -n giropops-senhas get deploy giropops-senhas",
  async run(ctx) {
    const deployment = await getJson<{ spec?: { template?: PodTemplate } }>(ctx.kube, `/apis/apps/v1/namespaces/${APP_NAMESPACE}/deployments/giropops-senhas`);
    const template = deployment.spec?.template ?? {};
    const suffix = ctx.clock.now().toString(36);
    const answers: KyvernoAnswers = {
      bad: await dryRunCreate(ctx, badPod(template, `verify-privileged-${suffix}`)),
      latestWithoutLimits: await dryRunCreate(ctx, latestWithoutLimitsPod(template, `verify-latest-${suffix}`)),
      good: await dryRunCreate(ctx, goodPod(template, `verify-good-${suffix}`)),
    };
    return resultOf("kyverno", judgeKyverno(answers, await policyNames(ctx)));
  },
};
