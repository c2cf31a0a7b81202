// Test helpers around the app: in-process (buildApp on port 0) or as a real
// process (node src/server.mts), always against a real redis-server.
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { createClient } from "@redis/client";
import { buildApp } from "../src/app.mts";
import { loadConfig } from "../src/config.mts";
import { freePort } from "./redis-server.mts";

export const SERVER = join(import.meta.dirname, "../src/server.mts");

export async function startInProcess(env: Record<string, string>) {
  const logs: Record<string, unknown>[] = [];
  const logStream = new PassThrough();
  logStream.on("data", (chunk: Buffer) => {
    for (const line of chunk.toString().split("\n")) if (line.trim()) logs.push(JSON.parse(line));
  });
  const built = buildApp(loadConfig({ HOST: "127.0.0.1", PORT: "0", ...env }), { logStream });
  await built.app.listen({ host: "127.0.0.1", port: 0 });
  const address = built.app.server.address();
  const base = `http://127.0.0.1:${typeof address === "object" && address ? address.port : 0}`;
  await waitFor(async () => (await fetch(`${base}/readyz`)).ok, "app ready");
  return { ...built, base, logs, close: () => built.app.close() };
}

export type ServerProcess = {
  base: string;
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
  stop(): Promise<number | null>;
};

export async function startProcess(env: Record<string, string>, options: { waitReady?: boolean } = {}): Promise<ServerProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [SERVER], {
    env: { PATH: process.env.PATH ?? "", HOST: "127.0.0.1", PORT: String(port), ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (chunk) => (output += chunk));
  child.stderr!.on("data", (chunk) => (output += chunk));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const base = `http://127.0.0.1:${port}`;
  const probe = options.waitReady === false ? "/healthz" : "/readyz";
  await waitFor(async () => (await fetch(base + probe)).ok, `server ${probe}`, () => output);
  return {
    base,
    child,
    output: () => output,
    exited,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
      return exited;
    },
  };
}

/** Polls until check() is true; a bounded wait for something eventual, not a speed assertion. */
export async function waitFor(check: () => Promise<boolean>, what: string, detail: () => string = () => "", timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await check()) return;
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}\n${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** A plain client to look at Redis directly, independent of the app's own client. */
export async function redisClient(url: string, password?: string) {
  const client = createClient({ url, ...(password ? { password } : {}), socket: { reconnectStrategy: false } });
  client.on("error", () => {});
  await client.connect();
  return client;
}

export function postJson(base: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(base + path, {
    method: "POST",
    headers: { "content-type": "application/json", ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}
