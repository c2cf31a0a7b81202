// The secret scan `npm test` runs over every file git knows (tracked, and new
// files not ignored): private keys, provider tokens, literal passwords and
// tokens in manifests and values, credentials in URLs, and Secrets with data
// in the GitOps tree. Test fixtures that are fake by construction are listed
// in allowlist.mts with the reason; nothing else may match.
import { spawnSync } from "node:child_process";
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { parseAllDocuments } from "yaml";

export type Finding = { file: string; line: number; rule: string; excerpt: string };
export type Rule = { id: string; description: string; pattern: RegExp; files?: RegExp };

// Manifests and chart values: where `password: hunter2` would be a leak.
const MANIFEST = /\.(ya?ml|json)$/;

export const RULES: Rule[] = [
  { id: "private-key", description: "a PEM private key", pattern: /-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----/ },
  { id: "github-token", description: "a GitHub token", pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { id: "gitlab-token", description: "a GitLab token", pattern: /\bgl(?:pat|dt|rt|ptt|cbt)-[A-Za-z0-9_-]{20,}\b/ },
  { id: "slack-token", description: "a Slack token or webhook", pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}|https:\/\/hooks\.slack\.com\/services\/T[A-Z0-9]+\/B[A-Z0-9]+\/[A-Za-z0-9]+/ },
  { id: "aws-key", description: "an AWS access key id or secret key", pattern: /\b(?:AKIA|ASIA)[0-9A-Z]{16}\b|aws_secret_access_key\s*[=:]\s*["']?[A-Za-z0-9/+=]{40}\b/i },
  {
    id: "cloudflare-token",
    description: "a Cloudflare API token or key",
    pattern: /\b(?:CLOUDFLARE|CF)_API_(?:TOKEN|KEY)\s*[=:]\s*["']?[A-Za-z0-9_-]{37,}|\bcfut_[A-Za-z0-9_-]{30,}/i,
  },
  {
    id: "literal-secret",
    description: "a password, token or secret with a literal value in a manifest or values",
    // key names that hold a secret itself, not a reference to one (…SecretRef, secretName, existingSecret…)
    pattern: /^\s*-?\s*["']?[\w.-]*(?:password|passwd|token|secret|api[-_]?key)["']?\s*:\s*(?![\s#]|$|["']{2}|\{\s*\}|null\b|~|\$\{|\{\{|\||>)\S/i,
    files: MANIFEST,
  },
  { id: "url-credentials", description: "credentials in a URL (user:password@host)", pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@"'`]+:[^/\s@"'`]+@[\w.-]+/i },
];

// Keys naming where a secret is, not what it is.
const REFERENCE_KEY = /(?:ref|name|names|secretname|existingsecret|key|keys|file|path|env|selector|type|enabled|length|policy|annotations?)["']?\s*:/i;

// Values that are settings, not secrets: booleans, numbers, workflow permissions (id-token: write).
const NOT_A_SECRET = /^["']?(?:true|false|yes|no|on|off|read|write|none|\d+)["']?\s*(?:#.*)?$/i;

/** Every matching line of one file's text. */
export function scanText(file: string, text: string, rules: Rule[] = RULES): Finding[] {
  const findings: Finding[] = [];
  const lines = text.split("\n");
  for (const rule of rules) {
    if (rule.files && !rule.files.test(file)) continue;
    let sealed = -1; // indentation of an `encryptedData:` block (SealedSecret ciphertext is meant for git)
    lines.forEach((line, index) => {
      const indent = line.search(/\S/);
      if (sealed >= 0 && (indent > sealed || indent === -1)) return;
      sealed = /^\s*encryptedData:\s*$/.test(line) ? indent : -1;
      if (!rule.pattern.test(line)) return;
      if (rule.id === "literal-secret" && (REFERENCE_KEY.test(line.replace(/:.*/, ":")) || NOT_A_SECRET.test(line.replace(/^[^:]*:\s*/, "")))) return;
      findings.push({ file, line: index + 1, rule: rule.id, excerpt: redact(line.trim()) });
    });
  }
  findings.push(...secretObjects(file, text));
  return findings;
}

/** kind: Secret with data or stringData in gitops/, apps/ or clusters/ (Sealed Secrets are the way). */
export function secretObjects(file: string, text: string): Finding[] {
  if (!/^(gitops|apps|clusters)\//.test(file) || !/\.ya?ml$/.test(file) || !/kind:\s*Secret\b/.test(text)) return [];
  const findings: Finding[] = [];
  for (const doc of parseAllDocuments(text)) {
    const o = doc.toJS?.() as Record<string, any> | null;
    if (!o || o.kind !== "Secret" || !(o.apiVersion === "v1" || o.apiVersion === undefined)) continue;
    const has = (v: unknown) => v && typeof v === "object" && Object.keys(v).length > 0;
    if (has(o.data) || has(o.stringData)) {
      const line = doc.range ? text.slice(0, doc.range[0]).split("\n").length : 1;
      findings.push({ file, line, rule: "secret-object", excerpt: `Secret ${o.metadata?.name ?? "?"} with ${has(o.data) ? "data" : "stringData"}: seal it (gitops/sealed-secrets/README.md)` });
    }
  }
  return findings;
}

/** Shows where a finding is without repeating the secret in test output. */
export function redact(line: string): string {
  const cut = line.length > 60 ? `${line.slice(0, 60)}…` : line;
  return cut.replace(/([:=@]\s*["']?)([^\s"']{4})[^\s"']*/g, "$1$2****");
}

/** Files git knows: tracked, plus new files that are not ignored. */
export function repositoryFiles(root: string): string[] {
  const result = spawnSync("git", ["ls-files", "--cached", "--others", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8", maxBuffer: 64 * 1024 * 1024 });
  if (result.status !== 0) throw new Error(`git ls-files failed: ${result.stderr}`);
  return [...new Set(result.stdout.split("\0").filter(Boolean))].sort();
}

export function scanRepository(root: string, allowed: (f: Finding) => boolean): { scanned: number; findings: Finding[]; allowed: Finding[] } {
  const findings: Finding[] = [];
  const allowedFindings: Finding[] = [];
  let scanned = 0;
  for (const file of repositoryFiles(root)) {
    const path = join(root, file);
    let stat;
    try {
      stat = statSync(path);
    } catch {
      continue; // deleted in the working tree
    }
    if (!stat.isFile() || stat.size > 2 * 1024 * 1024) continue;
    const buffer = readFileSync(path);
    if (buffer.includes(0)) continue; // binary
    scanned++;
    for (const finding of scanText(file, buffer.toString("utf8"))) (allowed(finding) ? allowedFindings : findings).push(finding);
  }
  return { scanned, findings, allowed: allowedFindings };
}
