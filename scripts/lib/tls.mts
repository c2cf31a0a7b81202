// The local CA of kind and minikube (gitops/cert-manager/issuers): bootstrap
// copies its public certificate, never its key, to a file outside git so a
// person (and verify) can trust https://*.localhost.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ClusterKind, Config } from "./config.mts";
import { kubectl, secretValue, type Kube, type KubeObject, type KubeTarget } from "./kube.mts";

/** The CA Certificate's Secret (gitops/cert-manager/issuers/local-ca.yaml). */
export const LOCAL_CA_SECRET = { namespace: "cert-manager", name: "platform-ca" } as const;

export function usesLocalCa(cluster: ClusterKind): boolean {
  return cluster !== "oke";
}

/** ~/.giropops/<cluster-name>-ca.crt */
export function localCaPath(home: string, config: Pick<Config, "clusterName">): string {
  return join(home, ".giropops", `${config.clusterName}-ca.crt`);
}

/** The command that prints the CA certificate, for when the file is missing. */
export function localCaCommand(target: KubeTarget, path: string): string {
  return `${kubectl(target, "-n", LOCAL_CA_SECRET.namespace, "get", "secret", LOCAL_CA_SECRET.name, "-o", "jsonpath={.data.tls\\.crt}")} | base64 -d > ${path}`;
}

/** The public certificate in the CA Secret (tls.crt), or undefined; the key is never read. */
export function caCertificate(secret: KubeObject | undefined): string | undefined {
  const pem = secretValue(secret, "tls.crt");
  if (!pem) return undefined;
  // Only certificates: a Secret holding anything else is not written out.
  if (!pem.includes("-----BEGIN CERTIFICATE-----") || /PRIVATE KEY/.test(pem)) return undefined;
  return pem;
}

export type CaExport = { path: string; outcome: "written" | "unchanged" } | { path: string; outcome: "missing" };

/**
 * Waits (up to timeoutMs) for the CA Secret and writes its certificate to
 * `path`; an identical file is left alone. "missing" when it never appears.
 */
export async function exportLocalCa(kube: Kube, path: string, options: { timeoutMs: number; pollMs?: number }): Promise<CaExport> {
  const outcome = await kube.waitUntil({ apiVersion: "v1", kind: "Secret", namespace: LOCAL_CA_SECRET.namespace, fieldSelector: `metadata.name=${LOCAL_CA_SECRET.name}` }, {
    timeoutMs: options.timeoutMs,
    pollMs: options.pollMs,
    done: (items) => caCertificate(items[0]) !== undefined,
  });
  const pem = caCertificate(outcome.items[0]);
  if (!pem) return { path, outcome: "missing" };
  if (existsSync(path) && readFileSync(path, "utf8") === pem) return { path, outcome: "unchanged" };
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  writeFileSync(path, pem, { mode: 0o644 });
  return { path, outcome: "written" };
}
