// TLS on every endpoint, as rendered for each cluster: cert-manager and its
// issuers in waves before the gateway's certificate, one Certificate with
// every published hostname, routes on the HTTPS listener, one 301 redirect.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { parse as parseYaml } from "yaml";
import { CLOUDFLARE_SECRET } from "../../scripts/lib/secrets.mts";
import { REPO_ROOT, isApplication, kustomize, renderCluster, type Rendered } from "../lib/render.mts";
import { chartExtraObjects, covers, gatewayListeners, isHttpsRedirect, schemaCheck, wave } from "../validate/validate.mts";

const HOSTS = ["argocd", "grafana", "prometheus", "alertmanager", "senhas", "locust"];
const apps = (cluster: "kind" | "minikube" | "oke") => renderCluster(cluster).root.filter((r) => isApplication(r.object));
const app = (list: Rendered[], name: string) => list.find((a) => a.object.metadata.name === name)!;
const certificate = (list: Rendered[]) => chartExtraObjects(app(list, "traefik")).find((r) => r.object.kind === "Certificate")!.object;

test("cert-manager v1.21.1 from the jetstack repo installs its CRDs, before the issuers, before the gateway", () => {
  for (const cluster of ["kind", "minikube", "oke"] as const) {
    const list = apps(cluster);
    const source = app(list, "cert-manager").object.spec.source;
    assert.is(source.repoURL, "https://charts.jetstack.io");
    assert.is(source.chart, "cert-manager");
    assert.is(source.targetRevision, "v1.21.1");
    assert.is(source.helm.valuesObject.crds.enabled, true);
    const [manager, issuers, traefik] = ["cert-manager", "cert-manager-issuers", "traefik"].map((n) => wave(app(list, n).object));
    assert.ok(manager! < issuers! && issuers! < traefik!, `${cluster}: waves ${manager} < ${issuers} < ${traefik}`);
    assert.ok(wave(app(list, "gateway-api-crds").object) <= manager!, "Gateway API CRDs no later than cert-manager");
  }
});

test("kind and minikube: selfSigned issuer -> CA Certificate -> CA ClusterIssuer platform-ca", () => {
  for (const cluster of ["kind", "minikube"] as const) {
    const issuers = renderCluster(cluster).byApplication.get("cert-manager-issuers")!.map((r) => r.object);
    const selfSigned = issuers.find((o) => o.kind === "ClusterIssuer" && o.spec.selfSigned)!;
    const ca = issuers.find((o) => o.kind === "Certificate")!;
    const caIssuer = issuers.find((o) => o.kind === "ClusterIssuer" && o.metadata.name === "platform-ca")!;
    assert.ok(selfSigned, "a selfSigned ClusterIssuer");
    assert.is(ca.spec.isCA, true);
    assert.is(ca.metadata.namespace, "cert-manager", "the CA Secret lives in cert-manager's cluster resource namespace");
    assert.equal(ca.spec.issuerRef, { group: "cert-manager.io", kind: "ClusterIssuer", name: selfSigned.metadata.name });
    assert.is(caIssuer.spec.ca.secretName, ca.spec.secretName);
  }
});

test("kind and minikube: one Certificate for the six hostnames, issued by platform-ca before the Gateway", () => {
  for (const cluster of ["kind", "minikube"] as const) {
    const list = apps(cluster);
    const cert = certificate(list);
    assert.equal([...cert.spec.dnsNames].sort(), HOSTS.map((h) => `${h}.localhost`).sort());
    assert.is(cert.spec.issuerRef.name, "platform-ca");
    assert.is(cert.metadata.namespace, "traefik");
    assert.is(cert.metadata.annotations["argocd.argoproj.io/sync-wave"], "-1", "applied and Ready before the Gateway in the traefik sync");
    const websecure = gatewayListeners(list)!.find((l) => l.name === "websecure")!;
    assert.is(websecure.protocol, "HTTPS");
    assert.equal(websecure.secrets, [`traefik/${cert.spec.secretName}`]);
  }
});

