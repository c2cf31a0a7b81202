// The bare reference for `npm run bench`: node:http + the same Redis client and
// the same password generator, no logging, no metrics, no validation beyond
// JSON.parse. What the app costs over this is what its own code costs.
//   PORT=8081 REDIS_URL=redis://127.0.0.1:6379 node apps/giropops-senhas/bench/bare.mts
import { createServer } from "node:http";
import { createClient } from "@redis/client";
import { generatePassword } from "../src/generator.mts";

const client = createClient({ url: process.env.REDIS_URL ?? "redis://127.0.0.1:6379" });
client.on("error", () => {});
await client.connect();

const server = createServer((request, response) => {
  if (request.method === "POST" && request.url === "/api/gerar-senha") {
    let body = "";
    request.setEncoding("utf8");
    request.on("data", (chunk: string) => (body += chunk));
    request.on("end", () => {
      const options = (body ? JSON.parse(body) : {}) as { tamanho?: number; incluir_numeros?: boolean; incluir_caracteres_especiais?: boolean };
      const senha = generatePassword({ length: options.tamanho ?? 8, digits: options.incluir_numeros ?? false, punctuation: options.incluir_caracteres_especiais ?? false });
      client
        .multi()
        .lPush("senhas", senha)
        .lTrim("senhas", 0, 999)
        .exec()
        .then(
          () => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ senha })),
          () => response.writeHead(503).end(),
        );
    });
    return;
  }
  if (request.method === "GET" && request.url === "/api/senhas") {
    client.lRange("senhas", 0, 9).then(
      (senhas) => response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(senhas.map((senha, index) => ({ id: index + 1, senha })))),
      () => response.writeHead(503).end(),
    );
    return;
  }
  if (request.url === "/healthz") return void response.writeHead(200).end("ok");
  response.writeHead(404).end();
});
server.listen(Number(process.env.PORT ?? 8081), process.env.HOST ?? "127.0.0.1");
process.once("SIGTERM", () => {
  server.close();
  void client.close();
});
