// The fake API server keeps the real one's rules the code relies on.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createKubeApi } from "../../scripts/lib/verify/kube-api.mts";
import { startFakeKube } from "./fake-kube.mts";

test("the service proxy resolves ports by the Service's port names or numbers: 404 without the Service, 503 for a port it lacks", async () => {
  const fake = await startFakeKube({
    proxy: (service, port, path, query) => ({ body: { service: service.metadata.name, port: port.name ?? port.port, path, query: query.get("q") } }),
  });
  try {
    const api = createKubeApi({ context: fake.context, kubeconfigPath: fake.kubeconfigPath });
    const base = "/api/v1/namespaces/monitoring/services/prometheus-operated";
    assert.is((await api.request("GET", `${base}:http-web/proxy/api/v1/query`)).status, 404, "no Service yet");
    fake.put({ apiVersion: "v1", kind: "Namespace", metadata: { name: "monitoring" } });
    fake.put({ apiVersion: "v1", kind: "Service", metadata: { name: "prometheus-operated", namespace: "monitoring" }, spec: { ports: [{ name: "http-web", port: 9090 }] } });
    const named = await api.request("GET", `${base}:http-web/proxy/api/v1/query`, { query: { q: "up" } });
    assert.is(named.status, 200);
    assert.equal(named.body, { service: "prometheus-operated", port: "http-web", path: "/api/v1/query", query: "up" });
    assert.is((await api.request("GET", `${base}:9090/proxy/api/v1/query`)).status, 200, "by number");
    const guessed = await api.request("GET", `${base}:web/proxy/api/v1/query`);
    assert.is(guessed.status, 503, "a port name the Service does not have");
    assert.match(String((guessed.body as { message?: string }).message), /no endpoints available for service "prometheus-operated:web"/);
  } finally {
    await fake.close();
  }
});

test("namespaced writes need their Namespace (404), a new cluster's own Namespaces exist, and every body is kept as sent", async () => {
  const fake = await startFakeKube();
  try {
    const api = createKubeApi({ context: fake.context, kubeconfigPath: fake.kubeconfigPath });
    const body = JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "c" }, data: { a: "1" } });
    const missing = await api.request("POST", "/api/v1/namespaces/nowhere/configmaps", { body });
    assert.is(missing.status, 404);
    assert.is((missing.body as { message?: string }).message, 'namespaces "nowhere" not found');
    const applied = await api.request("PATCH", "/api/v1/namespaces/nowhere/configmaps/c", { body, contentType: "application/apply-patch+yaml", query: { fieldManager: "t" } });
    assert.is(applied.status, 404, "server-side apply too");
    for (const ns of ["default", "kube-system", "kube-public", "kube-node-lease"]) assert.ok(fake.get("Namespace", ns), ns);
    assert.is((await api.request("POST", "/api/v1/namespaces/default/configmaps", { body })).status, 201);
    assert.is(fake.requests.at(-1)!.body, body);
    assert.equal(fake.changes, ["created ConfigMap default/c"], "the cluster's own Namespaces are no change anyone made");
  } finally {
    await fake.close();
  }
});

test.run();
