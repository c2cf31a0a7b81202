// No secret in git: the repository scan finds nothing outside the documented
// allow-list, and each rule catches its kind of leak (samples are written to a
// throw-away git repository, never into this one, and built from pieces so
// this file itself does not match).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { REPO_ROOT } from "../lib/render.mts";
import { ALLOWLIST, isAllowed } from "./allowlist.mts";
import { RULES, redact, scanRepository, scanText, type Finding } from "./scan.mts";

const show = (findings: Finding[]) => findings.map((f) => `${f.file}:${f.line} [${f.rule}] ${f.excerpt}`).join("\n");

test("the repository holds no secret outside the allow-list, and the allow-list has no stale entry", () => {
  const { scanned, findings, allowed } = scanRepository(REPO_ROOT, (f) => isAllowed(f));
  assert.ok(scanned > 100, `scanned ${scanned} files`);
  assert.equal(findings, [], `secrets in the repository:\n${show(findings)}\nremove them (and rotate them); keep secrets in .env or seal them (gitops/sealed-secrets/README.md)`);
  for (const entry of ALLOWLIST) {
    assert.ok(allowed.some((f) => f.file === entry.file && f.rule === entry.rule), `allow-list entry ${entry.file} (${entry.rule}) matches nothing any more: remove it`);
    assert.ok(entry.reason.length > 20, "every allowance says why");
  }
});

const A = "A".repeat(8);
const SAMPLES: Record<string, { file: string; text: string }> = {
  "private-key": { file: "keys/deploy", text: ["-----BEGIN ", "OPENSSH PRIVATE", " KEY-----\nb3BlbnNzaC1rZXktdjEAAAAA\n-----END ", "OPENSSH PRIVATE KEY-----\n"].join("") },
  "github-token": { file: "scripts/ci.sh", text: `curl -H "Authorization: token ${"gh" + "p_"}${"aB3dE6gH9j".repeat(4)}" https://api.github.com\n` },
  "gitlab-token": { file: "docs/notes.md", text: `use ${"gl" + "pat-"}${"x1Y2z3W4v5".repeat(2)} for the mirror\n` },
  "slack-token": { file: "gitops/alerts/values.yaml", text: `url: https://hooks.slack.com/services/T${A}/B${A}/${"abcDEF123".repeat(3)}\n` },
  "aws-key": { file: "clusters/oke/tofu/backend.tf", text: `access_key = "${"AK" + "IA"}${"ABCDEFGHIJKLMNOP"}"\n` },
  "cloudflare-token": { file: "env.sample", text: `${"CLOUDFLARE_" + "API_TOKEN"}=${"Zx9_Yw8-Vu7".repeat(4)}\n` },
  "literal-secret": { file: "gitops/app/values.yaml", text: `redis:\n  auth:\n    pass${"word"}: hunter2hunter2\n` },
  "url-credentials": { file: "apps/x/config.ts", text: `export const REDIS = "redis://default:${"s3cr3t"}@redis:6379";\n` },
  "secret-object": { file: "gitops/app/secret.yaml", text: `apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  password: ${Buffer.from("x").toString("base64")}\n` },
};

function sampleRepository(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "giropops-secrets-"));
  spawnSync("git", ["init", "-q"], { cwd: dir });
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), text);
  }
  return dir;
}

test("each rule catches its leak, and names the file and line without echoing the value", () => {
  assert.equal(Object.keys(SAMPLES).sort(), [...RULES.map((r) => r.id), "secret-object"].sort(), "one sample per rule");
  const dir = sampleRepository(Object.fromEntries(Object.values(SAMPLES).map((s) => [s.file, s.text])));
  try {
    const { findings } = scanRepository(dir, () => false);
    for (const [rule, sample] of Object.entries(SAMPLES)) {
      assert.ok(findings.some((f) => f.rule === rule && f.file === sample.file), `${rule} not caught in ${sample.file}:\n${show(findings)}`);
    }
    assert.not.ok(show(findings).includes("hunter2hunter2"), "values are redacted in the report");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("references to secrets, settings and ignored files are not findings", () => {
  const dir = sampleRepository({
    ".gitignore": ".env\n",
    // .env is git-ignored: that is where secrets belong.
    ".env": `${"CLOUDFLARE_" + "API_TOKEN"}=${"Zx9_Yw8-Vu7".repeat(4)}\n`,
    "gitops/app/values.yaml": [
      "admin:",
      "  existingSecret: grafana-admin",
      "  passwordKey: admin-password",
      "  password: \"\"",
      "solver:",
      "  apiTokenSecretRef: { name: cloudflare-api-token, key: api-token }",
      "automountServiceAccountToken: false",
      "permissions:",
      "  id-token: write",
      "token: ${TOKEN}",
      "",
    ].join("\n"),
    "gitops/app/sealed.yaml": "apiVersion: bitnami.com/v1alpha1\nkind: SealedSecret\nmetadata:\n  name: db\nspec:\n  encryptedData:\n    password: AgBy3i4OJSWK+PiTySYZZA==\n",
    "gitops/app/empty-secret.yaml": "apiVersion: v1\nkind: Secret\nmetadata:\n  name: filled-by-a-controller\ntype: Opaque\n",
  });
  try {
    assert.equal(scanRepository(dir, () => false).findings, []);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("the allow-list matches one rule in one file only", () => {
  const [entry] = ALLOWLIST;
  const finding = scanText(entry!.file, SAMPLES["private-key"]!.text)[0]!;
  assert.ok(isAllowed(finding));
  assert.not.ok(isAllowed({ ...finding, file: "scripts/lib/other.mts" }));
  assert.not.ok(isAllowed({ ...finding, rule: "github-token" }));
  assert.is(redact("password: hunter2hunter2"), "password: hunt****");
});

test.run();
