// The root Application's patch on the argocd Application, applied by kustomize
// (as Argo CD does) to the real gitops/argocd notifications ConfigMap: the
// subscriptions name only the destinations set, and on OKE the links point at
// the cluster's domain. A replace of a key the file lacks fails the render,
// so this also keeps the patch paths in step with the file.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { execFileSync } from "node:child_process";
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { rootApplication } from "../../scripts/lib/argocd.mts";
import { REPO_ROOT } from "../../scripts/lib/runtime.mts";

type Patch = { target: Record<string, string>; patch: string };

/** The notifications ConfigMap as the argocd Application renders it under `root`. */
function rendered(root: ReturnType<typeof rootApplication>): Record<string, string> {
  const outer = (root.spec.source.kustomize.patches as Patch[]).find((p) => p.target.kind === "Application" && p.target.name === "argocd");
  assert.ok(outer, "the root Application patches the argocd Application");
  const inner = (JSON.parse(outer!.patch) as { path: string; value: { patches: Patch[] } }[]).find((op) => op.path === "/spec/source/kustomize")!.value.patches;
  const dir = mkdtempSync(join(tmpdir(), "notifications-"));
  try {
    copyFileSync(join(REPO_ROOT, "gitops/argocd/patches/argocd-notifications-cm.yaml"), join(dir, "cm.yaml"));
    writeFileSync(join(dir, "kustomization.yaml"), stringify({ resources: ["cm.yaml"], patches: inner }));
    return (parse(execFileSync("kubectl", ["kustomize", dir], { encoding: "utf8" })) as { data: Record<string, string> }).data;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("no destination set: nobody is subscribed, links stay on argocd.localhost", () => {
  const data = rendered(rootApplication({ cluster: "kind", domain: "localhost" }));
  assert.equal(parse(data.subscriptions!), []);
  assert.is(data.context, "argocdUrl: https://argocd.localhost\n");
});

test("the destinations set are the recipients of every trigger; on OKE the links use PLATFORM_DOMAIN", () => {
  const data = rendered(rootApplication({ cluster: "oke", domain: "giropops.example.org", alertNtfyUrl: "https://ntfy.sh/t", alertWebhookUrl: "https://hooks.example.org/x" }));
  assert.equal(parse(data.subscriptions!), [{ recipients: ["ntfy", "webhook"], triggers: ["on-sync-failed", "on-health-degraded", "on-rollback-synced"] }]);
  assert.is(data.context, "argocdUrl: https://argocd.giropops.example.org\n");
  // every trigger subscribed is defined in the file
  for (const trigger of ["on-sync-failed", "on-health-degraded", "on-rollback-synced"]) assert.ok(data[`trigger.${trigger}`], trigger);
});

test.run();
