// The OKE network (clusters/oke/tofu/network.tf) and the Traefik load balancer
// (clusters/oke/patches/gateway.yaml): OpenTofu alone edits the security lists,
// and they carry everything the network load balancer needs.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { renderRoot } from "../lib/render.mts";
import { block, blocks, tofuText } from "./hcl.mts";

const tf = tofuText();
const list = (name: string) => block(tf, `resource "oci_core_security_list" "${name}"`);
const service = () => renderRoot("oke").find((r) => r.object.kind === "Application" && r.object.metadata.name === "traefik")!.object.spec.source.helm.valuesObject.service;

// oracle/oci-cloud-controller-manager v1.35.0, pkg/cloudprovider/providers/oci/load_balancer_spec.go
// getSecurityListManagementMode: for an NLB, no annotation means None; All/Frontend make the
// controller add rules to the subnets' security lists, which OpenTofu then removes on every plan.
test("the NLB's security-list-management-mode is None: the cloud controller never edits OpenTofu's lists", () => {
  const annotations = service().annotations;
  assert.is(annotations["oci.oraclecloud.com/load-balancer-type"], "nlb");
  assert.is(annotations["oci-network-load-balancer.oraclecloud.com/security-list-management-mode"], "None");
  assert.not.match(tf, /ignore_changes\s*=\s*\[[^\]]*security_rules/, "no half-ownership: OpenTofu manages every rule");
});

test("the static rules cover what the NLB needs: listeners 80/443, NodePorts (client IPs kept) and health checks", () => {
  assert.is(service().spec.externalTrafficPolicy, "Local", "client source IPs reach the nodes");
  const listeners = block(list("lb"), 'dynamic "ingress_security_rules"');
  assert.match(listeners, /for_each\s*=\s*\[80, 443\]/);
  assert.match(listeners, /protocol\s*=\s*"6"[\s\S]*source\s*=\s*"0\.0\.0\.0\/0"/);
  const workers = blocks(list("workers"), "ingress_security_rules");
  assert.ok(workers.some((r) => /source\s*=\s*"0\.0\.0\.0\/0"/.test(r) && /min\s*=\s*30000/.test(r) && /max\s*=\s*32767/.test(r)), "NodePorts from anywhere (the NLB preserves the client address)");
  assert.ok(workers.some((r) => /protocol\s*=\s*"all"/.test(r) && /source\s*=\s*var\.vcn_cidr/.test(r)), "health checks from the load balancer subnet");
});

test("every public security list lets ICMP type 3 code 4 in (path MTU discovery)", () => {
  for (const name of ["api", "workers", "lb"]) {
    const icmp = blocks(list(name), "ingress_security_rules").filter((r) => /protocol\s*=\s*"1"/.test(r));
    assert.ok(icmp.some((r) => /type\s*=\s*3/.test(r) && /code\s*=\s*4/.test(r)), `${name}: no ICMP 3/4`);
  }
});

test.run();
