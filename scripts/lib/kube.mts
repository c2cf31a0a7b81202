// The one Kubernetes client: @kubernetes/client-node bound to one explicit
// context (never "whatever is current"), with the few verbs bootstrap, status
// and verify need: server-side apply, get, list, create and wait-until.
import { existsSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import {
  ApiException,
  HttpMethod,
  KubeConfig,
  KubernetesObjectApi,
  PatchStrategy,
  ServerConfiguration,
  VersionApi,
  Watch,
  createConfiguration,
  type Configuration,
  type KubernetesObject,
} from "@kubernetes/client-node";
import { parseAllDocuments } from "yaml";
import { UserError } from "./errors.mts";
import { formatCommand } from "./runner.mts";
import { environment, runWith } from "./runtime.mts";

/** How long one Kubernetes API call may take: a server that accepts and never answers must not hang a command. */
export const API_TIMEOUT_MS = 30_000;

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
  /**
   * Server-side apply, Namespaces and CRDs first; returns the applied objects.
   * As FIELD_MANAGER unless `fieldManager` names another (ownership that
   * outlives the day-0 hand-over to Argo CD).
   */
  apply(objects: KubeObject[], options?: { fieldManager?: string }): Promise<KubeObject[]>;
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

/** The error and its causes, outermost first (undici wraps the socket's error in "fetch failed"). */
function causes(error: unknown): { code?: unknown; name?: unknown; message?: unknown }[] {
  const chain: { code?: unknown; name?: unknown; message?: unknown }[] = [];
  let current: unknown = error;
  for (let depth = 0; current && typeof current === "object" && depth < 6; depth++) {
    chain.push(current as { code?: unknown });
    current = (current as { cause?: unknown }).cause;
  }
  return chain;
}

const CERTIFICATE = /^(CERT_|DEPTH_ZERO_SELF_SIGNED_CERT|SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_(GET_ISSUER_CERT|VERIFY_LEAF_SIGNATURE)|ERR_TLS_CERT_ALTNAME_INVALID|HOSTNAME_MISMATCH)/;
const NOT_TLS = /^(ERR_SSL_WRONG_VERSION_NUMBER|ERR_SSL_PACKET_LENGTH_TOO_LONG|EPROTO)$/;
const NETWORK = /^(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|ECONNRESET|EPIPE|UND_ERR_CONNECT_TIMEOUT|UND_ERR_SOCKET|UND_ERR_HEADERS_TIMEOUT|UND_ERR_BODY_TIMEOUT|ERR_INVALID_URL)$/;

export type ConnectionProblem = { kind: "timeout" | "certificate" | "not-tls" | "network"; code: string };

/** What kept the request from getting an HTTP answer, if that is what happened. */
export function connectionProblem(error: unknown): ConnectionProblem | undefined {
  for (const link of causes(error)) {
    if (link.name === "TimeoutError") return { kind: "timeout", code: "TimeoutError" };
    const code = typeof link.code === "string" ? link.code : undefined;
    if (!code) continue;
    if (CERTIFICATE.test(code)) return { kind: "certificate", code };
    if (NOT_TLS.test(code)) return { kind: "not-tls", code };
    if (NETWORK.test(code)) return { kind: "network", code };
  }
  return undefined;
}

/** A short reason from a Kubernetes API error (its Status message when there is one). */
export function kubeErrorMessage(error: unknown): string {
  if (error instanceof ApiException) {
    const body = error.body as unknown;
    const parsed = typeof body === "string" ? safeJson(body) : body;
    const message = (parsed as { message?: string } | undefined)?.message;
    return `HTTP ${error.code}${message ? `: ${message}` : STATUS_CODES[error.code] ? ` ${STATUS_CODES[error.code]}` : ""}`;
  }
  const problem = connectionProblem(error)?.code;
  if (problem) return problem;
  // undici says "fetch failed" and keeps the reason in its cause chain: the innermost message says most.
  const messages = causes(error).map((link) => (typeof link.message === "string" ? link.message : "")).filter(Boolean);
  return messages.at(-1) ?? String(error);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms).unref?.());

