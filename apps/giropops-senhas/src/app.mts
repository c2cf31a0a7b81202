// The HTTP application on plain node:http: a fixed route table, hand-written
// validation, every phase of a request bounded. buildApp does not listen;
// server.mts (or a test) does.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { STATUS_CODES, ServerResponse, createServer } from "node:http";
import type { IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Writable } from "node:stream";
import pino from "pino";
import type { Config } from "./config.mts";
import { DEFAULT_LENGTH, InvalidLengthError, MAX_LENGTH, MIN_LENGTH, generatePassword } from "./generator.mts";
import { createMetrics } from "./metrics.mts";
import { renderPage } from "./page.mts";
import { SECURITY_HEADERS } from "./security.mts";
import { StoreUnavailableError, createStore } from "./store.mts";

const API_FIELDS = ["tamanho", "incluir_numeros", "incluir_caracteres_especiais"] as const;
const ALLOWED = `(allowed: ${API_FIELDS.join(", ")})`;

/** A 4xx with a message meant for the caller. */
class HttpError extends Error {
  readonly status: number;
  /** Close the connection after answering (the body was not read). */
  readonly close: boolean;
  constructor(status: number, message: string, close = false) {
    super(message);
    this.status = status;
    this.close = close;
  }
}

// A Map, not an object: a URL segment such as __proto__ or constructor must never
// find anything but the three files.
const STATIC_FILES = new Map(
  [
    ["styles.css", "text/css; charset=utf-8"],
    ["app.js", "text/javascript; charset=utf-8"],
    ["favicon.svg", "image/svg+xml"],
  ].map(([name, type]) => [name!, { type: type!, body: readFileSync(join(import.meta.dirname, "public", name!)) }]),
);

// Requests the platform makes every few seconds: logged at debug so they don't drown real traffic.
const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);
const REQUEST_ID = /^[\w.:-]{1,128}$/;
const JSON_TYPE = "application/json; charset=utf-8";
const HTML_TYPE = "text/html; charset=utf-8";
// All response headers go out in one writeHead(status, [name, value, ...]) call:
// thirteen setHeader calls per response were ~4 % of the CPU of a GET.
const SECURITY_FLAT: readonly string[] = Object.entries(SECURITY_HEADERS)
  .filter(([name]) => name !== "cache-control")
  .flat();

/** A response that collects its headers in a flat list until send() writes them at once. */
class Response extends ServerResponse<IncomingMessage> {
  headerList: string[] = [];
  cacheControl = SECURITY_HEADERS["cache-control"]!;
  addHeader(name: string, value: string): void {
    this.headerList.push(name, value);
  }
}

export type BuildOptions = {
  /** Where JSON logs go (default: stdout, written asynchronously). */
  logStream?: Writable;
};

type ApiBody = { tamanho?: number; incluir_numeros?: boolean; incluir_caracteres_especiais?: boolean };
type Form = { tamanho: string; incluirNumeros: boolean; incluirCaracteresEspeciais: boolean };

/** The API body: a JSON object with only the three optional fields, strictly typed. */
export function parseApiBody(text: string): ApiBody {
  if (text.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new HttpError(400, "Body is not valid JSON but content-type is set to 'application/json'");
  }
  // null, arrays and scalars are not objects here (null was once turned into {}).
  if (value === null || typeof value !== "object" || Array.isArray(value)) throw new HttpError(400, "body must be a JSON object");
  const body = value as Record<string, unknown>;
  for (const key of Object.keys(body)) {
    if (!(API_FIELDS as readonly string[]).includes(key)) throw new HttpError(400, `unknown field ${JSON.stringify(key)} ${ALLOWED}`);
  }
  const { tamanho, incluir_numeros, incluir_caracteres_especiais } = body;
  if (tamanho !== undefined) {
    if (typeof tamanho !== "number" || !Number.isInteger(tamanho)) throw new HttpError(400, `"tamanho" must be integer`);
    if (tamanho < MIN_LENGTH || tamanho > MAX_LENGTH) throw new HttpError(400, `"tamanho" must be an integer between ${MIN_LENGTH} and ${MAX_LENGTH}`);
  }
  for (const [name, flag] of [["incluir_numeros", incluir_numeros], ["incluir_caracteres_especiais", incluir_caracteres_especiais]] as const) {
    if (flag !== undefined && typeof flag !== "boolean") throw new HttpError(400, `"${name}" must be boolean`);
  }
  return body as ApiBody;
}

