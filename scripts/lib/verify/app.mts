// The app answers through the gateway, as a person's browser reaches it:
// generate a password, find it in the list, and see the page render.
import type { HttpResponse } from "./checks.mts";
import { resultOf, type Check, type Verdict } from "./checks.mts";

export type AppAnswers = {
  url: string;
  generate: HttpResponse;
  list?: HttpResponse;
  page?: HttpResponse;
};

function json(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

const snippet = (text: string) => text.replace(/\s+/g, " ").trim().slice(0, 160);

export function judgeApp(answers: AppAnswers): Verdict {
  const { url, generate, list, page } = answers;
  const hint = "kubectl -n giropops-senhas get pods,httproute; kubectl -n traefik logs deploy/traefik --tail=50";
  const evidence: string[] = [];
  const senha = (json(generate.text) as { senha?: unknown } | undefined)?.senha;
  if (generate.status !== 200 || typeof senha !== "string" || senha.length === 0) {
    evidence.push(`POST ${url}/api/gerar-senha → HTTP ${generate.status} ${snippet(generate.text)}`);
    return { ok: false, summary: "the app did not generate a password through the gateway", evidence, hint };
  }
  evidence.push(`POST ${url}/api/gerar-senha → 200, a ${senha.length}-character password`);
  const listed = json(list?.text ?? "");
  const found = Array.isArray(listed) && listed.some((entry) => (entry as { senha?: unknown })?.senha === senha);
  evidence.push(
    list
      ? `GET ${url}/api/senhas → ${list.status}, ${Array.isArray(listed) ? `${listed.length} passwords` : "not a JSON list"}${found ? ", including the new one" : ", the new one missing"}`
      : `GET ${url}/api/senhas → no answer`,
  );
  const rendered = page !== undefined && page.status === 200 && /<title>[^<]*Senhas/i.test(page.text);
  evidence.push(page ? `GET ${url}/ → ${page.status}${rendered ? ", page renders" : `, no page: ${snippet(page.text)}`}` : `GET ${url}/ → no answer`);
  if (!found) return { ok: false, summary: "the generated password is not listed back (Redis?)", evidence, hint: "kubectl -n giropops-senhas logs deploy/giropops-senhas --tail=50; kubectl -n giropops-senhas get pods -l app.kubernetes.io/name=redis" };
  if (!rendered) return { ok: false, summary: "the page does not render", evidence, hint };
  return { ok: true, summary: `the app answers at ${url}: generate, list back and page`, evidence };
}

export const appCheck: Check = {
  name: "app",
  title: "the app answers through the gateway (generate, list back, page)",
  async run(ctx) {
    const url = ctx.url("senhas");
    const generate = await ctx.http(`${url}/api/gerar-senha`, {
      method: "POST",
      headers: { "content-type": "application/json", accept: "application/json" },
      body: JSON.stringify({ tamanho: 16, incluir_numeros: true, incluir_caracteres_especiais: false }),
    });
    const ok = generate.status === 200;
    const list = ok ? await ctx.http(`${url}/api/senhas`, { headers: { accept: "application/json" } }) : undefined;
    const page = ok ? await ctx.http(`${url}/`, { headers: { accept: "text/html" } }) : undefined;
    const verdict = judgeApp({ url, generate, ...(list ? { list } : {}), ...(page ? { page } : {}) });
    return resultOf("app", verdict);
  },
};
