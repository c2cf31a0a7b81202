// A small Kubernetes API server for tests: it stores objects and answers
// discovery, server-side apply (PATCH application/apply-patch+yaml), get,
// create, list (label and field selectors) and watch, over real HTTP, so
// @kubernetes/client-node runs unchanged against it. Not a conformance
// implementation: apply merges the applied fields over what is stored. Where
// the code relies on the real API server's rules, the fake keeps them:
//  - a namespaced object can only be written into an existing Namespace; else
//    404 `namespaces "<ns>" not found` (kube-apiserver's NamespaceLifecycle
//    admission plugin, kubernetes/kubernetes plugin/pkg/admission/namespace/lifecycle);
//    default, kube-system, kube-public and kube-node-lease exist from the start,
//    as on a new cluster;
//  - the service proxy (/api/v1/namespaces/<ns>/services/<svc>:<port>/proxy/...)
//    resolves <port> by the Service's spec.ports names (or numbers) and answers
//    503 when the Service or port is not there (k8s pkg/registry/core/service/proxy
//    plus the endpoint lookup in staging/src/k8s.io/apimachinery/pkg/util/proxy);
//  - every request body is kept as sent (`received`), so a test can compare
//    what arrived with what it rendered.
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import { parse } from "yaml";

export type Obj = { apiVersion: string; kind: string; metadata: Record<string, any> & { name: string; namespace?: string } } & Record<string, any>;

type ResourceType = { group: string; version: string; kind: string; plural: string; namespaced: boolean };

const BUILTIN: ResourceType[] = [
  ["", "v1", "Namespace", "namespaces", false],
  ["", "v1", "Secret", "secrets", true],
  ["", "v1", "ConfigMap", "configmaps", true],
  ["", "v1", "Service", "services", true],
  ["", "v1", "ServiceAccount", "serviceaccounts", true],
  ["", "v1", "Event", "events", true],
  ["", "v1", "Pod", "pods", true],
  ["apps", "v1", "Deployment", "deployments", true],
  ["apps", "v1", "StatefulSet", "statefulsets", true],
  ["apiextensions.k8s.io", "v1", "CustomResourceDefinition", "customresourcedefinitions", false],
  ["rbac.authorization.k8s.io", "v1", "Role", "roles", true],
  ["rbac.authorization.k8s.io", "v1", "RoleBinding", "rolebindings", true],
  ["rbac.authorization.k8s.io", "v1", "ClusterRole", "clusterroles", false],
  ["rbac.authorization.k8s.io", "v1", "ClusterRoleBinding", "clusterrolebindings", false],
  ["networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies", true],
].map(([group, version, kind, plural, namespaced]) => ({ group, version, kind, plural, namespaced }) as ResourceType);

export type Request = { method: string; path: string; query: URLSearchParams; contentType?: string; /** The body exactly as it arrived. */ body: string };

/** Answers a service-proxy request the API server forwarded: (service, resolved port, path below /proxy). */
export type ProxyHandler = (service: Obj, port: { name?: string; port: number }, path: string, query: URLSearchParams) => { status?: number; body: unknown } | undefined;

export type FakeKubeOptions = {
  /** The context bootstrap should use; the kubeconfig's current-context is another, dead one. */
  context?: string;
  /** CRDs become Established, Deployments Available, StatefulSets ready as soon as they are written (default true). */
  autoReady?: boolean;
  /** Called after every write that changed an object (simulate controllers here). */
  onChange?: (object: Obj, fake: FakeKube) => void;
  /** What the pods behind a Service answer through the service proxy (404 when undefined). */
  proxy?: ProxyHandler;
};

export type FakeKube = {
  url: string;
  kubeconfigPath: string;
  context: string;
  requests: Request[];
  /** "created Namespace argocd", "updated Application argocd/root", … in order. */
  changes: string[];
  get(kind: string, name: string, namespace?: string): Obj | undefined;
  list(kind: string, namespace?: string): Obj[];
  /** Creates or replaces an object as a controller would (bumps resourceVersion, notifies watchers). */
  put(object: Obj): Obj;
  /** Edits a stored object in place as a controller would. */
  update(kind: string, name: string, namespace: string | undefined, edit: (object: Obj) => void): Obj;
  close(): Promise<void>;
};

const clone = <T,>(value: T): T => structuredClone(value);

