// Raw Kubernetes API access for verify, bound to the same explicit context as
// scripts/lib/kube.mts. Raw, because the checks need answers the typed client
// turns into exceptions: a dry-run's denial Status, a service proxy's body,
// pod logs. Exec goes through client-node's websocket Exec.
import { Writable } from "node:stream";
import { Exec, IsomorphicFetchHttpLibrary, RequestContext, type HttpMethod, type V1Status } from "@kubernetes/client-node";
import { loadKubeConfig, type KubeTarget } from "../kube.mts";
import type { KubeApi, KubeResponse } from "./checks.mts";

function parseBody(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function collector(): { stream: Writable; text: () => string } {
  const chunks: Buffer[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      chunks.push(Buffer.from(chunk));
      done();
    },
  });
  return { stream, text: () => Buffer.concat(chunks).toString("utf8") };
}

/** The exit code Kubernetes reports in an exec's final Status. */
export function execExitCode(status: V1Status | undefined): number {
  if (!status || status.status === "Success") return 0;
  const cause = status.details?.causes?.find((c) => c.reason === "ExitCode");
  const code = Number(cause?.message);
  return Number.isInteger(code) && code > 0 ? code : 1;
}

export function createKubeApi(target: KubeTarget): KubeApi {
  const kc = loadKubeConfig(target);
  const server = kc.getCurrentCluster()?.server ?? "(unknown server)";
  const http = new IsomorphicFetchHttpLibrary();
  return {
    server,
    async request(method, path, options = {}): Promise<KubeResponse> {
      const url = new URL(server.replace(/\/$/, "") + path);
      for (const [key, value] of Object.entries(options.query ?? {})) url.searchParams.set(key, value);
      const request = new RequestContext(url.toString(), method as HttpMethod);
      await kc.applySecurityAuthentication(request);
      request.setHeaderParam("Accept", "application/json, */*");
      if (options.body !== undefined) {
        request.setHeaderParam("Content-Type", options.contentType ?? "application/json");
        request.setBody(typeof options.body === "string" ? options.body : JSON.stringify(options.body));
      }
      request.setSignal(AbortSignal.timeout(options.timeoutMs ?? 30_000));
      const response = await http.send(request).toPromise();
      const text = await response.body.text();
      return { status: response.httpStatusCode, body: parseBody(text), text };
    },
    async exec(namespace, pod, container, command, options = {}) {
      const out = collector();
      const err = collector();
      const finished = new Promise<V1Status | undefined>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`exec in ${namespace}/${pod} timed out`)), options.timeoutMs ?? 30_000);
        new Exec(kc)
          .exec(namespace, pod, container, command, out.stream, err.stream, null, options.tty ?? false, (status) => {
            clearTimeout(timer);
            resolve(status);
          })
          .then((socket) => socket.on("close", () => setTimeout(() => resolve(undefined), 200)))
          .catch((error: unknown) => {
            clearTimeout(timer);
            reject(error);
          });
      });
      const status = await finished;
      const failure = status && status.status !== "Success" && status.message ? `${status.message}\n` : "";
      return { stdout: out.text(), stderr: err.text() + failure, exitCode: execExitCode(status) };
    },
  };
}