/** The page's form: browsers send checkboxes as "on" and omit them when unchecked. */
export function parseForm(text: string): Form {
  const seen = new Set<string>();
  const form: Form = { tamanho: String(DEFAULT_LENGTH), incluirNumeros: false, incluirCaracteresEspeciais: false };
  for (const [key, value] of new URLSearchParams(text)) {
    if (!(API_FIELDS as readonly string[]).includes(key)) throw new HttpError(400, `unknown field ${JSON.stringify(key)} ${ALLOWED}`);
    if (seen.has(key)) throw new HttpError(400, `"${key}" given more than once`);
    seen.add(key);
    if (key === "tamanho") form.tamanho = value;
    else if (value !== "on") throw new HttpError(400, `"${key}" must be "on" when present`);
    else if (key === "incluir_numeros") form.incluirNumeros = true;
    else form.incluirCaracteresEspeciais = true;
  }
  return form;
}

function mediaType(request: IncomingMessage): string {
  const header = request.headers["content-type"];
  if (header === undefined) return "";
  const semicolon = header.indexOf(";");
  return (semicolon === -1 ? header : header.slice(0, semicolon)).trim().toLowerCase();
}

function hasBody(request: IncomingMessage): boolean {
  const length = request.headers["content-length"];
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0");
}

export function buildApp(config: Config, options: BuildOptions = {}) {
  // Asynchronous stdout: lines written while a write is pending are batched into one syscall.
  // flushLogs() runs before exit; a hard crash can lose the lines of that last moment.
  // Lines are batched up to 4 KiB (one write per ~15 lines under load) and flushed at
  // least every 250 ms, so a quiet service still logs promptly.
  const stdout = options.logStream ? undefined : pino.destination({ dest: 1, sync: false, minLength: 4096 });
  if (stdout) setInterval(() => stdout.flush(), 250).unref();
  const log = pino({ level: config.logLevel }, options.logStream ?? stdout!);

  let draining = false;
  const store = createStore(config, {
    // State changes are written at once, not with the next batch.
    onReady: () => {
      log.info("redis ready");
      stdout?.flush();
    },
    onDown: (error) => {
      log.warn({ err: error.message }, "redis unavailable, reconnecting");
      stdout?.flush();
    },
  });
  const metrics = createMetrics(() => store.ready);
  const limit = config.bodyLimitBytes;

  /** Reads the body up to the limit; a body that stalls for bodyIdleTimeoutMs is cut. */
  function readBody(request: IncomingMessage): Promise<string> {
    const declared = request.headers["content-length"];
    if (declared !== undefined && Number(declared) > limit) {
      return Promise.reject(new HttpError(413, `request body larger than ${limit} bytes`, true));
    }
    if (!hasBody(request)) return Promise.resolve("");
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let size = 0;
      let timer = setTimeout(onIdle, config.bodyIdleTimeoutMs);
      function cleanup() {
        clearTimeout(timer);
        request.off("data", onData).off("end", onEnd).off("error", onError).off("aborted", onError);
      }
      function onIdle() {
        cleanup();
        reject(new HttpError(408, `request body stalled for ${config.bodyIdleTimeoutMs} ms`, true));
      }
      function onData(chunk: Buffer) {
        size += chunk.length;
        if (size > limit) {
          cleanup();
          reject(new HttpError(413, `request body larger than ${limit} bytes`, true));
          return;
        }
        chunks.push(chunk);
        timer.refresh();
      }
      function onEnd() {
        cleanup();
        resolve(chunks.length === 1 ? chunks[0]!.toString("utf8") : Buffer.concat(chunks).toString("utf8"));
      }
      function onError(error: unknown) {
        cleanup();
        reject(error instanceof Error ? error : new Error("request aborted"));
      }
      request.on("data", onData).on("end", onEnd).on("error", onError).on("aborted", onError);
    });
  }

  function send(response: Response, status: number, type: string, body: string | Buffer): void {
    const length = String(typeof body === "string" ? Buffer.byteLength(body) : body.length);
    response.writeHead(status, [...SECURITY_FLAT, "cache-control", response.cacheControl, ...response.headerList, "content-type", type, "content-length", length]);
    response.end(body);
  }

  function sendJson(response: Response, status: number, value: unknown): void {
    send(response, status, JSON_TYPE, JSON.stringify(value));
  }

  const errorBody = (status: number, message: string) => ({ statusCode: status, error: STATUS_CODES[status] ?? "Error", message });

  async function renderError(request: IncomingMessage, response: Response, route: string, error: unknown, form?: Form): Promise<void> {
    let status: number;
    let message: string;
    if (error instanceof StoreUnavailableError) {
      status = 503;
      message = error.message;
      response.addHeader("retry-after", "1");
      // The outage itself is logged once by the store; per request only at debug.
      log.debug({ err: (error.cause as Error | undefined)?.message }, "redis unavailable");
    } else if (error instanceof HttpError) {
      status = error.status;
      message = error.message;
      if (error.close) {
        // The body was not (fully) read: do not let node:http read and discard it.
        response.addHeader("connection", "close");
        response.once("finish", () => request.socket.destroySoon());
      }
    } else if (error instanceof InvalidLengthError) {
      status = 400;
      message = error.message;
    } else {
      log.error({ err: error }, "unhandled error");
      stdout?.flush();
      status = 500;
      message = "internal error";
    }
    if (route === "/") {
      // The person at the page reads Portuguese; other 4xx only come from hand-made requests.
      const friendly =
        status === 503
          ? "Serviço temporariamente indisponível: não foi possível salvar ou ler as senhas. Tente novamente."
          : error instanceof InvalidLengthError
            ? `O tamanho deve ser um número inteiro de ${MIN_LENGTH} a ${MAX_LENGTH}.`
            : message;
      const senhas = status === 503 ? [] : await store.recent().catch(() => []);
      send(response, status, HTML_TYPE, renderPage({ senhas, error: friendly, form }));
      return;
    }
    sendJson(response, status, errorBody(status, message));
  }

  function noBody(request: IncomingMessage): void {
    // GET routes take no body: refuse it instead of reading (and discarding) it.
    if (hasBody(request)) throw new HttpError(413, `${request.method} ${request.url?.split("?")[0]} takes no request body`, true);
  }

  async function generate(length: number, digits: boolean, punctuation: boolean): Promise<string> {
    const senha = generatePassword({ length, digits, punctuation });
    await store.add(senha);
    metrics.senhasGeradas.inc();
    return senha;
  }

  /** Routes: returns the route template (metrics label), or "unmatched". */
  async function route(request: IncomingMessage, response: Response, path: string): Promise<string> {
    const method = request.method;
    if (path === "/api/gerar-senha") {
      if (method !== "POST") return notFound(request, response, path);
      try {
        if (hasBody(request) && mediaType(request) !== "application/json") {
          throw new HttpError(415, `unsupported content type ${JSON.stringify(request.headers["content-type"] ?? "")}; send application/json`, true);
        }
        const body = parseApiBody(await readBody(request));
        const senha = await generate(body.tamanho ?? DEFAULT_LENGTH, body.incluir_numeros ?? false, body.incluir_caracteres_especiais ?? false);
        sendJson(response, 200, { senha });
      } catch (error) {
        await renderError(request, response, path, error);
      }
      return path;
    }
    if (method !== "GET" && method !== "HEAD" && !(method === "POST" && path === "/")) return notFound(request, response, path);
    if (path === "/") {
      let form: Form | undefined;
      try {
        if (method === "POST") {
          if (hasBody(request) && mediaType(request) !== "application/x-www-form-urlencoded") {
            throw new HttpError(415, `unsupported content type ${JSON.stringify(request.headers["content-type"] ?? "")}; send application/x-www-form-urlencoded`, true);
          }
          const text = await readBody(request);
          form = parseForm(text);
          const raw = form.tamanho.trim();
          if (!/^\d{1,4}$/.test(raw)) throw new InvalidLengthError(raw || "nothing");
          const senha = await generate(Number(raw), form.incluirNumeros, form.incluirCaracteresEspeciais);
          send(response, 200, HTML_TYPE, renderPage({ senha, senhas: await store.recent(), form }));
        } else {
          noBody(request);
          send(response, 200, HTML_TYPE, renderPage({ senhas: await store.recent() }));
        }
      } catch (error) {
        await renderError(request, response, path, error, form);
      }
      return path;
    }
    try {
      noBody(request);
    } catch (error) {
      await renderError(request, response, path, error);
      return STATIC_FILES.has(path.slice(8)) || QUIET_ROUTES.has(path) || path === "/api/senhas" ? path : "unmatched";
    }
    switch (path) {
      case "/api/senhas":
        try {
          const senhas = await store.recent();
          sendJson(response, 200, senhas.map((senha, index) => ({ id: index + 1, senha })));
        } catch (error) {
          await renderError(request, response, path, error);
        }
        return path;
      case "/healthz":
        sendJson(response, 200, { status: "ok" });
        return path;
      case "/readyz": {
        // Ask Redis (TIME, bounded by at most 1 s, below the kubelet's 2 s timeout): a connected but hung Redis is not ready.
        // While draining the answer is 503 anyway: skip the round trip.
        const redis = draining ? store.ready : await store.probe();
        const ready = redis && !draining;
        sendJson(response, ready ? 200 : 503, { status: ready ? "ready" : "not ready", redis: redis ? "up" : "down", draining });
        return path;
      }
      case "/metrics":
        send(response, 200, metrics.registry.contentType, await metrics.registry.metrics());
        return path;
    }
    if (path.startsWith("/static/")) {
      const file = STATIC_FILES.get(path.slice(8));
      if (file) {
        response.cacheControl = "public, max-age=3600";
        send(response, 200, file.type, file.body);
        return "/static/:file";
      }
    }
    return notFound(request, response, path);
  }

  function notFound(request: IncomingMessage, response: Response, path: string): string {
    // The body of an unknown route is never read either.
    if (hasBody(request)) {
      response.addHeader("connection", "close");
      response.once("finish", () => request.socket.destroySoon());
    }
    sendJson(response, 404, errorBody(404, `no route ${request.method} ${path}`));
    return "unmatched";
  }

  async function handle(request: IncomingMessage, response: Response): Promise<void> {
    const started = performance.now();
    const header = request.headers["x-request-id"];
    const reqId = typeof header === "string" && REQUEST_ID.test(header) ? header : randomUUID();
    response.addHeader("x-request-id", reqId);
    // While draining, close each keep-alive connection after its response, so
    // no client sends its next request on a socket the server is about to close.
    if (draining) response.addHeader("connection", "close");
    const url = request.url ?? "/";
    const query = url.indexOf("?");
    const path = query === -1 ? url : url.slice(0, query);
    let routeName = "unmatched";
    try {
      if (request.rawHeaders.length / 2 > config.maxHeaders) {
        throw new HttpError(431, `more than ${config.maxHeaders} request headers`, true);
      }
      routeName = await route(request, response, path);
    } catch (error) {
      if (!response.headersSent) await renderError(request, response, "", error);
      else response.destroy();
    }
    const ms = performance.now() - started;
    const statusCode = response.statusCode;
    metrics.requestDuration.observe({ method: request.method ?? "", route: routeName, status_code: statusCode }, ms / 1000);
    const fields = { reqId, method: request.method, url, statusCode, ms: Math.round(ms * 10) / 10 };
    if (QUIET_ROUTES.has(routeName)) log.debug(fields, "request");
    else log.info(fields, "request");
  }

  const server = createServer<typeof IncomingMessage, typeof Response>(
    {
      ServerResponse: Response,
      // Bound every phase of a request and what one connection may hold.
      headersTimeout: config.headersTimeoutMs,
      requestTimeout: config.requestTimeoutMs,
      keepAliveTimeout: config.keepAliveTimeoutMs,
      // How often node:http checks those two timeouts (default 30 s).
      connectionsCheckingInterval: Math.min(1_000, config.headersTimeoutMs),
      maxHeaderSize: config.maxHeaderBytes,
    },
    (request, response) => void handle(request, response),
  );
  // One over the limit, so a request with too many headers is seen and refused (431).
  server.maxHeadersCount = config.maxHeaders + 1;
  server.maxConnections = config.maxConnections;
  server.on("clientError", (error: NodeJS.ErrnoException, socket) => {
    // Malformed requests, oversized heads (431) and timeouts (408): answer if we still can, never log a stack.
    if (!socket.writable || (socket as { _httpMessage?: unknown })._httpMessage) {
      socket.destroy();
      return;
    }
    const status = error.code === "HPE_HEADER_OVERFLOW" ? 431 : error.code === "ERR_HTTP_REQUEST_TIMEOUT" ? 408 : 400;
    const body = JSON.stringify(errorBody(status, STATUS_CODES[status] ?? "bad request"));
    socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nconnection: close\r\ncontent-type: ${JSON_TYPE}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
  });

  const app = {
    log,
    server,
    listen({ host, port }: { host: string; port: number }): Promise<AddressInfo> {
      return new Promise((resolve, reject) => {
        server.once("error", reject);
        server.listen(port, host, () => {
          server.off("error", reject);
          resolve(server.address() as AddressInfo);
        });
      });
    },
    /** Stop accepting, let in-flight requests finish, then close Redis. */
    async close(): Promise<void> {
      if (server.listening) {
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        await closed;
      }
      await store.close();
    },
  };

  return {
    app,
    store,
    metrics,
    flushLogs() {
      stdout?.flushSync();
    },
    /** First step of a graceful stop: /readyz fails from now on, everything else keeps serving. */
    startDraining() {
      draining = true;
    },
  };
}

export type App = ReturnType<typeof buildApp>;
