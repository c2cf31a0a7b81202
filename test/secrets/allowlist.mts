// What the secret scan lets through: each entry is one rule in one file, with
// the reason the match is not a secret. Keep it short; a real secret never
// belongs here (remove it from git, rotate it, seal it instead).
import type { Finding } from "./scan.mts";

export type Allowance = { file: string; rule: string; reason: string };

export const ALLOWLIST: Allowance[] = [
  { file: "scripts/lib/sshkey.mts", rule: "private-key", reason: "the OpenSSH armour lines wrapped around a deploy key generated at run time; no key material in the file" },
  { file: "test/cli/github.test.mts", rule: "private-key", reason: "a regular expression asserting the armour of a key the test generates at run time" },
  { file: "test/renovate/renovate-schema.json", rule: "literal-secret", reason: "Renovate's vendored JSON schema: \"npmToken\" is the name of a config option, followed by its description" },
  { file: "test/cli/alerts.test.mts", rule: "slack-token", reason: "a made-up Slack webhook (T000/B000/secretpart): proves bootstrap stores it and never prints it" },
  { file: "test/config.test.mts", rule: "slack-token", reason: "a made-up Slack webhook: the settings check accepts Slack's URL shape" },
  { file: "test/monitoring/alertmanager.mts", rule: "slack-token", reason: "a made-up Slack webhook for the routing tests; Alertmanager reads only the file path" },
  { file: "apps/giropops-senhas/test/config.test.mts", rule: "url-credentials", reason: "fake by construction (user:hunter2@x): proves the app never echoes a Redis URL" },
];

export function isAllowed(finding: Finding, list: Allowance[] = ALLOWLIST): boolean {
  return list.some((a) => a.file === finding.file && a.rule === finding.rule);
}
