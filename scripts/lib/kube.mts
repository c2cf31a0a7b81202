// The one Kubernetes client: @kubernetes/client-node bound to one explicit
// context (never "whatever is current"), with the few verbs bootstrap, status
// and verify need: server-side apply, get, list, create and wait-until.
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  VersionApi,
  Watch,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { UserError } from "./errors.mts";
import { formatCommand } from "./runner.mts";

/** Name of our field manager in managedFields: who applied what. */
export const FIELD_MANAGER = "giropops-bootstrap";

export type KubeObject = KubernetesObject & { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } & Record<string, any> } & Record<string, any>;

export type KubeTarget = {
  /** kubeconfig context, e.g. kind-giropops; every call uses it explicitly. */
  context: string;
  /** A kubeconfig file of our own (OKE); default: $KUBECONFIG or ~/.kube/config. */
  kubeconfigPath?: string;
};

export type ListQuery = { apiVersion: string; kind: string; namespace?: string; labelSelector?: string; fieldSelector?: string };

export type WaitOptions<T> = {
  timeoutMs: number;
  /** Re-list at least this often even when no watch event arrives. */
  pollMs?: number;
  done(items: T[]): boolean;
  /** A reason to stop waiting early (e.g. an app stayed Degraded). */
  failed?(items: T[]): string | undefined;
  onChange?(items: T[]): void;
};

export type WaitOutcome<T> = { items: T[]; outcome: "done" | "timeout" | "failed"; reason?: string };

export type Kube = {
  readonly target: KubeTarget;
  /** Throws a UserError with a fix when the API server cannot be reached. */
  version(): Promise<string>;
  /** Server-side apply, Namespaces and CRDs first; returns the applied objects. */
  apply(objects: KubeObject[]): Promise<KubeObject[]>;
  get<T extends KubeObject = KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string): Promise<T | undefined>;
  list<T extends KubeObject = KubeObject>(query: ListQuery): Promise<T[]>;
  create<T extends KubeObject = KubeObject>(object: T): Promise<T>;
  /** An RFC 6902 JSON patch of one object (e.g. its managedFields). */
  jsonPatch(object: Pick<KubeObject, "apiVersion" | "kind" | "metadata">, operations: { op: string; path: string; value?: unknown }[]): Promise<KubeObject>;
  /** Lists, then re-lists on every watch event (or poll tick) until done, failed or timed out. */
  waitUntil<T extends KubeObject = KubeObject>(query: ListQuery, options: WaitOptions<T>): Promise<WaitOutcome<T>>;
};

export type KubeFactory = (target: KubeTarget) => Kube;

/** kubectl's arguments for `args` against the target's kubeconfig and context. */
export function kubectlArgs(target: KubeTarget, ...args: string[]): string[] {
  const where = target.kubeconfigPath ? ["--kubeconfig", target.kubeconfigPath] : [];
  return [...where, "--context", target.context, ...args];
}

/** A kubectl command line for humans to run against the same cluster. */
export function kubectl(target: KubeTarget, ...args: string[]): string {
  return formatCommand("kubectl", kubectlArgs(target, ...args));
}

/** Every object in a multi-document YAML stream (Lists flattened, empty documents dropped). */
export function parseManifests(text: string): KubeObject[] {
  const objects: KubeObject[] = [];
  for (const document of parseAllDocuments(text)) {
    if (document.errors.length > 0) throw new Error(`invalid YAML: ${document.errors[0]!.message}`);
    const value = document.toJS() as KubeObject | null;
    if (!value) continue;
    if (value.kind?.endsWith("List") && Array.isArray(value.items)) objects.push(...(value.items as KubeObject[]));
    else objects.push(value);
  }
  return objects;
}

const APPLY_FIRST = ["Namespace", "CustomResourceDefinition"];

/** Namespaces, then CRDs, then the rest in their given order. */
export function applyOrder(objects: KubeObject[]): KubeObject[] {
  const rank = (o: KubeObject) => {
    const index = APPLY_FIRST.indexOf(o.kind);
    return index === -1 ? APPLY_FIRST.length : index;
  };
  return objects.map((o, i) => [o, i] as const).sort((a, b) => rank(a[0]) - rank(b[0]) || a[1] - b[1]).map(([o]) => o);
}

export function describeObject(object: Pick<KubeObject, "kind" | "metadata">): string {
  return `${object.kind} ${object.metadata.namespace ? `${object.metadata.namespace}/` : ""}${object.metadata.name}`;
}

/** The condition of `type`, from status.conditions. */
export function condition(object: KubeObject, type: string): { status?: string; reason?: string; message?: string } | undefined {
  const conditions = (object.status?.conditions ?? []) as { type: string; status?: string }[];
  return conditions.find((c) => c.type === type);
}

/** A Secret's `data`: each value base64-encoded. */
export function secretData(values: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(values).map(([key, value]) => [key, Buffer.from(value).toString("base64")]));
}

