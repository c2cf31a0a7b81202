// Configuration: defaults < .env < the process environment < command-line flags.
// Every variable is validated once, here, and every problem is reported in one
// message so a person fixes their .env in one go.
import { existsSync, readFileSync } from "node:fs";
import { parse as parseDotenv } from "dotenv";
import { UserError } from "./errors.mts";
import { environment } from "./runtime.mts";

export const CLUSTER_KINDS = ["kind", "minikube", "oke"] as const;
export type ClusterKind = (typeof CLUSTER_KINDS)[number];

export type Config = {
  cluster: ClusterKind;
  clusterName: string;
  gitRepoUrl: string | undefined;
  gitRevision: string | undefined;
  githubToken: string | undefined;
  domain: string;
  timeoutSeconds: number;
  ociProfile: string;
  ociRegion: string | undefined;
  ociTenancyOcid: string | undefined;
  ociCompartmentOcid: string | undefined;
  okeNodeCount: number;
  okeNodeOcpus: number;
  okeNodeMemoryGb: number;
  okeKubernetesVersion: string;
  okeApiAllowedCidrs: string[];
  okeFreeOcpus: number;
  okeFreeMemoryGb: number;
  cloudflareApiToken: string | undefined;
  grafanaAdminPassword: string | undefined;
  redisPassword: string | undefined;
  alertNtfyUrl: string | undefined;
  alertNtfyToken: string | undefined;
  alertSlackWebhookUrl: string | undefined;
  alertWebhookUrl: string | undefined;
};

type Parser<T> = (raw: string) => T | { problem: string };
type Variable<T> = { key: keyof Config; env: string; parse: Parser<T>; default?: (c: Partial<Config>) => T | undefined };

const text: Parser<string> = (raw) => raw;

const IPV4_CIDR = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}\/(3[0-2]|[12]?\d)$/;
/** A comma-separated list of IPv4 CIDRs, e.g. "203.0.113.7/32,198.51.100.0/24". */
const cidrList: Parser<string[]> = (raw) => {
  const cidrs = raw.split(",").map((c) => c.trim()).filter(Boolean);
  return cidrs.length > 0 && cidrs.every((c) => IPV4_CIDR.test(c)) ? cidrs : { problem: "must be IPv4 CIDRs separated by commas, like 203.0.113.7/32" };
};

const oneOf =
  <T extends string>(allowed: readonly T[]): Parser<T> =>
  (raw) =>
    (allowed as readonly string[]).includes(raw) ? (raw as T) : { problem: `must be one of ${allowed.join(", ")}` };

const integer =
  (min: number, max: number): Parser<number> =>
  (raw) => {
    const n = Number(raw);
    return /^\d+$/.test(raw) && n >= min && n <= max ? n : { problem: `must be a whole number from ${min} to ${max}` };
  };

const matching =
  (pattern: RegExp, description: string): Parser<string> =>
  (raw) =>
    pattern.test(raw) ? raw : { problem: `must be ${description}` };

/** "90s", "15m", "1h" or a plain number of seconds. */
export const duration: Parser<number> = (raw) => {
  const match = /^(\d+)(s|m|h)?$/.exec(raw.trim());
  if (!match) return { problem: 'must be a duration such as "900", "90s", "15m" or "1h"' };
  const seconds = Number(match[1]) * ({ s: 1, m: 60, h: 3600 }[match[2] ?? "s"] ?? 1);
  return seconds > 0 ? seconds : { problem: "must be longer than zero" };
};

