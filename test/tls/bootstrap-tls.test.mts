// Bootstrap and status on the TLS side: the local CA's certificate (never its
// key) lands in ~/.giropops/<name>-ca.crt; status shows https URLs and, on
// OKE, port-forward commands for the UIs without a login.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { bootstrap } from "../../scripts/bootstrap.mts";
import { endpoints } from "../../scripts/lib/summary.mts";
import { caCertificate } from "../../scripts/lib/tls.mts";
import { status } from "../../scripts/status.mts";
import type { KubeApi } from "../../scripts/lib/verify/checks.mts";
import { verify, type VerifyDeps } from "../../scripts/verify.mts";
import { harness, REPO, tempHome } from "../lib/cli-harness.mts";
import { FAKE_CA_CERT, FAKE_CA_KEY_MARKER, simulateArgoCd } from "../lib/fake-argocd.mts";
import { startFakeKube, type FakeKube } from "../lib/fake-kube.mts";

const ARGS = ["--cluster", "kind", "--repo", REPO, "--revision", "main", "--timeout", "20s"];
let kube: FakeKube;
let argo: { stop(): void } | undefined;
test.before.each(async () => {
  kube = await startFakeKube({ context: "kind-giropops" });
});
test.after.each(async () => {
  argo?.stop();
  argo = undefined;
  await kube.close();
});

test("kind: bootstrap waits for the local CA and writes its certificate, not its key, outside the repository", async () => {
  argo = simulateArgoCd(kube, [{ name: "cert-manager-issuers", healthyAfter: 2 }]);
  const home = tempHome();
  const h = harness({ kube, home });
  assert.is(await bootstrap(ARGS, h.deps), 0, h.output());
  const file = join(home, ".giropops", "giropops-ca.crt");
  assert.is(readFileSync(file, "utf8"), FAKE_CA_CERT);
  assert.is(statSync(file).mode & 0o777, 0o644);
  assert.not.ok(readFileSync(file, "utf8").includes(FAKE_CA_KEY_MARKER));
  assert.not.ok(h.output().includes(FAKE_CA_KEY_MARKER), "the key is never printed");
  assert.match(h.output(), new RegExp(`Local CA: CA certificate \\(public part only\\) written to ${file.replace(/[.]/g, "\\.")}`));
  assert.match(h.output(), /curl --cacert \S+giropops-ca\.crt https:\/\/argocd\.localhost/);

  const again = harness({ kube, home });
  assert.is(await bootstrap(ARGS, again.deps), 0, again.output());
  assert.match(again.output(), /already in \S+giropops-ca\.crt/);
});

test("kind: when the CA Secret never appears, bootstrap says how to fetch it later and writes nothing", async () => {
  argo = simulateArgoCd(kube, [{ name: "cert-manager-issuers" }], 25, false);
  const home = tempHome();
  const h = harness({ kube, home, overrides: { pollMs: 20 } });
  // --timeout bounds the wait for the CA too.
  assert.is(await bootstrap([...ARGS.slice(0, -1), "2s"], h.deps), 0, h.output());
  assert.not.ok(existsSync(join(home, ".giropops", "giropops-ca.crt")));
  assert.match(h.output(), /kubectl --context kind-giropops -n cert-manager get secret platform-ca -o 'jsonpath=\{\.data\.tls\\\.crt\}' \| base64 -d > \S+giropops-ca\.crt/);
});

test("only a certificate is taken from the CA Secret", () => {
  const secret = (crt: string) => ({ apiVersion: "v1", kind: "Secret", metadata: { name: "platform-ca" }, data: { "tls.crt": Buffer.from(crt).toString("base64") } });
  assert.is(caCertificate(secret(FAKE_CA_CERT)), FAKE_CA_CERT);
  assert.is(caCertificate(secret(`${FAKE_CA_CERT}-----BEGIN EC PRIVATE` + " KEY-----\n")), undefined);
  assert.is(caCertificate(secret("garbage")), undefined);
  assert.is(caCertificate(undefined), undefined);
});

