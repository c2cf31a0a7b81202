// GitOps round trip (opt-in: it pushes two commits to the repository Argo CD
// follows). The app's replica floor in clusters/<cluster>/giropops-senhas is
// raised by one, committed and pushed; Argo CD must apply it (HPA minReplicas
// changed and the Deployment scaled up) within the time allowed; then the
// commit is reverted and pushed, and Argo CD must apply that too.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ARGOCD_NAMESPACE, ROOT_APP } from "../argocd.mts";
import { normalizeRepoUrl } from "../git.mts";
import { APP_NAMESPACE, getJson, resultOf, type Check, type CheckResult, type VerifyContext } from "./checks.mts";

export const overlayFile = (cluster: string) => `clusters/${cluster}/giropops-senhas/kustomization.yaml`;

export type Bump = { text: string; from: number; to: number; field: "minReplicas" | "replicas" };

/**
 * Raises the replica floor in an overlay's text, keeping everything else (comments
 * included) byte for byte: the HPA patch's `/spec/minReplicas` value, else a
 * kustomize `replicas:` count.
 */
export function bumpReplicas(text: string): Bump | undefined {
  const hpa = /(path:\s*\/spec\/minReplicas,\s*value:\s*)(\d+)/.exec(text);
  if (hpa) {
    const from = Number(hpa[2]);
    return { text: text.replace(hpa[0], `${hpa[1]}${from + 1}`), from, to: from + 1, field: "minReplicas" };
  }
  const count = /(replicas:\s*\n\s*-\s*name:\s*giropops-senhas\s*\n\s*count:\s*)(\d+)/.exec(text);
  if (count) {
    const from = Number(count[2]);
    return { text: text.replace(count[0], `${count[1]}${from + 1}`), from, to: from + 1, field: "replicas" };
  }
  return undefined;
}

type Scale = { minReplicas?: number; deploymentReplicas?: number; readyReplicas?: number };

async function observe(ctx: VerifyContext): Promise<Scale> {
  const deployment = await getJson<{ spec?: { replicas?: number }; status?: { readyReplicas?: number } }>(ctx.kube, `/apis/apps/v1/namespaces/${APP_NAMESPACE}/deployments/giropops-senhas`);
  const hpa = await ctx.kube.request("GET", `/apis/autoscaling/v2/namespaces/${APP_NAMESPACE}/horizontalpodautoscalers/giropops-senhas`);
  const scale: Scale = {};
  const min = (hpa.body as { spec?: { minReplicas?: number } } | undefined)?.spec?.minReplicas;
  if (hpa.status === 200 && min !== undefined) scale.minReplicas = min;
  if (deployment.spec?.replicas !== undefined) scale.deploymentReplicas = deployment.spec.replicas;
  if (deployment.status?.readyReplicas !== undefined) scale.readyReplicas = deployment.status.readyReplicas;
  return scale;
}

/** Is the cluster at `wanted`? For the HPA: its floor, and the Deployment at least that big. */
export function applied(scale: Scale, bump: Pick<Bump, "field">, wanted: number, scaleUp: boolean): boolean {
  if (bump.field === "replicas") return scale.deploymentReplicas === wanted;
  // Scaling back down waits for the HPA's stabilization window (5 min): only the floor is Argo CD's doing.
  return scale.minReplicas === wanted && (!scaleUp || (scale.deploymentReplicas ?? 0) >= wanted);
}

/** Asks Argo CD to re-read git now instead of at its next poll (up to 3 minutes away). */
async function refresh(ctx: VerifyContext): Promise<void> {
  for (const app of [ROOT_APP, "giropops-senhas"]) {
    await ctx.kube.request("PATCH", `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${app}`, {
      body: { metadata: { annotations: { "argocd.argoproj.io/refresh": "normal" } } },
      contentType: "application/merge-patch+json",
    });
  }
}

async function waitFor(ctx: VerifyContext, what: string, done: (scale: Scale) => boolean): Promise<{ ok: boolean; seconds: number; scale: Scale }> {
  const started = ctx.clock.now();
  for (;;) {
    const scale = await observe(ctx);
    const seconds = Math.round((ctx.clock.now() - started) / 1000);
    if (done(scale)) return { ok: true, seconds, scale };
    if (ctx.clock.now() - started >= ctx.options.roundtripTimeoutMs) return { ok: false, seconds, scale };
    ctx.progress(`${what} (${seconds}s): HPA min ${scale.minReplicas ?? "-"}, Deployment ${scale.deploymentReplicas ?? "-"} replicas`);
    await ctx.clock.sleep(5000);
  }
}

