// clusters/oke/README.md is the runbook a new user follows: it must say what the
// code does (tool minimums, settings) and what this cluster does not enforce.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { TOOLS } from "../../scripts/lib/preflight.mts";
import { OKE_KUBERNETES_VERSION } from "../../scripts/lib/config.mts";
import { REPO_ROOT } from "../lib/render.mts";
import { block, tofuText } from "./hcl.mts";

const readme = readFileSync(join(REPO_ROOT, "clusters/oke/README.md"), "utf8");

test("with flannel, the README says plainly that NetworkPolicies are not enforced", () => {
  const cni = /cni_type\s*=\s*"([A-Z_]+)"/.exec(block(tofuText(), 'resource "oci_containerengine_cluster" "this"'))?.[1];
  assert.is(cni, "FLANNEL_OVERLAY");
  assert.match(readme, /\*\*NetworkPolicies are not enforced on this cluster\.\*\*/);
  assert.match(readme, /NodePorts are open to the internet on the workers/);
});

test("the runbook's tool minimums and defaults are the code's", () => {
  assert.match(readme, new RegExp(`OCI CLI \`oci\` \\| ≥ ${TOOLS.oci.minimum.replaceAll(".", "\\.")}`));
  assert.match(readme, new RegExp(`OpenTofu \`tofu\` \\| ≥ ${TOOLS.tofu.minimum.replace(/\.0$/, "").replaceAll(".", "\\.")}`));
  assert.ok(readme.includes(`default \`${OKE_KUBERNETES_VERSION}\``));
  for (const topic of ["Home region only", "Upgrade to Pay As You Go", "budget alert", "dedicated compartment", "Out of host capacity"]) assert.ok(readme.toLowerCase().includes(topic.toLowerCase()), topic);
});

test("every OKE setting in .env.example is in the runbook's settings table", () => {
  const example = readFileSync(join(REPO_ROOT, ".env.example"), "utf8");
  const section = example.slice(example.indexOf("# --- Oracle Cloud"), example.indexOf("# --- TLS"));
  const names = [...section.matchAll(/^# ([A-Z_]+)=/gm)].map((m) => m[1]!);
  assert.ok(names.length >= 8, names.join());
  for (const name of names) assert.ok(readme.includes(`\`${name}\``), name);
});

test.run();
