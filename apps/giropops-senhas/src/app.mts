// The HTTP application: routes wired to the small modules beside this file.
// buildApp does not listen; server.mts (or a test) does.
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { STATUS_CODES } from "node:http";
import { join } from "node:path";
import type { Writable } from "node:stream";
import Fastify, { LogController } from "fastify";
import pino from "pino";
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from "fastify";
import formbody from "@fastify/formbody";
import type { Config } from "./config.mts";
import { DEFAULT_LENGTH, InvalidLengthError, MAX_LENGTH, MIN_LENGTH, generatePassword } from "./generator.mts";
import { createMetrics } from "./metrics.mts";
import { renderPage } from "./page.mts";
import { SECURITY_HEADERS } from "./security.mts";
import { StoreUnavailableError, createStore } from "./store.mts";

const API_FIELDS = ["tamanho", "incluir_numeros", "incluir_caracteres_especiais"] as const;

const gerarSenhaBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    tamanho: { type: "integer", minimum: MIN_LENGTH, maximum: MAX_LENGTH },
    incluir_numeros: { type: "boolean" },
    incluir_caracteres_especiais: { type: "boolean" },
  },
} as const;

// Browsers send checkboxes as "on" and omit them when unchecked; tamanho arrives as text.
const pageFormBody = {
  type: "object",
  additionalProperties: false,
  properties: {
    tamanho: { type: "string" },
    incluir_numeros: { const: "on" },
    incluir_caracteres_especiais: { const: "on" },
  },
} as const;

type GerarSenhaBody = { tamanho?: number; incluir_numeros?: boolean; incluir_caracteres_especiais?: boolean };
type PageForm = { tamanho?: string; incluir_numeros?: "on"; incluir_caracteres_especiais?: "on" };

const STATIC_FILES: Record<string, { type: string; body: Buffer }> = Object.fromEntries(
  [
    ["styles.css", "text/css; charset=utf-8"],
    ["app.js", "text/javascript; charset=utf-8"],
    ["favicon.svg", "image/svg+xml"],
  ].map(([name, type]) => [name, { type: type!, body: readFileSync(join(import.meta.dirname, "public", name!)) }]),
);

// Requests the platform makes every few seconds: logged at debug so they don't drown real traffic.
const QUIET_ROUTES = new Set(["/healthz", "/readyz", "/metrics"]);

