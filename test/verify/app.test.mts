import { createServer, type AddressInfo } from "node:net";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { appCheck, judgeApp } from "../../scripts/lib/verify/app.mts";
import { runCheck } from "../../scripts/lib/verify/checks.mts";
import { contextFor, startApiServer, type ApiServer, type Route } from "./lib/api-server.mts";

const PAGE = (senhas: string[]) =>
  `<!doctype html><html lang="pt-BR"><head><title>Gerador de Senhas · Giropops</title></head><body><h1>Gerador de Senhas</h1><ul>${senhas.map((s) => `<li>${s}</li>`).join("")}</ul></body></html>`;

/** The app as the gateway serves it at senhas.localhost: a list that remembers what it generated. */
function appRoutes(options: { remember?: boolean; page?: string; generateStatus?: number } = {}): Route[] {
  const stored: string[] = ["oldPassword123"];
  let n = 0;
  return [
    {
      method: "POST",
      path: "/api/gerar-senha",
      host: "senhas.localhost",
      answer: (seen) => {
        if (options.generateStatus) return { status: options.generateStatus, body: { error: "Service Unavailable", message: "Redis indisponível" } };
        const body = JSON.parse(seen.body) as { tamanho: number };
        const senha = `Abc${++n}`.padEnd(body.tamanho, "7");
        if (options.remember !== false) stored.unshift(senha);
        return { body: { senha } };
      },
    },
    { path: "/api/senhas", host: "senhas.localhost", answer: () => ({ body: stored.map((senha, i) => ({ id: i + 1, senha })) }) },
    { path: "/", host: "senhas.localhost", answer: () => ({ text: options.page ?? PAGE(stored), headers: { "content-type": "text/html; charset=utf-8" } }) },
  ];
}

let api: ApiServer | undefined;
test.after.each(async () => {
  await api?.close();
  api = undefined;
});

test("passes when a password is generated, listed back and the page renders, through the Host the gateway routes on", async () => {
  api = await startApiServer(appRoutes());
  const [result] = await runCheck(appCheck, contextFor(api));
  assert.is(result?.status, "pass", result?.summary);
  assert.match(result?.summary ?? "", /the app answers at http:\/\/senhas\.localhost:\d+/);
  assert.ok(result?.evidence.some((l) => /gerar-senha → 200, a 16-character password/.test(l)));
  assert.ok(result?.evidence.some((l) => /api\/senhas → 200, 2 passwords, including the new one/.test(l)));
  assert.ok(api.seen.every((s) => s.headers.host === `senhas.localhost:${api!.port}`), "every request carries the app's hostname");
  const generate = api.seen.find((s) => s.method === "POST");
  assert.equal(JSON.parse(generate?.body ?? "{}"), { tamanho: 16, incluir_numeros: true, incluir_caracteres_especiais: false });
});

test("fails when the password is not listed back (the app cannot reach Redis)", async () => {
  api = await startApiServer(appRoutes({ remember: false }));
  const [result] = await runCheck(appCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /not listed back/);
  assert.match(result?.hint ?? "", /kubectl --context kind-giropops -n giropops-senhas logs deploy\/giropops-senhas/);
});

test("fails with the app's answer when generation fails", async () => {
  api = await startApiServer(appRoutes({ generateStatus: 503 }));
  const [result] = await runCheck(appCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.evidence[0] ?? "", /HTTP 503 .*Redis indisponível/);
  assert.is(api.seen.length, 1, "nothing more is asked once generation failed");
});

test("fails when the page does not render", async () => {
  api = await startApiServer(appRoutes({ page: "404 page not found" }));
  const [result] = await runCheck(appCheck, contextFor(api));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /page does not render/);
});

test("a hostname the gateway does not route is a 404, a failed check", async () => {
  api = await startApiServer(appRoutes());
  const ctx = contextFor(api, { url: (name) => `http://${name}.elsewhere.localhost:${api!.port}` });
  const [result] = await runCheck(appCheck, ctx);
  assert.is(result?.status, "fail");
  assert.match(result?.evidence[0] ?? "", /HTTP 404/);
});

test("nothing listening on the gateway port is a failed check with the connection error", async () => {
  api = await startApiServer([]);
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const [result] = await runCheck(appCheck, contextFor(api, { url: (name) => `http://${name}.localhost:${port}` }));
  assert.is(result?.status, "fail");
  assert.match(result?.summary ?? "", /could not be checked: POST http:\/\/senhas\.localhost:\d+\/api\/gerar-senha: ECONNREFUSED/);
});

test("judge: a JSON answer without a password is a failure", () => {
  const verdict = judgeApp({ url: "http://senhas.localhost", generate: { status: 200, headers: {}, text: "{}" } });
  assert.not.ok(verdict.ok);
});

test.run();