function merge(target: any, patch: any): any {
  if (Array.isArray(patch) || patch === null || typeof patch !== "object") return clone(patch);
  const out = target && typeof target === "object" && !Array.isArray(target) ? { ...target } : {};
  for (const [key, value] of Object.entries(patch)) out[key] = merge(out[key], value);
  return out;
}

/** RFC 6902 add, remove, replace and test; a failed test or a missing path throws (the API server answers 422). */
function jsonPatch(target: any, operations: { op: string; path: string; value?: unknown }[]): any {
  const doc = clone(target);
  for (const { op, path, value } of operations) {
    const keys = path.split("/").slice(1).map((k) => k.replace(/~1/g, "/").replace(/~0/g, "~"));
    const last = keys.pop()!;
    const parent = keys.reduce((node, key) => (node == null ? undefined : node[key]), doc);
    if (parent == null || typeof parent !== "object") throw new Error(`doc is missing path: ${path}`);
    const index = Array.isArray(parent) ? (last === "-" ? parent.length : Number(last)) : undefined;
    if (op === "test") {
      if (JSON.stringify(parent[last]) !== JSON.stringify(value)) throw new Error(`testing value ${path} failed`);
    } else if (op === "remove") {
      if (!(last in parent)) throw new Error(`doc is missing path: ${path}`);
      if (Array.isArray(parent)) parent.splice(index!, 1);
      else delete parent[last];
    } else if (op === "add" && Array.isArray(parent)) parent.splice(index!, 0, clone(value));
    else if (op === "add" || op === "replace") {
      if (op === "replace" && !(last in parent)) throw new Error(`doc is missing path: ${path}`);
      parent[last] = clone(value);
    } else throw new Error(`unsupported op ${op}`);
  }
  return doc;
}

function valueAt(object: any, path: string): unknown {
  return path.split(".").reduce((value, key) => (value == null ? undefined : value[key]), object);
}

function matchesSelectors(object: Obj, query: URLSearchParams): boolean {
  const labels = object.metadata.labels ?? {};
  for (const term of (query.get("labelSelector") ?? "").split(",").filter(Boolean)) {
    const [key, value] = term.split("=");
    if (labels[key!] !== value) return false;
  }
  for (const term of (query.get("fieldSelector") ?? "").split(",").filter(Boolean)) {
    const [path, value] = term.split("=");
    if (String(valueAt(object, path!) ?? "") !== value) return false;
  }
  return true;
}

