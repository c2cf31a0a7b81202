import { test } from "uvu";
import * as assert from "uvu/assert";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadConfig } from "../scripts/lib/config.mts";
import { UserError } from "../scripts/lib/errors.mts";

function envFile(text: string): string {
  const dir = mkdtempSync(join(tmpdir(), "giropops-config-"));
  const path = join(dir, ".env");
  writeFileSync(path, text);
  return path;
}

function problemsOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    assert.instance(error, UserError);
    return (error as UserError).message;
  }
  throw new assert.Assertion({ message: "expected a UserError", generated: false, operator: "throws", expects: "UserError", actual: "nothing" });
}

test("defaults give a kind cluster named giropops on localhost", () => {
  const config = loadConfig({ env: {} });
  assert.is(config.cluster, "kind");
  assert.is(config.clusterName, "giropops");
  assert.is(config.domain, "localhost");
  assert.is(config.timeoutSeconds, 1200);
});

test(".env values are read, the environment beats .env, and flags beat both", () => {
  const path = envFile("CLUSTER=minikube\nCLUSTER_NAME=from-file\nBOOTSTRAP_TIMEOUT=15m\n");
  const fromFile = loadConfig({ envFile: path, env: {} });
  assert.is(fromFile.cluster, "minikube");
  assert.is(fromFile.timeoutSeconds, 900);
  const fromEnv = loadConfig({ envFile: path, env: { CLUSTER_NAME: "from-env" } });
  assert.is(fromEnv.clusterName, "from-env");
  const fromFlag = loadConfig({ envFile: path, env: { CLUSTER_NAME: "from-env" }, overrides: { clusterName: "from-flag" } });
  assert.is(fromFlag.clusterName, "from-flag");
});

test("every bad variable is reported at once, secrets are not echoed", () => {
  const path = envFile("CLUSTER=docker\nOKE_NODE_COUNT=9\nGIT_REPO_URL=not a url\nGRAFANA_ADMIN_PASSWORD=short\n");
  const message = problemsOf(() => loadConfig({ envFile: path, env: {} }));
  assert.match(message, /CLUSTER="docker" must be one of kind, minikube, oke/);
  assert.match(message, /OKE_NODE_COUNT="9" must be a whole number from 1 to 4/);
  assert.match(message, /GIT_REPO_URL="not a url" must be a git URL/);
  assert.match(message, /GRAFANA_ADMIN_PASSWORD=\(hidden\)/);
  assert.not.match(message, /short/);
});

test("oke requires its region, compartment and domain", () => {
  const message = problemsOf(() => loadConfig({ env: { CLUSTER: "oke" } }));
  assert.match(message, /OCI_REGION is required for --cluster oke/);
  assert.match(message, /OCI_COMPARTMENT_OCID is required/);
  assert.match(message, /PLATFORM_DOMAIN is required/);
});

test("a command that never reads the domain (teardown) does not require it; the other problems still come at once", () => {
  const message = problemsOf(() => loadConfig({ env: { CLUSTER: "oke" }, unused: ["domain"] }));
  assert.match(message, /OCI_REGION is required for --cluster oke\n\s+- OCI_COMPARTMENT_OCID is required/);
  assert.not.match(message, /PLATFORM_DOMAIN/);
  const config = loadConfig({ env: { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa" }, unused: ["domain"] });
  assert.is(config.domain, undefined);
  assert.match(problemsOf(() => loadConfig({ env: { CLUSTER: "oke", PLATFORM_DOMAIN: "Not A Domain" }, unused: ["domain"] })), /PLATFORM_DOMAIN="Not A Domain" must be a DNS name/, "a bad value is still reported");
});

test("git URLs in https and ssh forms are accepted", () => {
  for (const url of ["https://github.com/o/r.git", "git@github.com:o/r.git", "ssh://git@github.com/o/r"]) {
    assert.is(loadConfig({ env: { GIT_REPO_URL: url } }).gitRepoUrl, url);
  }
});

test("command-line flags are validated like variables and named by flag", () => {
  const flags = { cluster: { flag: "--cluster", value: "minikube" }, timeoutSeconds: { flag: "--timeout", value: "15m" } };
  const config = loadConfig({ env: { CLUSTER: "oke" }, flags });
  assert.is(config.cluster, "minikube", "a flag beats the environment");
  assert.is(config.timeoutSeconds, 900);
  const message = problemsOf(() => loadConfig({ env: {}, flags: { clusterName: { flag: "--name", value: "Not OK" } } }));
  assert.match(message, /--name "Not OK" must be lower-case letters/);
  assert.not.match(message, /CLUSTER_NAME=/);
});

test("an OKE node pool must fit the Always Free A1 allowance", () => {
  const env = { CLUSTER: "oke", OCI_REGION: "sa-saopaulo-1", OCI_COMPARTMENT_OCID: "ocid1.compartment.oc1..aaaa", PLATFORM_DOMAIN: "example.com" };
  assert.is(loadConfig({ env }).okeNodeCount, 2, "the defaults fit: 2 x 1 OCPU x 6 GB");
  const message = problemsOf(() => loadConfig({ env: { ...env, OKE_NODE_COUNT: "3", OKE_NODE_MEMORY_GB: "6" } }));
  assert.match(message, /OKE_NODE_COUNT × OKE_NODE_OCPUS = 3 OCPUs exceeds the Always Free 2 OCPUs/);
  assert.match(message, /OKE_NODE_COUNT × OKE_NODE_MEMORY_GB = 18 GB exceeds the Always Free 12 GB/);
});

test("a Redis password with a quote or backslash is refused (Redis reads it from a quoted config line)", () => {
  const message = problemsOf(() => loadConfig({ env: { REDIS_PASSWORD: 'abc"defghijkl' } }));
  assert.match(message, /REDIS_PASSWORD=\(hidden\) must be at least 12 characters with no spaces, " or \\/);
  assert.is(loadConfig({ env: { REDIS_PASSWORD: "Abcdefgh-1234_x" } }).redisPassword, "Abcdefgh-1234_x");
});

test.run();
