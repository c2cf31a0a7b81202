// Reads the repository's Markdown the way a reader follows it: links, headings
// (as GitHub turns them into anchors), shell blocks and inline code.
import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";

export const ROOT = join(import.meta.dirname, "../..");

/** Every Markdown file git knows, plus new ones not yet added (not ignored). */
export function markdownFiles(): string[] {
  const listed = execFileSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "*.md"], { cwd: ROOT, encoding: "utf8" });
  return listed.split("\n").filter((path) => path && !path.includes("node_modules/")).sort();
}

export const read = (path: string) => readFileSync(join(ROOT, path), "utf8");

export type Fence = { lang: string; body: string; line: number; before: string };

/** Fenced code blocks, with the line just above each (for sample markers). */
export function fences(text: string): Fence[] {
  const found: Fence[] = [];
  const lines = text.split("\n");
  for (let i = 0; i < lines.length; i++) {
    const open = /^(\s*)(`{3,}|~{3,})\s*([\w-]*)/.exec(lines[i]!);
    if (!open) continue;
    const marker = open[2]!;
    const body: string[] = [];
    let j = i + 1;
    while (j < lines.length && !lines[j]!.trimStart().startsWith(marker)) body.push(lines[j++]!);
    found.push({ lang: open[3] ?? "", body: body.join("\n"), line: i + 1, before: i > 0 ? lines[i - 1]! : "" });
    i = j;
  }
  return found;
}

/** The text with fenced blocks blanked (so links and code spans are read from prose only). */
export function prose(text: string): string {
  const lines = text.split("\n");
  let inside: string | undefined;
  return lines
    .map((line) => {
      const fence = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
      if (inside) {
        if (fence && line.trimStart().startsWith(inside)) inside = undefined;
        return "";
      }
      if (fence) {
        inside = fence;
        return "";
      }
      return line;
    })
    .join("\n");
}

export function codeSpans(text: string): string[] {
  return [...prose(text).matchAll(/(`+)([^`]+?)\1/g)].map((match) => match[2]!.trim());
}

/** Relative link targets of [text](target) outside code. */
export function links(text: string): string[] {
  const withoutCode = prose(text).replace(/(`+)[^`]*?\1/g, "");
  return [...withoutCode.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((match) => match[1]!);
}

/** GitHub's heading anchors: lower case, punctuation dropped, spaces to dashes, repeats numbered. */
export function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const match of prose(text).matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = match[1]!
      .replace(/<[^>]+>/g, "")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const count = seen.get(slug) ?? 0;
    seen.set(slug, count + 1);
    result.add(count === 0 ? slug : `${slug}-${count}`);
  }
  return result;
}
