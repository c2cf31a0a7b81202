// A local stand-in for the few GitHub REST endpoints bootstrap uses (repository,
// commit, deploy keys), so @octokit/rest runs unchanged against it.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";

export type FakeRepo = { private: boolean; refs: Record<string, string> };
export type DeployKey = { id: number; key: string; title: string; read_only: boolean };

export type FakeGitHub = {
  url: string;
  keys: Map<string, DeployKey[]>;
  requests: string[];
  close(): Promise<void>;
};

export async function startFakeGitHub(options: { token: string; repos: Record<string, FakeRepo> }): Promise<FakeGitHub> {
  const keys = new Map<string, DeployKey[]>();
  const requests: string[] = [];
  let nextId = 1;
  const server = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push(`${req.method} ${url.pathname}`);
    const send = (code: number, body: unknown) => {
      res.writeHead(code, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const auth = req.headers.authorization ?? "";
    if (auth !== `token ${options.token}` && auth !== `Bearer ${options.token}`) return send(401, { message: "Bad credentials", status: "401" });
    const match = /^\/repos\/([^/]+)\/([^/]+)(\/.*)?$/.exec(url.pathname);
    const name = match ? `${match[1]}/${match[2]}` : "";
    const repo = options.repos[name];
    if (!match || !repo) return send(404, { message: "Not Found", status: "404" });
    const rest = match[3] ?? "";
    if (rest === "" && req.method === "GET") return send(200, { full_name: name, name: match[2], private: repo.private });
    const commit = /^\/commits\/(.+)$/.exec(rest);
    if (commit && req.method === "GET") {
      const ref = decodeURIComponent(commit[1]!);
      const sha = repo.refs[ref] ?? Object.values(repo.refs).find((s) => s.startsWith(ref));
      return sha ? send(200, { sha }) : send(422, { message: `No commit found for SHA: ${ref}` });
    }
    if (rest === "/keys") {
      const list = keys.get(name) ?? [];
      if (req.method === "GET") return send(200, list);
      if (req.method === "POST") {
        const body = JSON.parse(Buffer.concat(chunks).toString()) as Omit<DeployKey, "id">;
        if (list.some((k) => k.key.split(" ").slice(0, 2).join(" ") === body.key.split(" ").slice(0, 2).join(" "))) return send(422, { message: "key is already in use" });
        const key = { id: nextId++, key: body.key.split(" ").slice(0, 2).join(" "), title: body.title, read_only: body.read_only };
        keys.set(name, [...list, key]);
        return send(201, key);
      }
    }
    return send(404, { message: "Not Found" });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    keys,
    requests,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
