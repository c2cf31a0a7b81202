# A basic (free) OKE cluster with a public API endpoint and flannel, and one
# arm64 VM.Standard.A1.Flex node pool sized to fit the Always Free allowance.
resource "oci_containerengine_cluster" "this" {
  compartment_id     = var.compartment_ocid
  name               = var.cluster_name
  kubernetes_version = var.kubernetes_version
  vcn_id             = oci_core_vcn.this.id
  type               = "BASIC_CLUSTER"

  cluster_pod_network_options {
    cni_type = "FLANNEL_OVERLAY"
  }
  endpoint_config {
    is_public_ip_enabled = true
    subnet_id            = oci_core_subnet.this["api"].id
  }
  options {
    service_lb_subnet_ids = [oci_core_subnet.this["lb"].id]
    kubernetes_network_config {
      pods_cidr     = "10.244.0.0/16"
      services_cidr = "10.96.0.0/16"
    }
  }
}

data "oci_identity_availability_domains" "this" {
  compartment_id = coalesce(var.tenancy_ocid, var.compartment_ocid)
}

# OKE's own arm64 node images for this Kubernetes version (newest first).
data "oci_containerengine_node_pool_option" "this" {
  node_pool_option_id = oci_containerengine_cluster.this.id
  compartment_id      = var.compartment_ocid
}

locals {
  kubernetes = trimprefix(var.kubernetes_version, "v")
  arm_images = [
    for source in data.oci_containerengine_node_pool_option.this.sources : source.image_id
    if strcontains(source.source_name, "aarch64") && strcontains(source.source_name, "OKE-${local.kubernetes}") && !strcontains(source.source_name, "GPU")
  ]
}

resource "oci_containerengine_node_pool" "free" {
  cluster_id         = oci_containerengine_cluster.this.id
  compartment_id     = var.compartment_ocid
  name               = "${var.cluster_name}-a1"
  kubernetes_version = var.kubernetes_version
  node_shape         = "VM.Standard.A1.Flex"

  node_shape_config {
    ocpus         = var.node_ocpus
    memory_in_gbs = var.node_memory_gb
  }
  node_source_details {
    source_type             = "IMAGE"
    image_id                = local.arm_images[0]
    boot_volume_size_in_gbs = 50
  }
  node_config_details {
    size = var.node_count
    # Every availability domain: A1 capacity is often short in one of them.
    dynamic "placement_configs" {
      for_each = data.oci_identity_availability_domains.this.availability_domains
      content {
        availability_domain = placement_configs.value.name
        subnet_id           = oci_core_subnet.this["workers"].id
      }
    }
  }
  initial_node_labels {
    key   = "giropops.dev/pool"
    value = "always-free-a1"
  }

  lifecycle {
    precondition {
      condition     = var.node_count * var.node_ocpus <= var.free_tier.ocpus && var.node_count * var.node_memory_gb <= var.free_tier.memory_gb
      error_message = "node_count x node_ocpus / node_memory_gb must stay within the Always Free A1 allowance (var.free_tier)."
    }
    precondition {
      condition     = length(local.arm_images) > 0
      error_message = "OKE offers no arm64 node image for ${var.kubernetes_version}: pick a version from `oci ce node-pool-options get --node-pool-option-id all`."
    }
  }
}
