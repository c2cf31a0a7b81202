// The page in a real headless Chromium: the form works with and without
// JavaScript, and the strict CSP produces no violations.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { LETTERS, DIGITS, PUNCTUATION } from "../src/generator.mts";
import { startInProcess } from "./harness.mts";
import { startRedis } from "./redis-server.mts";

// tsconfig has no DOM lib; the one browser call used in evaluate().
type BrowserWindow = { getComputedStyle(element: unknown): { borderRadius: string } };

const artifacts = join(import.meta.dirname, "../../../.artifacts/giropops-senhas");
mkdirSync(artifacts, { recursive: true });

const redis = await startRedis();
const server = await startInProcess({ REDIS_URL: redis.url });
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update", "--disable-sync", "--no-first-run"],
});

test.after(async () => {
  await browser.close();
  await server.close();
  await redis.dispose();
});

test("fills the form, submits, and sees the password and the recent list", async () => {
  const context = await browser.newContext({ viewport: { width: 900, height: 1000 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on("console", (message) => message.type() === "error" && problems.push(message.text()));
  page.on("pageerror", (error) => problems.push(error.message));

  await page.goto(server.base + "/");
  assert.is(await page.title(), "Gerador de Senhas · Giropops");
  assert.is(await page.locator(".empty").textContent(), "Nenhuma senha gerada ainda.");

  for (const length of ["10", "24"]) {
    await page.fill("#tamanho", length);
    await page.check('input[name="incluir_numeros"]');
    await page.check('input[name="incluir_caracteres_especiais"]');
    await Promise.all([page.waitForURL(server.base + "/"), page.click('button[type="submit"]')]);
  }
  const senha = (await page.locator("#senha").textContent()) ?? "";
  assert.is(senha.length, 24);
  for (const set of [LETTERS, DIGITS, PUNCTUATION]) assert.ok([...senha].some((c) => set.includes(c)), senha);
  const items = await page.locator("#senhas li").allTextContents();
  assert.is(items.length, 2);
  assert.is(items[0], senha, "newest first and rendered verbatim (escaping round-trips)");
  assert.is(items[1]!.length, 10);

  // The script is allowed by the CSP and enhances the page with a copy button.
  assert.ok(await page.locator("#copiar").isVisible(), "copy button shown when JavaScript runs");
  // The stylesheet applied (CSP allows 'self' styles): the page is not unstyled.
  assert.is(await page.locator("button[type=submit]").evaluate((el) => (globalThis as unknown as BrowserWindow).getComputedStyle(el).borderRadius), "8px");
  assert.equal(problems, [], "no console errors or CSP violations");

  await page.screenshot({ path: join(artifacts, "page.png"), fullPage: true });
  await context.close();
});

test("the form works with JavaScript disabled, and shows validation errors inline", async () => {
  const context = await browser.newContext({ javaScriptEnabled: false });
  const page = await context.newPage();
  await page.goto(server.base + "/");
  await page.fill("#tamanho", "12");
  await page.uncheck('input[name="incluir_caracteres_especiais"]');
  await Promise.all([page.waitForURL(server.base + "/"), page.click('button[type="submit"]')]);
  const senha = (await page.locator("#senha").textContent()) ?? "";
  assert.match(senha, /^[A-Za-z0-9]{12}$/);
  assert.is(await page.locator("#senhas li").first().textContent(), senha);
  assert.not.ok(await page.locator("#copiar").isVisible(), "no copy button without JavaScript");

  // Bypass the browser's own min/max check to see the server's answer.
  await page.locator("#tamanho").evaluate((el) => el.removeAttribute("max"));
  await page.fill("#tamanho", "500");
  const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), page.click('button[type="submit"]')]);
  assert.is(response.status(), 400);
  assert.match((await page.locator('[role="alert"]').textContent()) ?? "", /O tamanho deve ser um número inteiro de 4 a 128/);
  assert.is(await page.inputValue("#tamanho"), "500", "the form keeps what was typed");
  await page.screenshot({ path: join(artifacts, "page-error.png"), fullPage: true });
  await context.close();
});

test.run();
