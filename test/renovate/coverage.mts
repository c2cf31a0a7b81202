// Which Renovate manager of .github/renovate.json updates each pin that
// test/validate/pins.mts finds in the tree. Renovate cannot run here (its
// lookups need the network), so this reproduces what each manager extracts:
// which files it reads (its managerFilePatterns, or the default recorded
// below) and which shapes of pin it understands.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { Pin, Shape } from "../validate/pins.mts";

export type RenovateConfig = {
  enabledManagers?: string[];
  ignorePaths?: string[];
  customManagers?: { customType: string; managerFilePatterns: string[]; matchStrings: string[] }[];
  packageRules?: { matchPackageNames?: string[]; enabled?: boolean; description?: string }[];
  [manager: string]: unknown;
};

// Defaults of the managers this repository enables, from renovate@44.121.2
// (dist/modules/manager/<name>/index.js, defaultConfig.managerFilePatterns).
// argocd and kubernetes have none: they read only what the config names.
export const DEFAULT_PATTERNS: Record<string, string[]> = {
  argocd: [],
  kubernetes: [],
  "helm-values": ["/(^|/)values\\.ya?ml$/"],
  kustomize: ["/(^|/)kustomization\\.ya?ml$/"],
  dockerfile: ["/(^|/|\\.)([Dd]ocker|[Cc]ontainer)file$/", "/(^|/)([Dd]ocker|[Cc]ontainer)file[^/]*$/"],
  "github-actions": ["/(^|/)(workflow-templates|\\.(?:github|gitea|forgejo)/(?:workflows|actions))/.+\\.ya?ml$/", "/(^|/)action\\.ya?ml$/"],
  npm: ["/(^|/)package\\.json$/", "/(^|/)pnpm-workspace\\.yaml$/", "/(^|/)\\.yarnrc\\.yml$/"],
  deno: ["/(^|/)deno\\.lock$/", "/(^|/)deno\\.(json|jsonc)$/"],
  terraform: ["**/*.tf", "**/*.tofu"],
};

// The shapes each native manager extracts (same release's extract.js).
const SHAPES: Record<string, Shape[]> = {
  argocd: ["argocd-chart"],
  // helm-values: maps under a key ending in "image" with repository + tag, or such a key's string.
  "helm-values": ["values-image-map", "values-image"],
  // kubernetes: `image: ref` lines (chart values too), in files that have apiVersion and kind.
  kubernetes: ["manifest-image", "values-image"],
  // kustomize: images entries; remote resources only as git URLs with ?ref=.
  kustomize: ["kustomize-image", "kustomize-remote"],
  dockerfile: ["dockerfile-image"],
  "github-actions": ["action", "runner", "action-input"],
  npm: ["npm"],
  deno: ["deno"],
  terraform: ["tofu-provider", "tofu-version", "tofu-module"],
};

// Action inputs the github-actions manager knows (known-actions/*.js of the same
// release), limited to the actions this repository uses.
export const KNOWN_ACTION_INPUTS = new Set([
  "actions/setup-node#node-version",
  "helm/kind-action#version",
  "helm/kind-action#node_image",
  "sigstore/cosign-installer#cosign-release",
]);

/** A Renovate file pattern: "/regex/" or a minimatch glob (only *, ** and ? are used here). */
export function patternMatches(pattern: string, file: string): boolean {
  const regex = /^\/(.*)\/([a-z]*)$/s.exec(pattern);
  if (regex) return new RegExp(regex[1]!, regex[2]).test(file);
  const source = pattern
    .split(/(\*\*\/|\*\*|\*|\?)/)
    .map((part) => (part === "**/" ? "(?:.*/)?" : part === "**" ? ".*" : part === "*" ? "[^/]*" : part === "?" ? "[^/]" : part.replace(/[.+^${}()|[\]\\]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`).test(file);
}

function nativeCovers(manager: string, config: RenovateConfig, pin: Pin, text: string): boolean {
  if (!SHAPES[manager]?.includes(pin.shape)) return false;
  const own = (config[manager] as { managerFilePatterns?: string[] } | undefined)?.managerFilePatterns;
  // Renovate adds a manager's configured patterns to its defaults.
  const patterns = [...(DEFAULT_PATTERNS[manager] ?? []), ...(own ?? [])];
  if (!patterns.some((p) => patternMatches(p, pin.file))) return false;
  if (manager === "kubernetes")
    return /\s*apiVersion\s*:/.test(text) && /\s*kind\s*:/.test(text) && /^\s*-?\s*image:\s*['"]?[\w.-]/.test(text.split("\n")[pin.line - 1] ?? "");
  if (manager === "kustomize" && pin.shape === "kustomize-remote") return /\?(.*&)?ref=/.test(pin.name);
  if (pin.shape === "action-input") return KNOWN_ACTION_INPUTS.has(pin.name);
  if (pin.shape === "values-image-map") return !pin.name.includes("without repository");
  return true;
}

// A regex manager covers a pin when one of its matchStrings matches with
// currentValue starting on the pin's line and equal to its version.
function regexCovers(custom: NonNullable<RenovateConfig["customManagers"]>[number], pin: Pin, text: string): boolean {
  if (custom.customType !== "regex" || !custom.managerFilePatterns.some((p) => patternMatches(p, pin.file))) return false;
  for (const source of custom.matchStrings) {
    for (const match of text.matchAll(new RegExp(source, "gd"))) {
      const value = match.groups?.currentValue;
      const span = match.indices?.groups?.currentValue;
      if (!value || !span) continue;
      const line = text.slice(0, span[0]).split("\n").length;
      if (line === pin.line && pin.version.includes(value)) return true;
    }
  }
  return false;
}

export type Coverage = { pin: Pin; managers: string[]; disabled?: string };

/** For each pin, the managers that would update it (none = no update path). */
export function coverage(root: string, config: RenovateConfig, pins: Pin[]): Coverage[] {
  const enabled = config.enabledManagers ?? Object.keys(DEFAULT_PATTERNS);
  const texts = new Map<string, string>();
  const read = (file: string) => texts.get(file) ?? texts.set(file, readFileSync(join(root, file), "utf8")).get(file)!;
  return pins.map((pin) => {
    const text = read(pin.file);
    if ((config.ignorePaths ?? []).some((p) => patternMatches(p, pin.file))) return { pin, managers: [] };
    const managers = enabled.filter((m) => m !== "custom.regex" && nativeCovers(m, config, pin, text));
    if (enabled.includes("custom.regex"))
      (config.customManagers ?? []).forEach((c, i) => regexCovers(c, pin, text) && managers.push(`custom.regex[${i}]`));
    const off = (config.packageRules ?? []).find((r) => r.enabled === false && r.matchPackageNames?.includes(pin.name));
    return { pin, managers, disabled: off ? off.description ?? "(no reason given)" : undefined };
  });
}