export async function startFakeKube(options: FakeKubeOptions = {}): Promise<FakeKube> {
  const context = options.context ?? "kind-giropops";
  const types: ResourceType[] = [...BUILTIN];
  const store = new Map<string, Obj>();
  const watchers = new Set<{ type: ResourceType; namespace?: string; query: URLSearchParams; res: ServerResponse }>();
  const requests: Request[] = [];
  const changes: string[] = [];
  let revision = 100;
  // A new cluster's own Namespaces (not in `changes`: nobody under test made them).
  for (const name of ["default", "kube-system", "kube-public", "kube-node-lease"]) {
    store.set(`/namespaces//${name}`, { apiVersion: "v1", kind: "Namespace", metadata: { name, uid: `uid-ns-${name}`, resourceVersion: "1", labels: { "kubernetes.io/metadata.name": name } }, spec: { finalizers: ["kubernetes"] }, status: { phase: "Active" } });
  }
  const namespaceMissing = (type: ResourceType, namespace: string | undefined) =>
    type.namespaced && !store.has(`/namespaces//${namespace ?? "default"}`) ? (namespace ?? "default") : undefined;

  const typeOf = (apiVersion: string, kind: string) => {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
    return types.find((t) => t.group === group && t.version === version && t.kind === kind);
  };
  const keyOf = (type: ResourceType, namespace: string | undefined, name: string) => `${type.group}/${type.plural}/${type.namespaced ? namespace ?? "default" : ""}/${name}`;
  const apiVersionOf = (type: ResourceType) => (type.group ? `${type.group}/${type.version}` : type.version);

  const notify = (event: "ADDED" | "MODIFIED" | "DELETED", type: ResourceType, object: Obj) => {
    for (const watcher of watchers) {
      if (watcher.type !== type || (watcher.namespace && watcher.namespace !== object.metadata.namespace)) continue;
      if (!matchesSelectors(object, watcher.query)) continue;
      watcher.res.write(`${JSON.stringify({ type: event, object })}\n`);
    }
  };

  const react = (object: Obj) => {
    if (object.kind === "CustomResourceDefinition") {
      const spec = object.spec;
      for (const v of spec.versions ?? []) {
        if (!types.some((t) => t.group === spec.group && t.version === v.name && t.kind === spec.names.kind)) {
          types.push({ group: spec.group, version: v.name, kind: spec.names.kind, plural: spec.names.plural, namespaced: spec.scope === "Namespaced" });
        }
      }
    }
    if (options.autoReady === false) return;
    const generation = object.metadata.generation;
    if (object.kind === "CustomResourceDefinition" && !object.status?.conditions) {
      object.status = { conditions: [{ type: "Established", status: "True" }] };
    } else if (object.kind === "Deployment" && object.status?.observedGeneration !== generation) {
      object.status = { observedGeneration: generation, replicas: object.spec?.replicas ?? 1, availableReplicas: object.spec?.replicas ?? 1, conditions: [{ type: "Available", status: "True" }] };
    } else if (object.kind === "StatefulSet" && object.status?.observedGeneration !== generation) {
      object.status = { observedGeneration: generation, replicas: object.spec?.replicas ?? 1, readyReplicas: object.spec?.replicas ?? 1 };
    }
  };

  /** Stores `next` when it differs from what is stored; returns the stored object. */
  const write = (type: ResourceType, next: Obj, manager?: string): { object: Obj; created: boolean; changed: boolean } => {
    const key = keyOf(type, next.metadata.namespace, next.metadata.name);
    const existing = store.get(key);
    if (type.namespaced) next.metadata.namespace ??= "default";
    else delete next.metadata.namespace;
    next.apiVersion = apiVersionOf(type);
    next.kind = type.kind;
    if (manager) {
      const managers = (existing?.metadata.managedFields ?? []).filter((m: { manager: string }) => m.manager !== manager);
      next.metadata.managedFields = [...managers, { manager, operation: "Apply", apiVersion: next.apiVersion }];
    }
    const specChanged = existing !== undefined && JSON.stringify(existing.spec) !== JSON.stringify(next.spec);
    next.metadata.generation = existing ? (existing.metadata.generation ?? 1) + (specChanged ? 1 : 0) : 1;
    next.metadata.uid = existing?.metadata.uid ?? `uid-${revision + 1}`;
    next.metadata.creationTimestamp = existing?.metadata.creationTimestamp ?? new Date().toISOString();
    react(next);
    const comparable = (o: Obj | undefined) => JSON.stringify(o ? { ...o, metadata: { ...o.metadata, resourceVersion: undefined } } : undefined);
    if (existing && comparable(existing) === comparable(next)) return { object: existing, created: false, changed: false };
    next.metadata.resourceVersion = String(++revision);
    store.set(key, next);
    const where = next.metadata.namespace ? `${next.metadata.namespace}/` : "";
    changes.push(`${existing ? "updated" : "created"} ${type.kind} ${where}${next.metadata.name}`);
    notify(existing ? "MODIFIED" : "ADDED", type, next);
    options.onChange?.(clone(next), fake);
    return { object: store.get(key)!, created: !existing, changed: true };
  };

  const status = (res: ServerResponse, code: number, reason: string, message: string) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Failure", message, reason, code }));
  };
  const json = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "content-type": "application/json" });
    res.end(JSON.stringify(body));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    const method = req.method ?? "GET";
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks).toString();
    requests.push({ method, path: url.pathname, query: url.searchParams, contentType: req.headers["content-type"], body });
    const parts = url.pathname.split("/").filter(Boolean);

    if (url.pathname === "/version") return json(res, 200, { major: "1", minor: "36", gitVersion: "v1.36.1-fake", platform: "linux/amd64" });
    if (url.pathname === "/api") return json(res, 200, { kind: "APIVersions", versions: ["v1"] });
    if (url.pathname === "/apis") {
      const groups = [...new Set(types.filter((t) => t.group).map((t) => t.group))];
      return json(res, 200, {
        kind: "APIGroupList",
        apiVersion: "v1",
        groups: groups.map((name) => {
          const versions = [...new Set(types.filter((t) => t.group === name).map((t) => t.version))].map((version) => ({ groupVersion: `${name}/${version}`, version }));
          return { name, versions, preferredVersion: versions[0] };
        }),
      });
    }
    // /api/v1/... or /apis/<group>/<version>/...
    const [group, version, rest] = parts[0] === "api" ? ["", parts[1], parts.slice(2)] : parts[0] === "apis" ? [parts[1], parts[2], parts.slice(3)] : [undefined, undefined, []];
    if (group === undefined || !version) return status(res, 404, "NotFound", `the server could not find the requested resource (${url.pathname})`);
    const inVersion = types.filter((t) => t.group === group && t.version === version);
    if (inVersion.length === 0) return status(res, 404, "NotFound", `the server could not find the requested resource (${url.pathname})`);
    if (rest.length === 0) {
      return json(res, 200, {
        kind: "APIResourceList",
        apiVersion: "v1",
        groupVersion: group ? `${group}/${version}` : version,
        resources: inVersion.map((t) => ({ name: t.plural, singularName: t.kind.toLowerCase(), namespaced: t.namespaced, kind: t.kind, verbs: ["create", "delete", "get", "list", "patch", "update", "watch"] })),
      });
    }
    let namespace: string | undefined;
    let segments = rest;
    if (group === "" && segments[0] === "namespaces" && segments[2] === "services" && segments[4] === "proxy") {
      const [serviceName, portRef] = (segments[3] ?? "").split(":");
      const service = store.get(`/services/${segments[1]}/${serviceName}`);
      if (!service) return status(res, 404, "NotFound", `services "${serviceName}" not found`);
      const ports = (service.spec?.ports ?? []) as { name?: string; port: number }[];
      const port = portRef === undefined ? (ports.length === 1 ? ports[0] : undefined) : ports.find((p) => p.name === portRef || String(p.port) === portRef);
      if (!port) return status(res, 503, "ServiceUnavailable", `no endpoints available for service "${serviceName}:${portRef ?? ""}"`);
      const answer = options.proxy?.(clone(service), port, `/${segments.slice(5).join("/")}`, url.searchParams);
      if (!answer) return status(res, 404, "NotFound", "the server could not find the requested resource");
      return json(res, answer.status ?? 200, answer.body);
    }
    if (segments[0] === "namespaces" && segments.length >= 3) {
      namespace = segments[1];
      segments = segments.slice(2);
    }
    const [plural, name] = segments;
    const type = inVersion.find((t) => t.plural === plural);
    if (!type) return status(res, 404, "NotFound", `the server could not find the requested resource (${url.pathname})`);

    if (!name) {
      if (method === "GET" && (url.searchParams.get("watch") === "true" || url.searchParams.get("watch") === "1")) {
        res.writeHead(200, { "content-type": "application/json", "transfer-encoding": "chunked" });
        res.flushHeaders();
        const watcher = { type, namespace, query: url.searchParams, res };
        watchers.add(watcher);
        res.on("close", () => watchers.delete(watcher));
        return;
      }
      if (method === "GET") {
        const items = [...store.values()].filter((o) => o.kind === type.kind && apiVersionOf(type) === o.apiVersion && (!namespace || o.metadata.namespace === namespace) && matchesSelectors(o, url.searchParams));
        return json(res, 200, { kind: `${type.kind}List`, apiVersion: apiVersionOf(type), metadata: { resourceVersion: String(revision) }, items });
      }
      if (method === "POST") {
        const object = parse(body) as Obj;
        if (namespace) object.metadata.namespace = namespace;
        const missing = namespaceMissing(type, object.metadata.namespace);
        if (missing) return status(res, 404, "NotFound", `namespaces "${missing}" not found`);
        if (store.has(keyOf(type, object.metadata.namespace, object.metadata.name))) return status(res, 409, "AlreadyExists", `${type.plural} "${object.metadata.name}" already exists`);
        return json(res, 201, write(type, object).object);
      }
      return status(res, 405, "MethodNotAllowed", `${method} not allowed`);
    }

    const key = keyOf(type, namespace, name);
    const existing = store.get(key);
    if (method === "GET") return existing ? json(res, 200, existing) : status(res, 404, "NotFound", `${type.plural} "${name}" not found`);
    if (method === "DELETE") {
      if (!existing) return status(res, 404, "NotFound", `${type.plural} "${name}" not found`);
      store.delete(key);
      changes.push(`deleted ${type.kind} ${namespace ? `${namespace}/` : ""}${name}`);
      notify("DELETED", type, existing);
      return json(res, 200, existing);
    }
    if (method === "PATCH") {
      const contentType = req.headers["content-type"] ?? "";
      const patch = parse(body) as Obj;
      if (contentType.startsWith("application/apply-patch+yaml")) {
        const manager = url.searchParams.get("fieldManager");
        if (!manager) return status(res, 400, "BadRequest", "PATCH with apply requires a fieldManager");
        const missing = namespaceMissing(type, namespace);
        if (!existing && missing) return status(res, 404, "NotFound", `namespaces "${missing}" not found`);
        const next = merge(existing ? clone(existing) : {}, { ...patch, status: existing?.status ?? patch.status }) as Obj;
        next.metadata = { ...next.metadata, name, ...(namespace ? { namespace } : {}) };
        const { object, created } = write(type, next, manager);
        return json(res, created ? 201 : 200, object);
      }
      if (!existing) return status(res, 404, "NotFound", `${type.plural} "${name}" not found`);
      if (contentType.startsWith("application/merge-patch+json")) return json(res, 200, write(type, merge(clone(existing), patch)).object);
      if (contentType.startsWith("application/json-patch+json")) {
        let next: Obj;
        try {
          next = jsonPatch(existing, JSON.parse(body));
        } catch (error) {
          return status(res, 422, "Invalid", (error as Error).message);
        }
        return json(res, 200, write(type, next).object);
      }
      return status(res, 415, "UnsupportedMediaType", `unsupported patch type ${contentType}`);
    }
    if (method === "PUT") {
      if (!existing) return status(res, 404, "NotFound", `${type.plural} "${name}" not found`);
      return json(res, 200, write(type, parse(body) as Obj).object);
    }
    return status(res, 405, "MethodNotAllowed", `${method} not allowed`);
  };

  const server = createServer((req, res) => {
    handle(req, res).catch((error: Error) => status(res, 500, "InternalError", error.message));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const dir = mkdtempSync(join(tmpdir(), "fake-kube-"));
  const kubeconfigPath = join(dir, "kubeconfig");
  // current-context points at a dead server: code that forgets the explicit context fails.
  writeFileSync(
    kubeconfigPath,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [
        { name: "fake", cluster: { server: url, "insecure-skip-tls-verify": true } },
        { name: "someone-elses", cluster: { server: "http://127.0.0.1:9", "insecure-skip-tls-verify": true } },
      ],
      users: [{ name: "fake", user: { token: "fake-token" } }],
      contexts: [
        { name: context, context: { cluster: "fake", user: "fake" } },
        { name: "someone-elses-prod", context: { cluster: "someone-elses", user: "fake" } },
      ],
      "current-context": "someone-elses-prod",
    }),
  );

  const find = (kind: string, name: string, namespace?: string) =>
    [...store.values()].find((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));

  const fake: FakeKube = {
    url,
    kubeconfigPath,
    context,
    requests,
    changes,
    get: (kind, name, namespace) => {
      const found = find(kind, name, namespace);
      return found && clone(found);
    },
    list: (kind, namespace) => [...store.values()].filter((o) => o.kind === kind && (!namespace || o.metadata.namespace === namespace)).map(clone),
    put(object) {
      const type = typeOf(object.apiVersion, object.kind);
      if (!type) throw new Error(`fake-kube: unknown type ${object.apiVersion} ${object.kind}`);
      const existing = store.get(keyOf(type, object.metadata.namespace, object.metadata.name));
      return clone(write(type, merge(existing ? clone(existing) : {}, object) as Obj).object);
    },
    update(kind, name, namespace, edit) {
      const found = find(kind, name, namespace);
      if (!found) throw new Error(`fake-kube: no ${kind} ${name}`);
      const next = clone(found);
      edit(next);
      return clone(write(typeOf(found.apiVersion, found.kind)!, next).object);
    },
    async close() {
      for (const watcher of watchers) watcher.res.end();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return fake;
}

/** A kubeconfig with one context (named as bootstrap names kind's) pointing at `server`. */
export function writeKubeconfig(path: string, server: string, context = "kind-giropops"): string {
  writeFileSync(
    path,
    JSON.stringify({
      apiVersion: "v1",
      kind: "Config",
      clusters: [{ name: "c", cluster: { server, "insecure-skip-tls-verify": true } }],
      users: [{ name: "u", user: { token: "t" } }],
      contexts: [{ name: context, context: { cluster: "c", user: "u" } }],
      "current-context": context,
    }),
  );
  return path;
}