/** One readable sentence per validation failure, naming the field. */
function describeValidation(errors: FastifySchemaValidationError[], dataVar: string): Error {
  const first = errors[0];
  const field = first?.instancePath.replace(/^\//, "") ?? "";
  const params = (first?.params ?? {}) as Record<string, unknown>;
  let message: string;
  switch (first?.keyword) {
    case "additionalProperties":
      message = `unknown field "${String(params.additionalProperty)}" (allowed: ${API_FIELDS.join(", ")})`;
      break;
    case "type":
      message = field ? `"${field}" must be ${String(params.type)}` : `${dataVar} must be a JSON ${String(params.type)}`;
      break;
    case "minimum":
    case "maximum":
      message = `"${field}" must be an integer between ${MIN_LENGTH} and ${MAX_LENGTH}`;
      break;
    case "const":
      message = `"${field}" must be "on" when present`;
      break;
    default:
      message = `${dataVar}${first?.instancePath ?? ""} ${first?.message ?? "is invalid"}`;
  }
  return new Error(message);
}

/** One access-log line per request, when it completes (Fastify's default is two). */
class AccessLog extends LogController {
  override incomingRequest(): void {}
  override requestCompleted(error: Error | null, request: FastifyRequest, reply: FastifyReply): void {
    const fields = { method: request.method, url: request.url, statusCode: reply.statusCode, ms: Math.round(reply.elapsedTime * 10) / 10 };
    if (error) reply.log.error({ ...fields, err: error }, "request errored");
    else if (QUIET_ROUTES.has(request.routeOptions.url ?? "")) reply.log.debug(fields, "request");
    else reply.log.info(fields, "request");
  }
}

const REQUEST_ID = /^[\w.:-]{1,128}$/;

export type BuildOptions = {
  /** Where JSON logs go (default: stdout, written asynchronously). */
  logStream?: Writable;
};

export function buildApp(config: Config, options: BuildOptions = {}) {
  // Asynchronous stdout: lines written while a write is pending are batched into one syscall.
  // flushLogs() runs before exit; a hard crash can lose the lines of that last moment.
  const stdout = options.logStream ? undefined : pino.destination({ dest: 1, sync: false });
  const app = Fastify({
    logger: { level: config.logLevel, stream: options.logStream ?? stdout! },
    logController: new AccessLog(),
    bodyLimit: config.bodyLimitBytes,
    // Keep the ingress' request id when it sends a sane one; otherwise mint one.
    genReqId: (req) => {
      const header = req.headers["x-request-id"];
      return typeof header === "string" && REQUEST_ID.test(header) ? header : randomUUID();
    },
    // Strict validation: wrong types and unknown fields are errors, not silently fixed.
    ajv: { customOptions: { coerceTypes: false, removeAdditional: false, useDefaults: false } },
    schemaErrorFormatter: describeValidation,
  });

  let draining = false;
  const store = createStore(config, {
    onReady: () => app.log.info("redis ready"),
    onDown: (error) => app.log.warn({ err: error.message }, "redis unavailable, reconnecting"),
  });
  const metrics = createMetrics(() => store.ready);

  app.addHook("onRequest", (request, reply, done) => {
    reply.headers(SECURITY_HEADERS);
    reply.header("x-request-id", request.id);
    // While draining, close each keep-alive connection after its response, so
    // no client sends its next request on a socket the server is about to close.
    if (draining) reply.header("connection", "close");
    done();
  });
  app.addHook("onResponse", (request, reply, done) => {
    const route = request.routeOptions.url ?? "unmatched";
    metrics.requestDuration.observe(
      { method: request.method, route, status_code: reply.statusCode },
      reply.elapsedTime / 1000,
    );
    done();
  });
  app.addHook("onClose", async () => {
    await store.close();
  });

  const isPage = (request: FastifyRequest) => request.routeOptions.url === "/";

  app.setErrorHandler(async (error: FastifyError, request, reply) => {
    let status = error.statusCode ?? 500;
    let message = error.message;
    if (error instanceof StoreUnavailableError) {
      status = 503;
      reply.header("retry-after", "1");
      // The outage itself is logged once by the store; per request only at debug.
      request.log.debug({ err: (error.cause as Error | undefined)?.message }, "redis unavailable");
    } else if (error instanceof InvalidLengthError) {
      status = 400;
    } else if (error.code === "FST_ERR_CTP_INVALID_MEDIA_TYPE") {
      message = `unsupported content type ${JSON.stringify(request.headers["content-type"] ?? "")}; send ${isPage(request) ? "application/x-www-form-urlencoded" : "application/json"}`;
    } else if (error.code === "FST_ERR_CTP_BODY_TOO_LARGE") {
      message = `request body larger than ${config.bodyLimitBytes} bytes`;
    } else if (status >= 500) {
      request.log.error({ err: error }, "unhandled error");
      status = 500;
      message = "internal error";
    } else if (status < 400) {
      status = 500;
      message = "internal error";
    }
    reply.code(status);
    if (isPage(request)) {
      // The person at the page reads Portuguese; other 4xx only come from hand-made requests.
      const friendly =
        status === 503
          ? "Serviço temporariamente indisponível: não foi possível salvar ou ler as senhas. Tente novamente."
          : error instanceof InvalidLengthError
            ? `O tamanho deve ser um número inteiro de ${MIN_LENGTH} a ${MAX_LENGTH}.`
            : message;
      const senhas = status === 503 ? [] : await store.recent().catch(() => []);
      return reply.type("text/html; charset=utf-8").send(renderPage({ senhas, error: friendly, form: formValues(request.body) }));
    }
    return { statusCode: status, error: STATUS_CODES[status] ?? "Error", message };
  });

  app.setNotFoundHandler(async (request, reply) => {
    reply.code(404);
    return { statusCode: 404, error: "Not Found", message: `no route ${request.method} ${request.url.split("?")[0]}` };
  });

  // Only the parsers each route needs: anything else is a 415.
  app.removeAllContentTypeParsers();

  app.register(async (api) => {
    api.addContentTypeParser("application/json", { parseAs: "string" }, api.getDefaultJsonParser("error", "error"));

    api.post<{ Body: GerarSenhaBody }>(
      "/api/gerar-senha",
      {
        schema: {
          body: gerarSenhaBody,
          response: { 200: { type: "object", properties: { senha: { type: "string" } }, required: ["senha"] } },
        },
        preValidation: emptyBodyIsEmptyObject,
      },
      async (request) => {
        const senha = generatePassword({
          length: request.body.tamanho ?? DEFAULT_LENGTH,
          digits: request.body.incluir_numeros ?? false,
          punctuation: request.body.incluir_caracteres_especiais ?? false,
        });
        await store.add(senha);
        metrics.senhasGeradas.inc();
        return { senha };
      },
    );

    api.get(
      "/api/senhas",
      {
        schema: {
          response: {
            200: {
              type: "array",
              items: { type: "object", properties: { id: { type: "integer" }, senha: { type: "string" } }, required: ["id", "senha"] },
            },
          },
        },
      },
      async () => (await store.recent()).map((senha, index) => ({ id: index + 1, senha })),
    );
  });

  app.register(async (page) => {
    await page.register(formbody, { bodyLimit: config.bodyLimitBytes });

    page.get("/", async (_request, reply) => {
      const senhas = await store.recent();
      return reply.type("text/html; charset=utf-8").send(renderPage({ senhas }));
    });

    page.post<{ Body: PageForm }>("/", { schema: { body: pageFormBody }, preValidation: emptyBodyIsEmptyObject }, async (request, reply) => {
      const form = formValues(request.body);
      const raw = form.tamanho.trim();
      if (!/^\d{1,4}$/.test(raw)) throw new InvalidLengthError(raw || "nothing");
      const senha = generatePassword({ length: Number(raw), digits: form.incluirNumeros, punctuation: form.incluirCaracteresEspeciais });
      await store.add(senha);
      metrics.senhasGeradas.inc();
      const senhas = await store.recent();
      return reply.type("text/html; charset=utf-8").send(renderPage({ senha, senhas, form }));
    });
  });

  app.get<{ Params: { file: string } }>("/static/:file", async (request, reply) => {
    const file = STATIC_FILES[request.params.file];
    if (!file) return reply.callNotFound();
    return reply.type(file.type).header("cache-control", "public, max-age=3600").send(file.body);
  });

  app.get("/healthz", async () => ({ status: "ok" }));

  app.get("/readyz", async (_request, reply: FastifyReply) => {
    const redis = store.ready;
    const ready = redis && !draining;
    reply.code(ready ? 200 : 503);
    return { status: ready ? "ready" : "not ready", redis: redis ? "up" : "down", draining };
  });

  app.get("/metrics", async (_request, reply) => {
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

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

// Every field is optional, so a POST without a body means "all defaults".
async function emptyBodyIsEmptyObject(request: FastifyRequest): Promise<void> {
  if (request.body === undefined || request.body === null) request.body = {};
}

function formValues(body: unknown) {
  const form = (body && typeof body === "object" ? body : {}) as Record<string, unknown>;
  return {
    tamanho: typeof form.tamanho === "string" ? form.tamanho : String(DEFAULT_LENGTH),
    incluirNumeros: form.incluir_numeros === "on",
    incluirCaracteresEspeciais: form.incluir_caracteres_especiais === "on",
  };
}
