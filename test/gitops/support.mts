// Shared by the test/gitops tests: throw-away copies of the repository to
// edit, and a structural diff of two renders.
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, join } from "node:path";
import { REPO_ROOT, describe, type Rendered } from "../lib/render.mts";

const SKIP = new Set(["node_modules", ".git", ".artifacts", ".terraform"]);
const copies: string[] = [];
process.on("exit", () => copies.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A copy of the repository (or of another copy; no node_modules, no .git), removed when the process exits. */
export function copyRepo(from = REPO_ROOT): string {
  const dir = mkdtempSync(join(tmpdir(), "giropops-gitops-test-"));
  cpSync(from, dir, { recursive: true, filter: (src) => !SKIP.has(basename(src)) });
  copies.push(dir);
  return dir;
}

/** Replaces text in a file of a copy; fails loudly when the text is not there (the example went stale). */
export function edit(root: string, file: string, from: string | RegExp, to: string): void {
  const path = join(root, file);
  const before = readFileSync(path, "utf8");
  const after = before.replace(from, to);
  if (after === before) throw new Error(`example edit no longer applies: ${String(from)} not found in ${file}`);
  writeFileSync(path, after);
}

function flatten(value: unknown, path: string, into: Map<string, unknown>): void {
  if (value && typeof value === "object") {
    const entries = Array.isArray(value) ? value.map((v, i) => [String(i), v] as const) : Object.entries(value);
    if (entries.length === 0) into.set(path, Array.isArray(value) ? [] : {});
    for (const [key, child] of entries) flatten(child, `${path}/${key}`, into);
  } else into.set(path, value);
}

export type Change = { object: string; path: string; before: unknown; after: unknown };

/** Every leaf that differs between two renders, keyed by object ("Kind ns/name") and JSON pointer. */
export function diffRenders(before: Rendered[], after: Rendered[]): Change[] {
  const index = (list: Rendered[]) => new Map(list.map((r) => [describe(r.object), r.object]));
  const a = index(before);
  const b = index(after);
  const changes: Change[] = [];
  for (const name of new Set([...a.keys(), ...b.keys()])) {
    const fa = new Map<string, unknown>();
    const fb = new Map<string, unknown>();
    flatten(a.get(name), "", fa);
    flatten(b.get(name), "", fb);
    for (const path of new Set([...fa.keys(), ...fb.keys()])) {
      if (JSON.stringify(fa.get(path)) !== JSON.stringify(fb.get(path))) changes.push({ object: name, path, before: fa.get(path), after: fb.get(path) });
    }
  }
  return changes;
}