/** The kubeconfig files client-node (like kubectl) reads for `target`, and how to name them. */
function kubeconfigFiles(target: KubeTarget): { files: string[]; from: string } {
  if (target.kubeconfigPath) return { files: [target.kubeconfigPath], from: "" };
  const fromEnv = environment().KUBECONFIG;
  if (fromEnv) return { files: fromEnv.split(delimiter).filter(Boolean), from: " (from KUBECONFIG)" };
  return { files: [join(homedir(), ".kube", "config")], from: "" };
}

/** The kubeconfig (file or default) with `target.context` selected in memory; UserErrors with a fix otherwise. */
export function loadKubeConfig(target: KubeTarget): KubeConfig {
  const { files, from } = kubeconfigFiles(target);
  // Contexts are named kind-<name>, oke-<name>, or (minikube) the profile's name.
  const cluster = target.context.startsWith("kind-") ? "kind" : target.context.startsWith("oke-") ? "oke" : "minikube";
  const create = `create the cluster with "${runWith()} scripts/bootstrap.mts --cluster ${cluster}" (it writes the context)`;
  const read = (file: string) => {
    const kc = new KubeConfig();
    try {
      kc.loadFromFile(file);
    } catch (error) {
      const fix = target.kubeconfigPath ? "check the file, or re-run bootstrap to write it" : `fix or move that file (kubectl --kubeconfig ${file} config view shows what kubectl makes of it), then re-run`;
      throw new UserError(`cannot read kubeconfig ${file}${from}: ${(error as Error).message.split("\n")[0]}`, { fix });
    }
    return kc;
  };
  // Without any file client-node invents a cluster at localhost:8080 and a context "loaded-context": say what is missing instead.
  const present = target.kubeconfigPath ? files : files.filter((file) => existsSync(file));
  if (present.length === 0) {
    const what = from ? `KUBECONFIG names ${files.join(", ") || "nothing"}, and none of it exists` : `${files[0]} does not exist`;
    throw new UserError(`no kubeconfig: ${what}`, { fix: `${create}, or point KUBECONFIG at the file that has context "${target.context}"` });
  }
  const kc = read(present[0]!);
  // kubectl's merge rule: the first file to name a cluster, user or context wins (client-node's mergeConfig throws on duplicates).
  for (const file of present.slice(1)) {
    const next = read(file);
    for (const cluster of next.getClusters()) if (!kc.getCluster(cluster.name)) kc.addCluster(cluster);
    for (const user of next.getUsers()) if (!kc.getUser(user.name)) kc.addUser(user);
    for (const context of next.getContexts()) if (!kc.getContextObject(context.name)) kc.addContext(context);
  }
  if (!kc.getContextObject(target.context)) {
    throw new UserError(`kubeconfig ${present.join(", ")}${from} has no context "${target.context}"`, {
      fix: `${create} (or check --cluster/--name); contexts found: ${kc.getContexts().map((c) => c.name).join(", ") || "none"}`,
    });
  }
  // In memory only: selects the context for these clients, never edits the file.
  kc.setCurrentContext(target.context);
  return kc;
}

/** The reason a request's signal is aborted with when the server did not answer in time. */
class ApiTimeout extends Error {
  constructor(ms: number) {
    super(`no answer within ${ms / 1000}s`);
    this.name = "TimeoutError";
  }
}

/** A client-node API client for the current context whose every request ends after `timeoutMs`. */
function apiClient<T>(kc: KubeConfig, type: new (configuration: Configuration) => T, timeoutMs: number): T {
  const server = kc.getCurrentCluster()?.server ?? "";
  return new type(
    createConfiguration({
      baseServer: new ServerConfiguration(server, {}),
      authMethods: { default: kc },
      promiseMiddleware: [
        {
          pre: async (request) => {
            // Not AbortSignal.timeout: its DOMException has a read-only message,
            // and client-node prefixes the message of errors during discovery.
            const controller = new AbortController();
            setTimeout(() => controller.abort(new ApiTimeout(timeoutMs)), timeoutMs).unref?.();
            request.setSignal(controller.signal);
            return request;
          },
          post: async (response) => response,
        },
      ],
    }),
  );
}

export type KubeOptions = { /** Deadline of each API call (default API_TIMEOUT_MS). */ timeoutMs?: number };

