// Day-0 Secrets (redis-auth, grafana-admin; the manifests reference them by name): created once with strong random values (or the
// ones from config), kept on every re-run, never in git, never printed.
import { randomBytes } from "node:crypto";
import type { Config } from "./config.mts";
import { FIELD_MANAGER, secretData, secretValue, type Kube, type KubeObject } from "./kube.mts";

/** 32 URL-safe characters from 24 random bytes (192 bits). */
export function generatePassword(): string {
  return randomBytes(24).toString("base64url");
}

export type SecretSpec = { namespace: string; name: string; data: () => Record<string, string>; fromConfig?: { key: string; value: string | undefined; env: string } };

/** Where the OKE DNS-01 ClusterIssuers (gitops/cert-manager/letsencrypt/dns01-cloudflare) read the Cloudflare token. */
export const CLOUDFLARE_SECRET = { namespace: "cert-manager", name: "cloudflare-api-token", key: "api-token" } as const;

export function day0Secrets(config: Pick<Config, "redisPassword" | "grafanaAdminPassword"> & Partial<Pick<Config, "cluster" | "cloudflareApiToken">>): SecretSpec[] {
  const token = config.cloudflareApiToken;
  return [
    // Only with a token: its absence is how OKE stays on HTTP-01.
    ...(config.cluster === "oke" && token
      ? [{ ...CLOUDFLARE_SECRET, data: () => ({ [CLOUDFLARE_SECRET.key]: token }), fromConfig: { key: CLOUDFLARE_SECRET.key, value: token, env: "CLOUDFLARE_API_TOKEN" } }]
      : []),
    {
      namespace: "giropops-senhas",
      name: "redis-auth",
      data: () => ({ password: config.redisPassword ?? generatePassword() }),
      fromConfig: { key: "password", value: config.redisPassword, env: "REDIS_PASSWORD" },
    },
    {
      namespace: "monitoring",
      name: "grafana-admin",
      data: () => ({ "admin-user": "admin", "admin-password": config.grafanaAdminPassword ?? generatePassword() }),
      fromConfig: { key: "admin-password", value: config.grafanaAdminPassword, env: "GRAFANA_ADMIN_PASSWORD" },
    },
  ];
}

export async function ensureNamespace(kube: Kube, name: string): Promise<boolean> {
  if (await kube.get("v1", "Namespace", name)) return false;
  await kube.create({ apiVersion: "v1", kind: "Namespace", metadata: { name } });
  return true;
}

export type SecretOutcome = { name: string; outcome: "created" | "kept"; warning?: string };

/** Creates the Secret (and its namespace) when missing; an existing one is kept as it is. */
export async function ensureSecret(kube: Kube, spec: SecretSpec, secret: (data: Record<string, string>) => KubeObject = (data) => opaqueSecret(spec, data)): Promise<SecretOutcome> {
  const name = `${spec.namespace}/${spec.name}`;
  const existing = await kube.get("v1", "Secret", spec.name, spec.namespace);
  if (existing) {
    const stored = secretValue(existing, spec.fromConfig?.key ?? "");
    const wanted = spec.fromConfig?.value;
    const differs = wanted !== undefined && stored !== undefined && stored !== wanted;
    return { name, outcome: "kept", warning: differs ? `${spec.fromConfig!.env} differs from the value stored in ${name}; the stored value is kept (delete the Secret and re-run to change it)` : undefined };
  }
  await ensureNamespace(kube, spec.namespace);
  await kube.create(secret(spec.data()));
  return { name, outcome: "created" };
}

/** An Opaque Secret bootstrap manages (labelled with its field manager). */
export function opaqueSecret(spec: Pick<SecretSpec, "name" | "namespace">, data: Record<string, string>): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    type: "Opaque",
    metadata: { name: spec.name, namespace: spec.namespace, labels: { "app.kubernetes.io/managed-by": FIELD_MANAGER } },
    data: secretData(data),
  };
}
