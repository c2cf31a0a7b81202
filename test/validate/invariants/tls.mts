// Invariant: TLS on every endpoint. The Gateway has an HTTPS listener whose
// certificate Secrets a Certificate issues; every service route attaches to
// an HTTPS listener (sectionName) with each hostname covered by such a
// Certificate; plain HTTP only carries a 301 redirect to https, and that
// redirect exists.
import type { Rendered } from "../../lib/render.mts";
import { PLATFORM_GATEWAY, type ParentRef } from "./routes.mts";
import { collect, type ClusterContext, type Problem, type ProblemSink } from "./types.mts";

type Listener = { name: string; protocol: string; secrets: string[] };

/** The listeners of the platform Gateway, as the Traefik chart renders them from its values. */
export function gatewayListeners(apps: Rendered[]): Listener[] | undefined {
  const traefik = apps.find((a) => a.object.metadata?.name === PLATFORM_GATEWAY.controller);
  const listeners = traefik?.object.spec?.source?.helm?.valuesObject?.gateway?.listeners;
  if (!listeners || typeof listeners !== "object") return undefined;
  return Object.entries(listeners as Record<string, any>).map(([name, l]) => ({
    name,
    protocol: String(l?.protocol ?? ""),
    secrets: ((l?.certificateRefs ?? []) as any[]).filter((ref) => (ref.kind ?? "Secret") === "Secret").map((ref) => `${ref.namespace ?? PLATFORM_GATEWAY.namespace}/${ref.name}`),
  }));
}

/** A certificate name covers a host when equal, or as a wildcard for exactly one more label. */
export function covers(dnsName: string, host: string): boolean {
  if (dnsName === host) return true;
  return dnsName.startsWith("*.") && host.endsWith(dnsName.slice(1)) && !host.slice(0, -dnsName.length + 1).includes(".");
}

/** An HTTPRoute whose every rule redirects to https with a 301. */
export function isHttpsRedirect(route: Record<string, any>): boolean {
  const rules: any[] = route.spec?.rules ?? [];
  return rules.length > 0 && rules.every((rule) => (rule.filters ?? []).some((f: any) => f.type === "RequestRedirect" && f.requestRedirect?.scheme === "https" && f.requestRedirect?.statusCode === 301));
}

/** The TLS rules over the Applications and every object of a cluster. */
export function checkTls(apps: Rendered[], objects: Rendered[], problem: ProblemSink): void {
  const traefik = apps.find((a) => a.object.metadata?.name === PLATFORM_GATEWAY.controller);
  const listeners = gatewayListeners(apps);
  if (!traefik || !listeners) return; // no gateway in this tree: nothing is served
  const https = listeners.filter((l) => l.protocol === "HTTPS" && l.secrets.length > 0);
  const http = listeners.filter((l) => l.protocol === "HTTP");
  if (https.length === 0) problem(traefik, `Gateway ${PLATFORM_GATEWAY.name} has no HTTPS listener with certificateRefs: every UI must be served over HTTPS`);
  const certificates = objects.filter((r) => r.object.kind === "Certificate" && r.object.apiVersion?.startsWith("cert-manager.io/"));
  const issued = (secret: string) => certificates.filter((c) => `${c.object.metadata?.namespace}/${c.object.spec?.secretName}` === secret);
  const served = new Map<string, string[]>(); // listener -> dnsNames of its certificates
  for (const listener of https) {
    const names: string[] = [];
    for (const secret of listener.secrets) {
      const certs = issued(secret);
      if (certs.length === 0) problem(traefik, `listener ${listener.name} uses Secret ${secret}, which no cert-manager Certificate issues (the Gateway would stay Degraded)`);
      for (const c of certs) names.push(...(c.object.spec?.dnsNames ?? []));
    }
    served.set(listener.name, names);
  }
  let redirects = 0;
  for (const r of objects.filter((o) => o.object.kind === "HTTPRoute")) {
    const refs: ParentRef[] = (r.object.spec?.parentRefs ?? []).filter((p: ParentRef) => p.name === PLATFORM_GATEWAY.name);
    if (refs.length === 0) continue; // routes.mts reports routes on another Gateway
    if (isHttpsRedirect(r.object)) {
      if (refs.every((p) => http.some((l) => l.name === p.sectionName))) redirects++;
      else problem(r, `an HTTPS redirect must attach to the plain-HTTP listener (sectionName: ${http[0]?.name ?? "web"})`);
      continue;
    }
    const hosts: string[] = r.object.spec?.hostnames ?? [];
    for (const ref of refs) {
      const listener = https.find((l) => l.name === ref.sectionName);
      if (!listener) {
        problem(r, ref.sectionName
          ? `attaches to listener ${ref.sectionName}, which is not an HTTPS listener: use sectionName: ${https[0]?.name ?? "websecure"}`
          : `has no sectionName, so it is also served over plain HTTP: set sectionName: ${https[0]?.name ?? "websecure"}`);
        continue;
      }
      if (hosts.length === 0) problem(r, "has no hostnames: no certificate can be checked to cover it");
      for (const host of hosts) {
        if (!(served.get(listener.name) ?? []).some((name) => covers(String(name), String(host)))) {
          problem(r, `hostname ${host} has no certificate: no Certificate behind listener ${listener.name} lists it (or a wildcard covering it) in dnsNames`);
        }
      }
    }
  }
  if (http.length > 0 && redirects === 0) problem(traefik, `no HTTPRoute redirects the plain-HTTP listener ${http[0]!.name} to https (a RequestRedirect filter, scheme https, statusCode 301)`);
}

export function tls(ctx: ClusterContext): Problem[] {
  const { problems, problem } = collect();
  checkTls(ctx.apps, ctx.render.all, problem);
  return problems;
}