/** One value of a Secret's `data`, decoded; undefined when the key is not there. */
export function secretValue(secret: Record<string, any> | undefined, key: string): string | undefined {
  const encoded = secret?.data?.[key];
  return typeof encoded === "string" ? Buffer.from(encoded, "base64").toString("utf8") : undefined;
}

/** Deployments Available, StatefulSets ready, CRDs Established; anything else counts as ready. */
export function isReady(object: KubeObject): boolean {
  const status = object.status ?? {};
  const generationSeen = (status.observedGeneration ?? 0) >= (object.metadata.generation ?? 0);
  switch (object.kind) {
    case "Deployment":
      return generationSeen && condition(object, "Available")?.status === "True";
    case "StatefulSet":
      return generationSeen && (status.readyReplicas ?? 0) >= (object.spec?.replicas ?? 1);
    case "CustomResourceDefinition":
      return condition(object, "Established")?.status === "True";
    default:
      return true;
  }
}

// client-node keeps discovery (kind -> resource path) protected; watches need it.
class ObjectApi extends KubernetesObjectApi {
  /**
   * A PATCH of `object`'s path with exactly `body`. KubernetesObjectApi.patch
   * re-serialises built-in kinds through client-node's typed models
   * (ObjectSerializer.serialize in dist/object.js, 2.0.1), which drops every key
   * a model spells differently or lacks: NetworkPolicy `ingress[].from` (the
   * model's `_from`), a CRD schema's `x-kubernetes-preserve-unknown-fields` and
   * `enum`; and it cannot send a JSON patch (a list). Here the body is the JSON
   * given (JSON is YAML, so application/apply-patch+yaml takes it); path, auth
   * and middleware are client-node's own.
   */
  async patchExactly(object: KubeObject, body: unknown, contentType: PatchStrategy, query: Record<string, string> = {}): Promise<KubeObject> {
    const path = await this.specUriPath(object, "patch");
    const request = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    request.setHeaderParam("Accept", "application/json, */*;q=0.8");
    request.setHeaderParam("Content-Type", contentType);
    for (const [key, value] of Object.entries(query)) request.setQueryParam(key, value);
    request.setBody(JSON.stringify(body));
    return (await this.requestPromise(request)) as KubeObject;
  }

  async collectionPath(apiVersion: string, kind: string, namespace?: string): Promise<string> {
    const resource = await this.resource(apiVersion, kind);
    if (!resource) throw new UserError(`the cluster does not serve ${kind} (${apiVersion})`);
    const base = this.apiVersionPath(apiVersion);
    return resource.namespaced && namespace ? `${base}/namespaces/${namespace}/${resource.name}` : `${base}/${resource.name}`;
  }
}

function isNotFound(error: unknown): boolean {
  if (error instanceof ApiException) return error.code === 404;
  return error instanceof Error && /HTTP-Code: 404|\b404\b.*(not found|Not Found)/i.test(error.message);
}

function connectionProblem(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 5; depth++) {
    const code = (current as { code?: unknown }).code;
    if (typeof code === "string" && /^(ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|UND_ERR_CONNECT_TIMEOUT|CERT_)/.test(code)) return code;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

/** A short reason from a Kubernetes API error (its Status message when there is one). */
export function kubeErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    const parsed = typeof body === "string" ? safeJson(body) : body;
    const message = (parsed as { message?: string } | undefined)?.message;
    return `HTTP ${error.code}${message ? `: ${message}` : ""}`;
  }
  return connectionProblem(error) ?? (error instanceof Error ? error.message : String(error));
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** The kubeconfig (file or default) with `target.context` selected in memory; UserErrors with a fix otherwise. */
export function loadKubeConfig(target: KubeTarget): KubeConfig {
  const kc = new KubeConfig();
  try {
    if (target.kubeconfigPath) kc.loadFromFile(target.kubeconfigPath);
    else kc.loadFromDefault();
  } catch (error) {
    throw new UserError(`cannot read kubeconfig ${target.kubeconfigPath ?? "(default)"}: ${(error as Error).message}`, {
      fix: "check the file, or re-run bootstrap to write it",
    });
  }
  if (!kc.getContextObject(target.context)) {
    throw new UserError(`kubeconfig has no context "${target.context}"`, {
      fix: `create the cluster with "npx zx scripts/bootstrap.mts" (or check --cluster/--name); contexts found: ${kc.getContexts().map((c) => c.name).join(", ") || "none"}`,
    });
  }
  // In memory only: selects the context for these clients, never edits the file.
  kc.setCurrentContext(target.context);
  return kc;
}