export const roundtripCheck: Check = {
  name: "gitops-roundtrip",
  title: "a pushed replica change is applied by Argo CD, then reverted (pushes 2 commits)",
  optIn: "gitopsRoundtrip",
  hint: "git log -3 --oneline; kubectl -n argocd get application giropops-senhas -o yaml",
  async run(ctx): Promise<CheckResult> {
    const file = overlayFile(ctx.config.cluster);
    const git = (...args: string[]) => ctx.runner.run("git", args, { cwd: ctx.repoRoot });
    const fail = (summary: string, evidence: string[] = [], hint?: string) => resultOf("gitops-roundtrip", { ok: false, summary, evidence, ...(hint ? { hint } : {}) });

    // Argo CD must follow this checkout's branch on this checkout's origin, or the push proves nothing.
    const root = await getJson<{ spec?: { source?: { repoURL?: string; targetRevision?: string } } }>(ctx.kube, `/apis/argoproj.io/v1alpha1/namespaces/${ARGOCD_NAMESPACE}/applications/${ROOT_APP}`);
    const origin = (await git("remote", "get-url", "origin")).stdout.trim();
    const branch = (await git("rev-parse", "--abbrev-ref", "HEAD")).stdout.trim();
    const follows = `${root.spec?.source?.repoURL ?? "?"} @ ${root.spec?.source?.targetRevision ?? "?"}`;
    if (normalizeRepoUrl(origin) !== normalizeRepoUrl(root.spec?.source?.repoURL ?? "") || root.spec?.source?.targetRevision !== branch) {
      return fail(`Argo CD follows ${follows}, this checkout is ${origin} @ ${branch}`, [], "check out the branch Argo CD follows (or re-run bootstrap from this branch)");
    }
    if ((await git("status", "--porcelain", "--", file)).stdout.trim()) return fail(`${file} has uncommitted changes; commit or stash them first`);
    await git("fetch", "origin", branch);
    const behind = Number((await git("rev-list", "--count", `HEAD..origin/${branch}`)).stdout.trim());
    if (behind > 0) return fail(`this checkout is ${behind} commit(s) behind origin/${branch}; git pull first`);

    const original = readFileSync(join(ctx.repoRoot, file), "utf8");
    const bump = bumpReplicas(original);
    if (!bump) return fail(`no replica count to change in ${file} (HPA minReplicas patch or replicas: entry)`);
    const evidence = [`Argo CD follows ${follows}`];

    writeFileSync(join(ctx.repoRoot, file), bump.text);
    await git("commit", "-q", "-m", `verify: GitOps round trip, ${bump.field} ${bump.from} → ${bump.to}`, "--", file);
    const sha = (await git("rev-parse", "--short", "HEAD")).stdout.trim();
    let pushed = false;
    let up: Awaited<ReturnType<typeof waitFor>> | undefined;
    let down: Awaited<ReturnType<typeof waitFor>> | undefined;
    try {
      await git("push", "-q", "origin", `HEAD:${branch}`);
      pushed = true;
      evidence.push(`pushed ${sha}: ${file} ${bump.field} ${bump.from} → ${bump.to}`);
      await refresh(ctx);
      up = await waitFor(ctx, `waiting for Argo CD to apply ${sha}`, (s) => applied(s, bump, bump.to, true));
      evidence.push(
        up.ok
          ? `applied in ${up.seconds}s: HPA min ${up.scale.minReplicas ?? "-"}, Deployment ${up.scale.deploymentReplicas} replicas (${up.scale.readyReplicas ?? 0} ready)`
          : `not applied after ${up.seconds}s: HPA min ${up.scale.minReplicas ?? "-"}, Deployment ${up.scale.deploymentReplicas ?? "-"} replicas`,
      );
    } finally {
      // Whatever happened, the repository ends as it started (a revert, never a rewrite of history).
      await git("revert", "--no-edit", "HEAD");
      if (pushed) {
        const revert = (await git("rev-parse", "--short", "HEAD")).stdout.trim();
        await git("push", "-q", "origin", `HEAD:${branch}`);
        evidence.push(`pushed revert ${revert}`);
        await refresh(ctx);
        down = await waitFor(ctx, `waiting for Argo CD to apply the revert ${revert}`, (s) => applied(s, bump, bump.from, false));
        evidence.push(down.ok ? `revert applied in ${down.seconds}s: ${bump.field} back to ${bump.from}` : `revert not applied after ${down.seconds}s`);
      }
    }
    const limit = Math.round(ctx.options.roundtripTimeoutMs / 1000);
    if (!up || !down) return fail("the round trip stopped early", evidence);
    if (!up.ok) return fail(`Argo CD did not apply the pushed change within ${limit}s`, evidence, "kubectl -n argocd get application giropops-senhas -o jsonpath='{.status.sync}'");
    if (!down.ok) return fail(`Argo CD did not apply the revert within ${limit}s`, evidence, "kubectl -n argocd get application giropops-senhas -o jsonpath='{.status.sync}'");
    return resultOf("gitops-roundtrip", { ok: true, summary: `Argo CD applied a pushed change in ${up.seconds}s and its revert in ${down.seconds}s`, evidence });
  },
};
