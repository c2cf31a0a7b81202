// The two clients verify talks through, over real connections: Exec over the
// Kubernetes websocket protocol, and HTTPS to *.localhost with a local CA.
import { execFileSync } from "node:child_process";
import { createServer as createHttpServer } from "node:http";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { createRequire } from "node:module";
import type { IncomingMessage, Server } from "node:http";
import { createHttp } from "../../scripts/lib/verify/http.mts";
import { createKubeApi } from "../../scripts/lib/verify/kube-api.mts";
import { writeKubeconfig } from "../lib/fake-kube.mts";

type Exchange = { url: URL; protocol: string };

// client-node's own websocket library (its dependency `ws`, which ships no types), as the server side.
type Socket = { protocol: string; send(data: Buffer): void; close(): void; terminate(): void };
type WsServer = { clients: Set<Socket>; on(event: "connection", listener: (socket: Socket, request: IncomingMessage) => void): void; close(): void };
const { WebSocketServer } = createRequire(import.meta.url)("ws") as {
  WebSocketServer: new (options: { server: Server; handleProtocols: (protocols: Set<string>) => string | false }) => WsServer;
};

/** A Kubernetes API server that only answers exec: stdout on channel 1, the final Status on channel 3. */
async function execServer(reply: (url: URL) => { stdout: string; status: object }) {
  const seen: Exchange[] = [];
  const server = createHttpServer((_req, res) => res.writeHead(404).end());
  const wss = new WebSocketServer({ server, handleProtocols: (protocols) => (protocols.has("v4.channel.k8s.io") ? "v4.channel.k8s.io" : false) });
  wss.on("connection", (socket, request) => {
    const url = new URL(request.url ?? "/", "http://localhost");
    seen.push({ url, protocol: socket.protocol });
    const { stdout, status } = reply(url);
    socket.send(Buffer.concat([Buffer.from([1]), Buffer.from(stdout)]));
    socket.send(Buffer.concat([Buffer.from([3]), Buffer.from(JSON.stringify(status))]));
    socket.close();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  const dir = mkdtempSync(join(tmpdir(), "verify-exec-"));
  const kubeconfig = join(dir, "kubeconfig");
  writeKubeconfig(kubeconfig, `http://127.0.0.1:${port}`);
  return {
    seen,
    kube: createKubeApi({ context: "kind-giropops", kubeconfigPath: kubeconfig }),
    async close() {
      for (const client of wss.clients) client.terminate();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

test("exec: sends the command, container and tty, collects stdout and reads success from the Status channel", async () => {
  const server = await execServer(() => ({ stdout: "giropops-verify-x\r\n", status: { metadata: {}, status: "Success" } }));
  try {
    const result = await server.kube.exec("giropops-senhas", "redis-0", "redis", ["sh", "-c", "echo giropops-verify-x"], { tty: true });
    assert.equal(result, { stdout: "giropops-verify-x\r\n", stderr: "", exitCode: 0 });
    const { url } = server.seen[0]!;
    assert.is(url.pathname, "/api/v1/namespaces/giropops-senhas/pods/redis-0/exec");
    assert.equal(url.searchParams.getAll("command"), ["sh", "-c", "echo giropops-verify-x"]);
    assert.is(url.searchParams.get("container"), "redis");
    assert.is(url.searchParams.get("tty"), "true");
  } finally {
    await server.close();
  }
});

test("exec: a missing shell or a non-zero exit comes back as the exit code and the Status message", async () => {
  const server = await execServer(() => ({
    stdout: "",
    status: {
      metadata: {},
      status: "Failure",
      message: "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    },
  }));
  try {
    const result = await server.kube.exec("giropops-senhas", "giropops-senhas-abc", "giropops-senhas", ["sh", "-c", "exit 3"]);
    assert.is(result.exitCode, 3);
    assert.match(result.stderr, /non-zero exit code/);
  } finally {
    await server.close();
  }
});

test("https: a local CA given to the client is trusted for *.localhost; without it the certificate is refused", async () => {
  const dir = mkdtempSync(join(tmpdir(), "verify-ca-"));
  const openssl = (...args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: "ignore" });
  try {
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=giropops local CA", "-keyout", "ca.key", "-out", "ca.pem");
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=senhas.localhost", "-keyout", "leaf.key", "-out", "leaf.csr");
    writeFileSync(join(dir, "ext.cnf"), "subjectAltName=DNS:senhas.localhost\n");
    openssl("x509", "-req", "-in", "leaf.csr", "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial", "-days", "1", "-extfile", "ext.cnf", "-out", "leaf.pem");
    const server = createHttpsServer({ key: readFileSync(join(dir, "leaf.key")), cert: readFileSync(join(dir, "leaf.pem")) }, (req, res) => {
      res.writeHead(200, { "content-type": "text/plain" }).end(`host=${req.headers.host}`);
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;
    try {
      const trusted = await createHttp({ ca: readFileSync(join(dir, "ca.pem"), "utf8") })(`https://senhas.localhost:${port}/`);
      assert.equal([trusted.status, trusted.text], [200, `host=senhas.localhost:${port}`]);
      try {
        await createHttp()(`https://senhas.localhost:${port}/`);
        assert.unreachable("an unknown CA must be refused");
      } catch (error) {
        assert.match((error as Error).message, /certificate|SELF_SIGNED|UNABLE_TO/i);
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
