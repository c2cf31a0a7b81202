// HTTP to the platform's hostnames as a browser on this machine would reach
// them: `*.localhost` goes to 127.0.0.1 (the gateway's host ports on kind and
// minikube) whatever the system resolver says, with the real Host header and
// TLS server name; a local CA file is trusted when given.
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { request as httpRequest, type IncomingMessage, type RequestOptions } from "node:http";
import { request as httpsRequest } from "node:https";
import type { LookupFunction } from "node:net";
import type { HttpFetch } from "./checks.mts";

/** Resolves *.localhost (and localhost) to 127.0.0.1, anything else as usual. */
export const localhostLookup: LookupFunction = (hostname, options, callback) => {
  if (hostname === "localhost" || hostname.endsWith(".localhost")) {
    if (options.all) (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, [{ address: "127.0.0.1", family: 4 }]);
    else callback(null, "127.0.0.1", 4);
    return;
  }
  (dnsLookup as unknown as (h: string, o: object, c: typeof callback) => void)(hostname, options, callback);
};

export type HttpOptions = {
  /** PEM text of a CA to trust for https (the local CA on kind/minikube). */
  ca?: string;
  /** Send every request to this address instead of resolving the hostname (tests). */
  connectTo?: { host: string; port: number };
};

export function createHttp(options: HttpOptions = {}): HttpFetch {
  return (url, init = {}) =>
    new Promise((resolve, reject) => {
      const target = new URL(url);
      const secure = target.protocol === "https:";
      const body = init.body;
      const headers: Record<string, string> = { "user-agent": "giropops-verify", ...init.headers };
      if (body !== undefined) headers["content-length"] = String(Buffer.byteLength(body));
      const requestOptions: RequestOptions & { servername?: string; ca?: string } = {
        method: init.method ?? "GET",
        host: options.connectTo?.host ?? target.hostname,
        port: options.connectTo?.port ?? (target.port || (secure ? 443 : 80)),
        path: `${target.pathname}${target.search}`,
        headers: { host: target.host, ...headers },
        lookup: localhostLookup,
        timeout: init.timeoutMs ?? 15_000,
      };
      if (secure) {
        requestOptions.servername = target.hostname;
        if (options.ca) requestOptions.ca = options.ca;
      }
      const onResponse = (response: IncomingMessage) => {
        const chunks: Buffer[] = [];
        response.on("data", (chunk: Buffer) => chunks.push(chunk));
        response.on("error", reject);
        response.on("end", () => {
          const flat: Record<string, string> = {};
          for (const [key, value] of Object.entries(response.headers)) if (value !== undefined) flat[key] = Array.isArray(value) ? value.join(", ") : value;
          resolve({ status: response.statusCode ?? 0, headers: flat, text: Buffer.concat(chunks).toString("utf8") });
        });
      };
      const request = secure ? httpsRequest(requestOptions, onResponse) : httpRequest(requestOptions, onResponse);
      request.on("timeout", () => request.destroy(new Error(`no answer from ${target.host} within ${requestOptions.timeout} ms`)));
      request.on("error", (error: NodeJS.ErrnoException) =>
        reject(new Error(`${init.method ?? "GET"} ${url}: ${error.code ?? ""} ${error.message}`.replace(/\s+/g, " ").trim())),
      );
      request.end(body);
    });
}
