// A real redis-server for tests and the benchmark: free port, own temp dir,
// no persistence unless asked. Reusable by other suites (chaos, verify).
import { spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

export type RedisServer = {
  port: number;
  url: string;
  dir: string;
  /** SIGKILL (crash) or SIGTERM (clean shutdown); the port stays reserved for start(). */
  stop(signal?: "SIGTERM" | "SIGKILL"): Promise<void>;
  /** Start again on the same port and dir (after stop). */
  start(): Promise<void>;
  /** Stop and remove the temp dir. */
  dispose(): Promise<void>;
};

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ port, host: "127.0.0.1" });
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

export async function startRedis(options: { password?: string; args?: string[] } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "giropops-redis-"));
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    const args = ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...(options.args ?? [])];
    // The password goes through stdin config, not argv, so it never shows in ps.
    child = spawn(REDIS_SERVER, ["-", ...args], { stdio: ["pipe", "pipe", "pipe"] });
    child.stdin!.end(options.password ? `requirepass "${options.password}"\n` : "");
    child.stdout!.on("data", (chunk) => (output += chunk));
    child.stderr!.on("data", (chunk) => (output += chunk));
    const exited = new Promise<never>((_, reject) =>
      child!.once("exit", (code) => reject(new Error(`redis-server exited (${code}) on start:\n${output}`))),
    );
    const deadline = Date.now() + 5_000;
    while (!(await Promise.race([canConnect(port), exited]))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not listen on ${port}:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  };

  const stop = async (signal: "SIGTERM" | "SIGKILL" = "SIGKILL") => {
    const current = child;
    child = undefined;
    if (!current || current.exitCode !== null || current.signalCode !== null) return;
    const gone = new Promise((resolve) => current.once("exit", resolve));
    current.kill(signal);
    await gone;
  };

  await start();
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop,
    start,
    async dispose() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
