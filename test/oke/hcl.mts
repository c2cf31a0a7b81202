// Just enough HCL reading for tests of clusters/oke/tofu (no OpenTofu or HCL
// parser is installable here): the text of one block, found by its header and
// balanced braces, comments left out.
import { readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { REPO_ROOT } from "../lib/render.mts";

export const TOFU_DIR = join(REPO_ROOT, "clusters/oke/tofu");

/** Every .tf file in clusters/oke/tofu, joined, without # and // comments. */
export function tofuText(): string {
  return readdirSync(TOFU_DIR)
    .filter((f) => f.endsWith(".tf"))
    .sort()
    .map((f) => readFileSync(join(TOFU_DIR, f), "utf8"))
    .join("\n")
    .split("\n")
    .map((line) => line.replace(/(^|\s)(#|\/\/).*$/, ""))
    .join("\n");
}

/** The body of the block that starts with `header` (e.g. `resource "oci_core_security_list" "lb"`). */
export function block(text: string, header: string): string {
  const start = text.indexOf(`${header} {`);
  if (start < 0) throw new Error(`no block ${header}`);
  let depth = 0;
  for (let i = text.indexOf("{", start); i < text.length; i++) {
    if (text[i] === "{") depth++;
    else if (text[i] === "}" && --depth === 0) return text.slice(text.indexOf("{", start) + 1, i);
  }
  throw new Error(`unbalanced block ${header}`);
}

/** The bodies of every nested block named `name` (e.g. ingress_security_rules) directly in `body`. */
export function blocks(body: string, name: string): string[] {
  const out: string[] = [];
  const re = new RegExp(`(^|\\n)\\s*${name}\\s*\\{`, "g");
  for (const match of body.matchAll(re)) out.push(block(body.slice(match.index), name));
  return out;
}
