// The web page: server-rendered, works without JavaScript; the optional script
// only adds a copy button. No inline script or style, so the CSP can be strict.
import { DEFAULT_LENGTH, MAX_LENGTH, MIN_LENGTH } from "./generator.mts";

export type PageModel = {
  senha?: string | undefined;
  senhas: string[];
  error?: string | undefined;
  form?: { tamanho: string; incluirNumeros: boolean; incluirCaracteresEspeciais: boolean } | undefined;
};

const ESCAPES: Record<string, string> = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;", "`": "&#96;" };

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"'`]/g, (c) => ESCAPES[c]!);
}

export function renderPage({ senha, senhas, error, form }: PageModel): string {
  const tamanho = form?.tamanho ?? String(DEFAULT_LENGTH);
  const numeros = form ? form.incluirNumeros : true;
  const especiais = form ? form.incluirCaracteresEspeciais : true;
  const checked = (on: boolean) => (on ? " checked" : "");

  const result = senha
    ? `<section class="result" aria-live="polite">
        <h2>Sua senha</h2>
        <div class="senha-row">
          <output id="senha" class="senha">${escapeHtml(senha)}</output>
          <button type="button" id="copiar" class="secondary" data-target="senha" hidden>Copiar</button>
        </div>
      </section>`
    : "";
  const alert = error ? `<p class="error" role="alert">${escapeHtml(error)}</p>` : "";
  const list =
    senhas.length > 0
      ? `<ol class="senhas" id="senhas">${senhas.map((s) => `<li><code>${escapeHtml(s)}</code></li>`).join("")}</ol>`
      : `<p class="empty">Nenhuma senha gerada ainda.</p>`;

  return `<!doctype html>
<html lang="pt-BR">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>Gerador de Senhas · Giropops</title>
  <link rel="stylesheet" href="/static/styles.css">
  <link rel="icon" href="/static/favicon.svg" type="image/svg+xml">
  <script src="/static/app.js" defer></script>
</head>
<body>
  <main>
    <header>
      <h1>Gerador de Senhas</h1>
      <p class="lead">Senhas fortes, geradas com um gerador criptograficamente seguro.</p>
    </header>
    <form method="post" action="/" class="card">
      <label for="tamanho">Tamanho da senha</label>
      <input type="number" id="tamanho" name="tamanho" min="${MIN_LENGTH}" max="${MAX_LENGTH}" value="${escapeHtml(tamanho)}" required>
      <p class="hint">De ${MIN_LENGTH} a ${MAX_LENGTH} caracteres. Letras sempre incluídas.</p>
      <label class="check"><input type="checkbox" name="incluir_numeros"${checked(numeros)}> Incluir números</label>
      <label class="check"><input type="checkbox" name="incluir_caracteres_especiais"${checked(especiais)}> Incluir caracteres especiais</label>
      <button type="submit">Gerar senha</button>
      ${alert}
    </form>
    ${result}
    <section class="card">
      <h2>Últimas senhas geradas</h2>
      ${list}
    </section>
    <footer>Giropops Senhas · <a href="/api/senhas">API</a></footer>
  </main>
</body>
</html>
`;
}