test("URLs are https everywhere; OKE keeps Prometheus and Alertmanager behind kubectl port-forward", () => {
  const target = { context: "oke-giropops", kubeconfigPath: "clusters/oke/giropops.kubeconfig" };
  for (const e of endpoints({ cluster: "kind", domain: "localhost" }, { context: "kind-giropops" })) {
    assert.is(e.url, `https://${e.host}.localhost`);
    assert.is(e.portForward, undefined);
  }
  const oke = new Map(endpoints({ cluster: "oke", domain: "example.org" }, target).map((e) => [e.host, e]));
  for (const host of ["argocd", "grafana", "senhas", "locust"]) assert.is(oke.get(host)!.url, `https://${host}.example.org`);
  assert.is(oke.get("prometheus")!.url, "http://localhost:9090");
  assert.is(oke.get("prometheus")!.portForward, "kubectl --kubeconfig clusters/oke/giropops.kubeconfig --context oke-giropops -n monitoring port-forward svc/kube-prometheus-stack-prometheus 9090");
  assert.match(oke.get("alertmanager")!.portForward!, /port-forward svc\/kube-prometheus-stack-alertmanager 9093$/);
});

test("status prints how to read each login and the CA file, never a secret value", async () => {
  kube.put({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "applications.argoproj.io" },
    spec: { group: "argoproj.io", names: { kind: "Application", plural: "applications" }, scope: "Namespaced", versions: [{ name: "v1alpha1" }] },
  });
  kube.put({ apiVersion: "argoproj.io/v1alpha1", kind: "Application", metadata: { name: "root", namespace: "argocd" }, spec: {}, status: { sync: { status: "Synced" }, health: { status: "Healthy" } } });
  const value = "argo-initial-value-1234";
  kube.put({ apiVersion: "v1", kind: "Secret", metadata: { name: "argocd-initial-admin-secret", namespace: "argocd" }, data: { password: Buffer.from(value).toString("base64") } });
  const home = tempHome();
  const h = harness({ kube, home });
  assert.is(await status([], h.deps), 0, h.output());
  const out = h.output();
  assert.match(out, /Argo CD: user admin, password: kubectl --context kind-giropops -n argocd get secret argocd-initial-admin-secret -o jsonpath=\{\.data\.password\} \| base64 -d/);
  assert.match(out, /Grafana: user admin, password: kubectl --context kind-giropops -n monitoring get secret grafana-admin/);
  assert.ok(out.includes(join(home, ".giropops", "giropops-ca.crt")));
  assert.not.ok(out.includes(value) || out.includes(Buffer.from(value).toString("base64")), "no secret value");
  assert.equal(kube.requests.filter((r) => r.method !== "GET" && r.method !== "LIST").map((r) => r.method), [], "status only reads");
});

test("verify trusts ~/.giropops/<name>-ca.crt by default on kind and calls the UIs over https", async () => {
  kube.put({
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "applications.argoproj.io" },
    spec: { group: "argoproj.io", names: { kind: "Application", plural: "applications" }, scope: "Namespaced", versions: [{ name: "v1alpha1" }] },
  });
  const home = tempHome();
  mkdirSync(join(home, ".giropops"));
  writeFileSync(join(home, ".giropops", "giropops-ca.crt"), FAKE_CA_CERT);
  const h = harness({ kube, home });
  const seen: { ca?: string; urls: string[] } = { urls: [] };
  const deps: VerifyDeps = {
    ...h.deps,
    kubeApi: () => ({ server: kube.url, request: async () => ({ status: 404, body: {}, text: "" }), exec: async () => ({ code: 1, stdout: "", stderr: "" }) }) as unknown as KubeApi,
    http: (options) => {
      seen.ca = options.ca;
      return async (url) => {
        seen.urls.push(url);
        return { status: 503, headers: {}, text: "" };
      };
    },
    clock: { now: () => Date.now(), sleep: async () => {} },
  };
  await verify(["--only", "app"], deps);
  assert.is(seen.ca, FAKE_CA_CERT);
  assert.ok(seen.urls.length > 0 && seen.urls.every((u) => u.startsWith("https://senhas.localhost")), seen.urls.join(", "));

  const without = harness({ kube, home: tempHome() });
  await verify(["--only", "app"], { ...deps, ...without.deps, kubeApi: deps.kubeApi, http: deps.http, clock: deps.clock });
  assert.match(without.output(), /no local CA at \S+giropops-ca\.crt: checks over https:\/\/\*\.localhost will not trust the certificates/);
});

test.run();