// https://host/owner/repo(.git), ssh://git@host/owner/repo or git@host:owner/repo(.git)
export const gitUrl = matching(
  /^(https:\/\/[\w.-]+(:\d+)?\/[\w./-]+|ssh:\/\/[\w.-]+@[\w.-]+(:\d+)?\/[\w./-]+|[\w.-]+@[\w.-]+:[\w./-]+)$/,
  "a git URL such as https://github.com/OWNER/REPO.git or git@github.com:OWNER/REPO.git",
);
const dnsName = matching(/^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/, "a DNS name in lower case, like localhost or example.com");
const clusterName = matching(/^[a-z0-9]([a-z0-9-]{0,30}[a-z0-9])?$/, "lower-case letters, digits and dashes, at most 32 characters");
const ocid = (kind: string) => matching(new RegExp(`^ocid1\\.${kind}\\.oc\\d\\.[\\w.-]*\\.[a-z0-9]+$`), `an OCI ${kind} OCID (ocid1.${kind}.oc1..…)`);
const secret = matching(/^\S{12,}$/, "at least 12 characters with no spaces");
// Redis reads its password from a config line in double quotes (deploy/redis): no quote or backslash.
// Alert destinations (scripts/lib/alerts.mts). Their values are secrets: messages never show them.
const ntfyTopicUrl = matching(/^https?:\/\/[\w.-]+(:\d+)?(\/[\w.-]+)*\/[\w-]{1,64}$/, "an ntfy topic URL such as https://ntfy.sh/my-unguessable-topic (no query string)");
const ntfyToken = matching(/^tk_[A-Za-z0-9]{20,}$/, "an ntfy access token (tk_ followed by letters and digits)");
const slackWebhook = matching(/^https:\/\/hooks\.slack\.com\/services\/[\w/]+$/, "a Slack incoming-webhook URL (https://hooks.slack.com/services/…)");
const webhookUrl = matching(/^https?:\/\/[\w.-]+(:\d+)?(\/\S*)?$/, "an http(s) URL that accepts Alertmanager's webhook JSON");
const redisSecret = matching(/^[^\s"\\]{12,}$/, 'at least 12 characters with no spaces, " or \\');

/**
 * The Always Free A1 allowance the OKE node pool must fit in, by default
 * (OKE_FREE_OCPUS / OKE_FREE_MEMORY_GB; OpenTofu gets it from bootstrap): the
 * 2026 reports of a cut to 2 OCPU / 12 GB, not the long-standing 4 / 24.
 */
export const OKE_FREE_TIER = { ocpus: 2, memoryGb: 12 } as const;
/** The OKE Kubernetes version bootstrap asks for unless OKE_KUBERNETES_VERSION says otherwise. */
// renovate: datasource=github-releases depName=kubernetes/kubernetes
export const OKE_KUBERNETES_VERSION = "v1.34.1";

const DEFAULT_DOMAIN: Record<ClusterKind, string | undefined> = { kind: "localhost", minikube: "localhost", oke: undefined };

const VARIABLES: Variable<unknown>[] = [
  { key: "cluster", env: "CLUSTER", parse: oneOf(CLUSTER_KINDS), default: () => "kind" },
  { key: "clusterName", env: "CLUSTER_NAME", parse: clusterName, default: () => "giropops" },
  { key: "gitRepoUrl", env: "GIT_REPO_URL", parse: gitUrl },
  { key: "gitRevision", env: "GIT_REVISION", parse: matching(/^[\w./-]+$/, "a branch, tag or commit") },
  { key: "githubToken", env: "GITHUB_TOKEN", parse: matching(/^\S{20,}$/, "a GitHub token (ghp_…, github_pat_… or gho_…)") },
  { key: "domain", env: "PLATFORM_DOMAIN", parse: dnsName, default: (c) => DEFAULT_DOMAIN[c.cluster ?? "kind"] },
  { key: "timeoutSeconds", env: "BOOTSTRAP_TIMEOUT", parse: duration, default: () => 1200 },
  { key: "ociProfile", env: "OCI_CLI_PROFILE", parse: matching(/^[\w-]+$/, "an OCI CLI profile name"), default: () => "DEFAULT" },
  { key: "ociRegion", env: "OCI_REGION", parse: matching(/^[a-z]+-[a-z]+-\d$/, "an OCI region such as sa-saopaulo-1") },
  { key: "ociTenancyOcid", env: "OCI_TENANCY_OCID", parse: ocid("tenancy") },
  { key: "ociCompartmentOcid", env: "OCI_COMPARTMENT_OCID", parse: matching(/^ocid1\.(compartment|tenancy)\.oc\d\.[\w.-]*\.[a-z0-9]+$/, "an OCI compartment OCID (ocid1.compartment.oc1..…)") },
  { key: "okeNodeCount", env: "OKE_NODE_COUNT", parse: integer(1, 4), default: () => 2 },
  { key: "okeNodeOcpus", env: "OKE_NODE_OCPUS", parse: integer(1, 4), default: () => 1 },
  { key: "okeNodeMemoryGb", env: "OKE_NODE_MEMORY_GB", parse: integer(4, 24), default: () => 6 },
  // OKE supports a few minors at a time and drops old ones: `oci ce cluster-options get --cluster-option-id all`.
  { key: "okeKubernetesVersion", env: "OKE_KUBERNETES_VERSION", parse: matching(/^v1\.\d+\.\d+$/, "an OKE Kubernetes version such as v1.34.1"), default: () => OKE_KUBERNETES_VERSION },
  { key: "okeApiAllowedCidrs", env: "OKE_API_ALLOWED_CIDRS", parse: cidrList, default: () => ["0.0.0.0/0"] },
  { key: "okeFreeOcpus", env: "OKE_FREE_OCPUS", parse: integer(1, 64), default: () => OKE_FREE_TIER.ocpus },
  { key: "okeFreeMemoryGb", env: "OKE_FREE_MEMORY_GB", parse: integer(1, 512), default: () => OKE_FREE_TIER.memoryGb },
  { key: "cloudflareApiToken", env: "CLOUDFLARE_API_TOKEN", parse: matching(/^\S{20,}$/, "a Cloudflare API token") },
  { key: "grafanaAdminPassword", env: "GRAFANA_ADMIN_PASSWORD", parse: secret },
  { key: "redisPassword", env: "REDIS_PASSWORD", parse: redisSecret },
  { key: "alertNtfyUrl", env: "ALERT_NTFY_URL", parse: ntfyTopicUrl },
  { key: "alertNtfyToken", env: "ALERT_NTFY_TOKEN", parse: ntfyToken },
  { key: "alertSlackWebhookUrl", env: "ALERT_SLACK_WEBHOOK_URL", parse: slackWebhook },
  { key: "alertWebhookUrl", env: "ALERT_WEBHOOK_URL", parse: webhookUrl },
];

/** The environment variable behind each setting, for messages and docs. */
export const ENV_NAMES: Record<keyof Config, string> = Object.fromEntries(VARIABLES.map((v) => [v.key, v.env])) as Record<keyof Config, string>;

export type LoadOptions = {
  /** Path of the .env file; a missing file is fine. */
  envFile?: string;
  /** The process environment (injected in tests). */
  env?: Record<string, string | undefined>;
  /** Values from command-line flags, already named by setting. */
  overrides?: Partial<Config>;
  /** Raw command-line flag values, validated like the variables (and named by flag in messages). */
  flags?: { [K in keyof Config]?: { flag: string; value: string } };
  /** Settings the command never reads: not required (they stay undefined when unset). */
  unused?: readonly (keyof Config)[];
};


export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  return parseDotenv(readFileSync(path, "utf8"));
}

export function loadConfig(options: LoadOptions = {}): Config {
  const fromFile = options.envFile ? readEnvFile(options.envFile) : {};
  const env = options.env ?? environment();
  const overrides = options.overrides ?? {};
  const flags = options.flags ?? {};
  const problems: string[] = [];
  let badFlag = false;
  const config: Partial<Record<keyof Config, unknown>> = {};

  for (const variable of VARIABLES) {
    if (overrides[variable.key] !== undefined) {
      config[variable.key] = overrides[variable.key];
      continue;
    }
    const flag = flags[variable.key];
    const raw = flag?.value ?? env[variable.env] ?? fromFile[variable.env];
    if (raw === undefined || raw.trim() === "") {
      config[variable.key] = variable.default?.(config as Partial<Config>);
      continue;
    }
    const parsed = variable.parse(raw.trim());
    if (parsed !== null && typeof parsed === "object" && "problem" in parsed) {
      const shown = /TOKEN|PASSWORD|^ALERT_/.test(variable.env) ? "(hidden)" : JSON.stringify(raw);
      problems.push(flag ? `${flag.flag} ${shown} ${parsed.problem}` : `${variable.env}=${shown} ${parsed.problem}`);
      if (flag) badFlag = true;
    } else {
      config[variable.key] = parsed;
    }
  }

  const cluster = config.cluster as ClusterKind | undefined;
  if (cluster === "oke") {
    for (const key of ["ociRegion", "ociCompartmentOcid", "domain"] as const) {
      if (options.unused?.includes(key)) continue;
      if (config[key] === undefined && !problems.some((p) => p.startsWith(`${ENV_NAMES[key]}=`))) {
        problems.push(`${ENV_NAMES[key]} is required for --cluster oke`);
      }
    }
    const nodes = config.okeNodeCount as number | undefined;
    const ocpus = config.okeNodeOcpus as number | undefined;
    const memory = config.okeNodeMemoryGb as number | undefined;
    const free = { ocpus: config.okeFreeOcpus as number | undefined, memoryGb: config.okeFreeMemoryGb as number | undefined };
    if (nodes !== undefined && ocpus !== undefined && free.ocpus !== undefined && nodes * ocpus > free.ocpus) {
      problems.push(`OKE_NODE_COUNT × OKE_NODE_OCPUS = ${nodes * ocpus} OCPUs exceeds the Always Free ${free.ocpus} OCPUs (OKE_FREE_OCPUS)`);
    }
    if (nodes !== undefined && memory !== undefined && free.memoryGb !== undefined && nodes * memory > free.memoryGb) {
      problems.push(`OKE_NODE_COUNT × OKE_NODE_MEMORY_GB = ${nodes * memory} GB exceeds the Always Free ${free.memoryGb} GB (OKE_FREE_MEMORY_GB)`);
    }
  }

  if (config.alertNtfyToken !== undefined && config.alertNtfyUrl === undefined) problems.push("ALERT_NTFY_TOKEN is set but ALERT_NTFY_URL is not: the token is for an ntfy topic");

  if (problems.length > 0) {
    const where = options.envFile ? ` (from ${options.envFile}, the environment or flags)` : "";
    throw new UserError(`Invalid configuration${where}:\n  - ${problems.join("\n  - ")}`, {
      fix: "correct the values above; .env.example documents every variable",
      // A bad flag value is a usage error, like an unknown flag (EXIT.usage in cli.mts).
      exitCode: badFlag ? 2 : 1,
    });
  }
  return config as Config;
}