export function createKube(target: KubeTarget): Kube {
  const kc = loadKubeConfig(target);
  const api = kc.makeApiClient(ObjectApi);
  // makeApiClient skips the namespace default KubernetesObjectApi.makeApiClient sets.
  (api as unknown as { defaultNamespace: string }).defaultNamespace = kc.getContextObject(target.context)?.namespace ?? "default";
  const unreachable = (error: unknown) =>
    new UserError(`cannot reach the cluster behind context "${target.context}": ${kubeErrorMessage(error)}`, {
      fix: `check it is running (${kubectl(target, "get", "nodes")}); re-running bootstrap creates or starts it`,
      cause: error,
    });
  const wrap = async <T,>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UserError) throw error;
      if (connectionProblem(error)) throw unreachable(error);
      throw new UserError(`${what}: ${kubeErrorMessage(error)}`, { cause: error });
    }
  };

  const listWithVersion = <T extends KubeObject>(query: ListQuery) =>
    wrap(`listing ${query.kind} failed`, async () => {
      const result = await api.list(query.apiVersion, query.kind, query.namespace, undefined, undefined, undefined, query.fieldSelector, query.labelSelector);
      // List items carry no kind; put it back so callers can describe them.
      const items = result.items.map((item) => ({ apiVersion: query.apiVersion, kind: query.kind, ...item }) as T);
      return { items, resourceVersion: result.metadata?.resourceVersion };
    });

  const kube: Kube = {
    target,
    async version() {
      try {
        const info = await kc.makeApiClient(VersionApi).getCode();
        return info.gitVersion;
      } catch (error) {
        throw unreachable(error);
      }
    },
    async apply(objects) {
      const applied: KubeObject[] = [];
      for (const object of applyOrder(objects)) {
        applied.push(
          await wrap(`server-side apply of ${describeObject(object)} failed`, () => {
            const exact = structuredClone(object);
            return api.patchExactly(exact, exact, PatchStrategy.ServerSideApply, { fieldManager: FIELD_MANAGER, force: "true" });
          }),
        );
      }
      return applied;
    },
    async get<T extends KubeObject>(apiVersion: string, kind: string, name: string, namespace?: string) {
      try {
        return (await api.read({ apiVersion, kind, metadata: { name, namespace } })) as T;
      } catch (error) {
        if (isNotFound(error)) return undefined;
        if (error instanceof Error && /Unrecognized API version and kind/.test(error.message)) return undefined;
        if (connectionProblem(error)) throw unreachable(error);
        throw new UserError(`reading ${kind} ${namespace ? `${namespace}/` : ""}${name} failed: ${kubeErrorMessage(error)}`, { cause: error });
      }
    },
    async list<T extends KubeObject>(query: ListQuery) {
      return (await listWithVersion<T>(query)).items;
    },
    async create<T extends KubeObject>(object: T) {
      return wrap(`creating ${describeObject(object)} failed`, () => api.create(structuredClone(object), undefined, undefined, FIELD_MANAGER) as Promise<T>);
    },
    async jsonPatch(object, operations) {
      const ref = { apiVersion: object.apiVersion, kind: object.kind, metadata: { name: object.metadata.name, namespace: object.metadata.namespace } } as KubeObject;
      return wrap(`patching ${describeObject(ref)} failed`, () => api.patchExactly(ref, operations, PatchStrategy.JsonPatch));
    },
    async waitUntil<T extends KubeObject>(query: ListQuery, options: WaitOptions<T>) {
      const deadline = Date.now() + options.timeoutMs;
      const pollMs = options.pollMs ?? 5000;
      const path = await wrap(`looking up ${query.kind}`, () => api.collectionPath(query.apiVersion, query.kind, query.namespace));
      for (;;) {
        const { items, resourceVersion } = await listWithVersion<T>(query);
        options.onChange?.(items);
        if (options.done(items)) return { items, outcome: "done" };
        const reason = options.failed?.(items);
        if (reason) return { items, outcome: "failed", reason };
        const remaining = deadline - Date.now();
        if (remaining <= 0) return { items, outcome: "timeout" };
        await nextEvent(kc, path, { ...query, resourceVersion }, Math.min(pollMs, remaining));
      }
    },
  };
  return kube;
}

/** Resolves on the first watch event on `path`, or after `ms`, whichever comes first. */
// Watching from the list's resourceVersion: a watch without one replays every
// existing object as ADDED, which would wake us at once, forever.
async function nextEvent(kc: KubeConfig, path: string, query: ListQuery & { resourceVersion?: string }, ms: number): Promise<void> {
  let wake: () => void = () => {};
  const event = new Promise<void>((resolve) => (wake = resolve));
  let controller: AbortController | undefined;
  try {
    controller = await new Watch(kc).watch(
      path,
      { labelSelector: query.labelSelector, fieldSelector: query.fieldSelector, resourceVersion: query.resourceVersion, allowWatchBookmarks: false },
      () => wake(),
      () => {}, // closed or failed: the poll tick and the next list cover it
    );
  } catch {
    // no watch: polling alone still converges
  }
  await Promise.race([event, sleep(ms)]);
  controller?.abort();
}