test("OKE: Let's Encrypt staging and production, HTTP-01 through the web listener by default", () => {
  const oke = renderCluster("oke");
  const list = apps("oke");
  const issuers = oke.byApplication.get("cert-manager-issuers")!.map((r) => r.object);
  assert.equal(issuers.map((o) => o.metadata.name).sort(), ["letsencrypt-production", "letsencrypt-staging"]);
  for (const issuer of issuers) {
    assert.match(issuer.spec.acme.server, /^https:\/\/acme(-staging)?-v02\.api\.letsencrypt\.org\/directory$/);
    assert.equal(issuer.spec.acme.solvers[0].http01.gatewayHTTPRoute.parentRefs[0], { group: "gateway.networking.k8s.io", kind: "Gateway", name: "platform", namespace: "traefik", sectionName: "web" });
  }
  // The chart writes `config` verbatim as the controller's ControllerConfiguration file,
  // whose switch is enableGatewayAPI (no gatewayAPI.enabled): pin the whole object.
  assert.equal(
    app(list, "cert-manager").object.spec.source.helm.valuesObject.config,
    { apiVersion: "controller.config.cert-manager.io/v1alpha1", kind: "ControllerConfiguration", enableGatewayAPI: true },
    "HTTP-01 through the Gateway API",
  );
  const cert = certificate(list);
  assert.is(cert.spec.issuerRef.name, "letsencrypt-production");
  assert.equal([...cert.spec.dnsNames].sort(), ["argocd", "grafana", "locust", "senhas"].map((h) => `${h}.example.com`));
  assert.not.ok(cert.metadata.annotations?.["argocd.argoproj.io/sync-wave"], "HTTP-01 needs the Gateway first: no earlier wave");
  const routes = oke.all.filter((r) => r.object.kind === "HTTPRoute").map((r) => r.object.metadata.name);
  assert.not.ok(routes.includes("prometheus") || routes.includes("alertmanager"), "no login: not published on OKE");
});

test("OKE's DNS-01 alternative reads the Cloudflare token from the Secret bootstrap creates", () => {
  const issuers = kustomize("gitops/cert-manager/letsencrypt/dns01-cloudflare").map((r) => r.object);
  assert.is(issuers.length, 2);
  for (const issuer of issuers) {
    assert.equal(issuer.spec.acme.solvers[0].dns01.cloudflare.apiTokenSecretRef, { name: CLOUDFLARE_SECRET.name, key: CLOUDFLARE_SECRET.key });
  }
  assert.is(CLOUDFLARE_SECRET.namespace, "cert-manager", "a ClusterIssuer reads Secrets from cert-manager's namespace");
});

test("every service route is on the HTTPS listener; plain HTTP only redirects (301, https)", () => {
  for (const cluster of ["kind", "minikube", "oke"] as const) {
    const { all } = renderCluster(cluster);
    const routes = all.filter((r) => r.object.kind === "HTTPRoute");
    const redirects = routes.filter((r) => isHttpsRedirect(r.object));
    assert.is(redirects.length, 1, `${cluster}: one redirect`);
    assert.equal(redirects[0]!.object.spec.parentRefs.map((p: any) => p.sectionName), ["web"]);
    for (const r of routes.filter((x) => !isHttpsRedirect(x.object))) {
      assert.equal(r.object.spec.parentRefs.map((p: any) => p.sectionName), ["websecure"], `${cluster} ${r.object.metadata.name}`);
    }
    assert.ok(routes.length >= (cluster === "oke" ? 5 : 7), `${cluster}: ${routes.length} routes`);
  }
});

test("cert-manager objects, including the chart's extraObjects, are checked against cert-manager's schema", async () => {
  const cert = structuredClone(certificate(apps("kind")));
  assert.is(await schemaCheck(cert), null);
  cert.spec.dnsNames = "argocd.localhost";
  assert.match(String(await schemaCheck(cert)), /dnsNames/);
  const issuer = { apiVersion: "cert-manager.io/v1", kind: "ClusterIssuer", metadata: { name: "x" }, spec: { acme: { server: 42 } } };
  assert.ok(typeof (await schemaCheck(issuer)) === "string" && (await schemaCheck(issuer)) !== "no-schema");
});

test("Argo CD speaks plain HTTP behind the gateway (server.insecure), so HTTPS ends at Traefik without a redirect loop", () => {
  const params = parseYaml(readFileSync(join(REPO_ROOT, "gitops/argocd/patches/argocd-cmd-params-cm.yaml"), "utf8"));
  assert.is(params.data["server.insecure"], "true");
  const route = kustomize("gitops/argocd/route").find((r) => r.object.kind === "HTTPRoute")!.object;
  assert.equal(route.spec.rules[0].backendRefs, [{ name: "argocd-server", port: 80 }], "the server's plain-HTTP port");
  assert.is(route.spec.parentRefs[0].sectionName, "websecure");
});

test("a certificate name covers its host, or one label under a wildcard", () => {
  assert.ok(covers("a.example.com", "a.example.com"));
  assert.ok(covers("*.example.com", "a.example.com"));
  assert.not.ok(covers("*.example.com", "a.b.example.com"));
  assert.not.ok(covers("*.example.com", "example.com"));
  assert.not.ok(covers("b.example.com", "a.example.com"));
});

test.run();
