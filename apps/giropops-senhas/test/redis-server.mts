// A real redis-server for tests and the benchmark: free port, own temp dir,
// no persistence unless asked. Reusable by other suites (chaos, verify).
import { execFileSync, spawn } from "node:child_process";
import type { ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer, connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const REDIS_SERVER = process.env.REDIS_SERVER_BIN ?? "/usr/bin/redis-server";

export type RedisServer = {
  port: number;
  /** redis://127.0.0.1:PORT, or rediss:// when started with tls. */
  url: string;
  dir: string;
  /** With tls: the PEM of the test CA that signed the server certificate. */
  caFile: string | undefined;
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

/** A throwaway CA and a server certificate for 127.0.0.1 (openssl CLI). */
function makeCertificates(dir: string): { ca: string; cert: string; key: string } {
  const file = (name: string) => join(dir, name);
  const openssl = (...args: string[]) => execFileSync("openssl", args, { stdio: "ignore" });
  openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", file("ca.key"), "-out", file("ca.pem"), "-days", "1", "-subj", "/CN=giropops-test-ca");
  openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", file("server.key"), "-out", file("server.csr"), "-subj", "/CN=127.0.0.1");
  writeFileSync(file("san.ext"), "subjectAltName=IP:127.0.0.1\n");
  openssl("x509", "-req", "-in", file("server.csr"), "-CA", file("ca.pem"), "-CAkey", file("ca.key"), "-CAcreateserial", "-out", file("server.pem"), "-days", "1", "-extfile", file("san.ext"));
  return { ca: file("ca.pem"), cert: file("server.pem"), key: file("server.key") };
}

export async function startRedis(options: { password?: string; tls?: boolean; args?: string[] } = {}): Promise<RedisServer> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), "giropops-redis-"));
  const certs = options.tls ? makeCertificates(dir) : undefined;
  const listen = certs
    ? ["--port", "0", "--tls-port", String(port), "--tls-cert-file", certs.cert, "--tls-key-file", certs.key, "--tls-ca-cert-file", certs.ca, "--tls-auth-clients", "no"]
    : ["--port", String(port)];
  let child: ChildProcess | undefined;
  let output = "";

  const start = async () => {
    const args = [...listen, "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--appendonly", "no", ...(options.args ?? [])];
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
    url: `${certs ? "rediss" : "redis"}://127.0.0.1:${port}`,
    dir,
    caFile: certs?.ca,
    stop,
    start,
    async dispose() {
      await stop("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
