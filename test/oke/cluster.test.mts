// The OKE cluster and node pool (clusters/oke/tofu/cluster.tf): the Kubernetes
// version checked against what OKE offers, and a node image picked exactly,
// deterministically, and kept after creation. Attribute names and filter values
// from oracle/terraform-provider-oci v7.30.0 (website/docs/d/containerengine_node_pool_option
// and _cluster_option; the enums AARCH64 / OL8 in the vendored oci-go-sdk
// containerengine/get_node_pool_options_request_response.go).
import { test } from "uvu";
import * as assert from "uvu/assert";
import { block, tofuText } from "./hcl.mts";

const tf = tofuText();
const pool = block(tf, 'resource "oci_containerengine_node_pool" "free"');
const options = block(tf, 'data "oci_containerengine_node_pool_option" "this"');

test("node images are filtered by the API (arm64, Oracle Linux 8) and matched on the exact Kubernetes version", () => {
  assert.match(options, /node_pool_os_arch\s*=\s*"AARCH64"/);
  assert.match(options, /node_pool_os_type\s*=\s*"OL8"/);
  assert.match(tf, /strcontains\(source\.source_name, "-OKE-\$\{local\.kubernetes\}-"\)/, "1.34.1 must not match 1.34.10");
  assert.not.match(tf, /sources\[0\]|arm_images\[0\]/, "never the first in API order");
  assert.match(pool, /image_id\s*=\s*local\.node_image/);
});

// The same selection in TypeScript, on names in the form OKE publishes
// (Oracle-Linux-8.8-aarch64-2023.09.26-0-OKE-1.28.2-653, quoted in
// Rapha-Borges/oke-free's variables.tf), to hold the HCL's intent.
test("the key the HCL sorts by picks the newest build, whatever order the API lists them in", () => {
  const key = /"\$\{try\(regex\("(.+?)", source\.source_name\), "0000\.00\.00-0"\)\} \$\{source\.source_name\}"/.exec(tf);
  assert.ok(key, "arm_images is keyed by build date then name");
  const pattern = new RegExp(key![1]!.replaceAll("\\\\", "\\"));
  const names = [
    "Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.34.1-824",
    "Oracle-Linux-8.9-aarch64-2025.03.02-0-OKE-1.34.1-801",
    "Oracle-Linux-8.10-aarch64-2025.09.30-1-OKE-1.34.1-902",
  ];
  const sortKey = (name: string) => `${pattern.exec(name)?.[0] ?? "0000.00.00-0"} ${name}`;
  const newest = [...names].sort((a, b) => (sortKey(a) < sortKey(b) ? 1 : -1))[0];
  assert.is(newest, "Oracle-Linux-8.10-aarch64-2025.09.30-1-OKE-1.34.1-902");
  assert.match(tf, /reverse\(sort\(keys\(local\.arm_images\)\)\)\[0\]/);
});

test("a newer OKE image is not a change: the pool ignores image drift after creation", () => {
  assert.match(block(pool, "lifecycle"), /ignore_changes\s*=\s*\[node_source_details\[0\]\.image_id\]/);
});

test("the Kubernetes version must be one OKE offers now; the plan names the offered ones", () => {
  assert.match(block(tf, 'data "oci_containerengine_cluster_option" "all"'), /cluster_option_id\s*=\s*"all"/);
  const cluster = block(tf, 'resource "oci_containerengine_cluster" "this"');
  assert.match(cluster, /contains\(data\.oci_containerengine_cluster_option\.all\.kubernetes_versions, var\.kubernetes_version\)/);
  assert.match(cluster, /It offers: \$\{join\(", ", data\.oci_containerengine_cluster_option\.all\.kubernetes_versions\)\}/);
});

test.run();
