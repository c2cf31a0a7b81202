// A local HTTP server that answers recorded API answers by method and path, so
// verify's checks run over real HTTP through the same clients they use against a
// cluster (client-node for the Kubernetes API, node:http for the gateway).
// It also writes a kubeconfig whose context points at it.
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AddressInfo } from "node:net";
import type { Clock, VerifyContext } from "../../../scripts/lib/verify/checks.mts";
import { createKubeApi } from "../../../scripts/lib/verify/kube-api.mts";
import { createHttp } from "../../../scripts/lib/verify/http.mts";
import { createRunner } from "../../../scripts/lib/runner.mts";
import { loadConfig } from "../../../scripts/lib/config.mts";

export type Seen = { method: string; path: string; query: URLSearchParams; headers: IncomingHttpHeaders; body: string };
export type Answer = { status?: number; body?: unknown; text?: string; headers?: Record<string, string> };
export type Route = {
  method?: string;
  /** Exact path (no query) or a pattern. */
  path: string | RegExp;
  /** Only when the Host header is this (gateway hostnames). */
  host?: string;
  answer: Answer | ((seen: Seen) => Answer);
};

export type ApiServer = {
  url: string;
  port: number;
  /** Every request, in order. */
  seen: Seen[];
  /** A kubeconfig with context `context` pointing here. */
  kubeconfig: string;
  context: string;
  close(): Promise<void>;
};

export const FIXTURES = join(import.meta.dirname, "..", "fixtures");
export const REPO_ROOT = join(import.meta.dirname, "..", "..", "..");

export function fixture<T = any>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES, name), "utf8")) as T;
}
export function fixtureText(name: string): string {
  return readFileSync(join(FIXTURES, name), "utf8");
}

const notFound = (path: string): Answer => ({
  status: 404,
  body: { kind: "Status", apiVersion: "v1", status: "Failure", message: `the server could not find the requested resource (${path})`, reason: "NotFound", code: 404 },
});

export async function startApiServer(routes: Route[], options: { context?: string } = {}): Promise<ApiServer> {
  const seen: Seen[] = [];
  const handle = (request: IncomingMessage, response: ServerResponse, body: string) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    const entry: Seen = { method: request.method ?? "GET", path: url.pathname, query: url.searchParams, headers: request.headers, body };
    seen.push(entry);
    const host = (request.headers.host ?? "").replace(/:\d+$/, "");
    const route = routes.find(
      (r) =>
        (r.method ?? "GET") === entry.method &&
        (typeof r.path === "string" ? r.path === entry.path : r.path.test(entry.path)) &&
        (r.host === undefined || r.host === host),
    );
    const answer = route ? (typeof route.answer === "function" ? route.answer(entry) : route.answer) : notFound(entry.path);
    const text = answer.text ?? JSON.stringify(answer.body ?? {});
    response.writeHead(answer.status ?? 200, { "content-type": answer.text !== undefined ? "text/plain; charset=utf-8" : "application/json", ...answer.headers });
    response.end(text);
  };
  const server = createServer((request, response) => {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => handle(request, response, body));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), "verify-api-"));
  const context = options.context ?? "kind-giropops";
  const kubeconfig = join(dir, "kubeconfig");
  writeFileSync(
    kubeconfig,
    [
      "apiVersion: v1",
      "kind: Config",
      "clusters:",
      `  - name: fake\n    cluster: { server: "http://127.0.0.1:${port}", insecure-skip-tls-verify: true }`,
      "users:",
      "  - name: fake\n    user: { token: test-token }",
      "contexts:",
      `  - name: ${context}\n    context: { cluster: fake, user: fake }`,
      `current-context: ${context}`,
      "",
    ].join("\n"),
  );
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    seen,
    kubeconfig,
    context,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type ServiceLike = { metadata: { name: string; namespace: string }; spec: { ports: { name?: string; port: number }[] } };

/**
 * A Service and what its pods answer behind the API server's service proxy,
 * resolved as the real one does: /services/<name>:<port>/proxy/... finds
 * <port> among the Service's port names (or numbers), else 503 "no endpoints
 * available"; `behind` maps the path below /proxy to an answer.
 */
export function serviceRoutes(service: ServiceLike, behind: Record<string, Answer | ((seen: Seen) => Answer)>): Route[] {
  const { name, namespace } = service.metadata;
  const base = `/api/v1/namespaces/${namespace}/services/${name}`;
  return [
    { path: base, answer: { body: service } },
    {
      path: new RegExp(`^${base}:[^/]+/proxy/`),
      answer: (seen) => {
        const [ref, ...rest] = seen.path.slice(base.length + 1).split("/proxy");
        if (!service.spec.ports.some((p) => p.name === ref || String(p.port) === ref)) {
          return { status: 503, body: { kind: "Status", apiVersion: "v1", status: "Failure", message: `no endpoints available for service "${name}:${ref}"`, reason: "ServiceUnavailable", code: 503 } };
        }
        const answer = behind[rest.join("/proxy")];
        if (!answer) return notFound(seen.path);
        return typeof answer === "function" ? answer(seen) : answer;
      },
    },
  ];
}

/** A clock whose sleep only moves time forward: waits take no real time. */
export function fakeClock(start = Date.UTC(2026, 10, 23, 12, 0, 0)): Clock & { slept: number } {
  const clock = {
    current: start,
    slept: 0,
    now: () => clock.current,
    sleep: async (ms: number) => {
      clock.current += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

/**
 * A VerifyContext over `server`: the Kubernetes API and the gateway are both
 * this server (hostnames like senhas.localhost reach it on its port).
 */
export function contextFor(server: ApiServer, overrides: Partial<VerifyContext> = {}): VerifyContext {
  return {
    config: loadConfig({ env: {} }),
    kube: createKubeApi({ context: server.context, kubeconfigPath: server.kubeconfig }),
    http: createHttp(),
    runner: createRunner(),
    clock: fakeClock(),
    repoRoot: REPO_ROOT,
    url: (name) => `http://${name}.localhost:${server.port}`,
    kubectl: (...args) => ["kubectl", "--context", server.context, ...args].join(" "),
    progress: () => {},
    options: { locustSeconds: 30, roundtripTimeoutMs: 60_000 },
    ...overrides,
  };
}
