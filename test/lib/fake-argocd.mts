// Plays Argo CD's part against fake-kube: once the root Application exists it
// "syncs" it (creating the child Applications) and moves each child towards
// Synced/Healthy tick by tick, or leaves it stuck, as a test asks. The status
// it writes has the shape Argo CD v3.5.1 writes (argoproj/argo-cd v3.5.1,
// pkg/apis/application/v1alpha1/types.go ApplicationStatus): health carries
// only `status` (its `message` is deprecated and never set); why an app is
// unhealthy is in `conditions` (type, message) and `operationState` (phase,
// message, syncResult.resources[] with status SyncFailed and a message);
// status.resources[] carry `health` only when controller.resource.health.persist
// is "true" (a plan's resources say so themselves).
import type { FakeKube, Obj } from "./fake-kube.mts";

export type ChildPlan = {
  name: string;
  /** Ticks until Synced and Healthy (default 1). */
  healthyAfter?: number;
  /** Never becomes healthy: stays in this state with these resources. */
  stuck?: { sync?: string; health: "Degraded" | "Progressing" | "Missing"; conditions?: { type: string; message: string }[]; resources?: Record<string, unknown>[]; operation?: Record<string, unknown> };
};

const b64 = (text: string) => Buffer.from(text).toString("base64");
/** Fake by construction: not a certificate or key anyone could use. */
export const FAKE_CA_CERT = "-----BEGIN CERTIFICATE-----\nZmFrZSBDQSBjZXJ0aWZpY2F0ZQ==\n-----END CERTIFICATE-----\n";
export const FAKE_CA_KEY_MARKER = "fake-ca-key-material-never-written";
export const FAKE_CA_SECRET: Obj = {
  apiVersion: "v1",
  kind: "Secret",
  metadata: { name: "platform-ca", namespace: "cert-manager" },
  type: "kubernetes.io/tls",
  data: { "tls.crt": b64(FAKE_CA_CERT), "ca.crt": b64(FAKE_CA_CERT), "tls.key": b64(FAKE_CA_KEY_MARKER) },
};

export function simulateArgoCd(fake: FakeKube, children: ChildPlan[], tickMs = 25, caSecret = true): { stop(): void; ticks(): number } {
  let ticks = 0;
  const state = (app: Obj | undefined) => JSON.stringify(app?.status ?? null);
  const set = (name: string, status: Record<string, unknown>, labels?: Record<string, string>) => {
    const existing = fake.get("Application", name, "argocd");
    if (!existing) {
      fake.put({ apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name, namespace: "argocd", labels }, spec: { project: "platform" }, status });
    } else if (state(existing) !== JSON.stringify(status)) {
      fake.update("Application", name, "argocd", (app) => (app.status = status));
    }
  };
  const timer = setInterval(() => {
    if (!fake.get("Application", "root", "argocd")) return;
    ticks++;
    set("root", {
      sync: { status: "Synced", revision: "4b825dc642cb6eb9a060e54bf8d69288fbee4904" },
      health: { status: "Healthy" },
      resources: children.map((c) => ({ group: "argoproj.io", version: "v1alpha1", kind: "Application", namespace: "argocd", name: c.name, status: "Synced" })),
    });
    for (const child of children) {
      let status: Record<string, unknown>;
      if (child.stuck) {
        status = {
          sync: { status: child.stuck.sync ?? "Synced", revision: "4b825dc642cb6eb9a060e54bf8d69288fbee4904" },
          health: { status: child.stuck.health },
          resources: child.stuck.resources ?? [],
          ...(child.stuck.conditions ? { conditions: child.stuck.conditions } : {}),
          ...(child.stuck.operation ? { operationState: child.stuck.operation } : {}),
        };
      } else if (ticks >= (child.healthyAfter ?? 1)) {
        status = { sync: { status: "Synced", revision: "4b825dc642cb6eb9a060e54bf8d69288fbee4904" }, health: { status: "Healthy" } };
      } else {
        status = { sync: { status: "OutOfSync" }, health: { status: "Progressing" } };
      }
      set(child.name, status, { "giropops.dev/source": "git" });
    }
    // cert-manager's part: once every child is healthy, the local CA's Secret exists.
    if (caSecret && children.every((c) => !c.stuck && ticks >= (c.healthyAfter ?? 1)) && !fake.get("Secret", "platform-ca", "cert-manager")) {
      fake.put(FAKE_CA_SECRET);
    }
  }, tickMs);
  return {
    stop: () => clearInterval(timer),
    ticks: () => ticks,
  };
}