export function createKube(target: KubeTarget, options: KubeOptions = {}): Kube {
  const kc = loadKubeConfig(target);
  const timeoutMs = options.timeoutMs ?? API_TIMEOUT_MS;
  const api = apiClient(kc, ObjectApi, timeoutMs);
  // Built without makeApiClient, which also sets this default.
  (api as unknown as { defaultNamespace: string }).defaultNamespace = kc.getContextObject(target.context)?.namespace ?? "default";
  const server = kc.getCurrentCluster()?.server ?? "(no server in the kubeconfig)";
  const where = `the Kubernetes API server ${server} (context "${target.context}")`;
  const running = `check it is running (${kubectl(target, "get", "nodes")}); re-running bootstrap creates or starts it`;
  /** A UserError for a request that got no HTTP answer, or one that says the server or the credentials are the problem. */
  const serverProblem = (what: string, error: unknown): UserError | undefined => {
    const problem = connectionProblem(error);
    if (problem?.kind === "timeout") {
      return new UserError(`${where} did not answer within ${timeoutMs / 1000}s`, {
        fix: `${running}; a VPN, proxy or firewall that holds the connection open looks the same`,
        cause: error,
      });
    }
    if (problem?.kind === "certificate") {
      return new UserError(`${where} failed the certificate check (${problem.code})`, {
        fix: "the kubeconfig's certificate authority is not the one this server presents (was the cluster re-created?): refresh the context (kind export kubeconfig --name NAME, minikube update-context --profile NAME, or re-run bootstrap on OKE)",
        cause: error,
      });
    }
    if (problem?.kind === "not-tls") {
      return new UserError(`${where} does not answer TLS at that address (${problem.code}): is the port right?`, {
        fix: `check the server URL in ${kubectl(target, "config", "view", "--minify")}`,
        cause: error,
      });
    }
    if (problem) {
      const meaning = problem.code === "ECONNREFUSED" ? "connection refused" : problem.code === "ENOTFOUND" ? "no such host" : undefined;
      return new UserError(`cannot reach the Kubernetes API server ${server} (context "${target.context}"): ${meaning ? `${meaning} (${problem.code})` : problem.code}`, { fix: running, cause: error });
    }
    if (!(error instanceof ApiException)) return undefined;
    if (error.code === 401) {
      return new UserError(`${where} refused the credentials of the context (${kubeErrorMessage(error)})`, {
        fix: "the token or client certificate in the kubeconfig is expired or wrong: refresh it (kind export kubeconfig --name NAME, minikube update-context --profile NAME, or re-run bootstrap on OKE)",
        cause: error,
      });
    }
    if (error.code === 403) {
      return new UserError(`${what}: ${where} forbids it to this user (${kubeErrorMessage(error)})`, {
        fix: "use the admin context kind, minikube or bootstrap wrote, or grant this user cluster-admin",
        cause: error,
      });
    }
    if (error.code >= 500) {
      return new UserError(`${what}: ${where} answered ${kubeErrorMessage(error)}`, {
        fix: `the control plane is unwell or still starting: wait a minute and re-run (${kubectl(target, "get", "--raw", "/readyz?verbose")})`,
        cause: error,
      });
    }
    return undefined;
  };
  const wrap = async <T,>(what: string, call: () => Promise<T>): Promise<T> => {
    try {
      return await call();
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw serverProblem(what, error) ?? new UserError(`${what}: ${kubeErrorMessage(error)}`, { cause: error });
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
      const info = await wrap(`asking ${server} for its version failed`, () => apiClient(kc, VersionApi, timeoutMs).getCode());
      return info.gitVersion;
    },
    async apply(objects, options = {}) {
      const applied: KubeObject[] = [];
      for (const object of applyOrder(objects)) {
        applied.push(
          await wrap(`server-side apply of ${describeObject(object)} failed`, () => {
            const exact = structuredClone(object);
            return api.patchExactly(exact, exact, PatchStrategy.ServerSideApply, { fieldManager: options.fieldManager ?? FIELD_MANAGER, force: "true" });
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
        const problem = serverProblem(`reading ${kind} ${namespace ? `${namespace}/` : ""}${name} failed`, error);
        if (problem) throw problem;
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
