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
  lifecycle {
    precondition {
      condition     = contains(data.oci_containerengine_cluster_option.all.kubernetes_versions, var.kubernetes_version)
      error_message = "OKE does not offer Kubernetes ${var.kubernetes_version} (OKE_KUBERNETES_VERSION). It offers: ${join(", ", data.oci_containerengine_cluster_option.all.kubernetes_versions)}."
    }
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

# The Kubernetes versions OKE offers now (it drops old minors).
data "oci_containerengine_cluster_option" "all" {
  cluster_option_id = "all"
  compartment_id    = var.compartment_ocid
}

# OKE's own Oracle Linux 8 arm64 node images for this cluster, filtered by the API.
data "oci_containerengine_node_pool_option" "this" {
  node_pool_option_id = oci_containerengine_cluster.this.id
  compartment_id      = var.compartment_ocid
  node_pool_os_arch   = "AARCH64"
  node_pool_os_type   = "OL8"
}

locals {
  kubernetes = trimprefix(var.kubernetes_version, "v")
  # Names look like Oracle-Linux-8.10-aarch64-2025.06.17-0-OKE-1.34.1-824: exactly
  # this Kubernetes version ("-OKE-1.34.1-", not 1.34.10), no GPU build, keyed by
  # build date so that sorting picks the newest, whatever order the API lists them in.
  arm_images = {
    for source in data.oci_containerengine_node_pool_option.this.sources :
    "${try(regex("\\d{4}\\.\\d{2}\\.\\d{2}-\\d+", source.source_name), "0000.00.00-0")} ${source.source_name}" => source.image_id
    if source.source_type == "IMAGE" && strcontains(source.source_name, "-OKE-${local.kubernetes}-") && !strcontains(source.source_name, "GPU")
  }
  node_image = length(local.arm_images) > 0 ? local.arm_images[reverse(sort(keys(local.arm_images)))[0]] : null
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
    image_id                = local.node_image
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
    # OKE publishes new images every few weeks: the pool keeps the one it was
    # created with instead of planning a change on every re-run (clusters/oke/README.md:
    # how to move nodes to a newer image).
    ignore_changes = [node_source_details[0].image_id]
    precondition {
      condition     = var.node_count * var.node_ocpus <= var.free_tier.ocpus && var.node_count * var.node_memory_gb <= var.free_tier.memory_gb
      error_message = "node_count x node_ocpus / node_memory_gb must stay within the Always Free A1 allowance (var.free_tier: OKE_FREE_OCPUS / OKE_FREE_MEMORY_GB)."
    }
    precondition {
      condition     = local.node_image != null
      error_message = "OKE offers no Oracle Linux 8 arm64 node image for ${var.kubernetes_version}: pick another OKE_KUBERNETES_VERSION from `oci ce node-pool-options get --node-pool-option-id all --node-pool-os-arch AARCH64`."
    }
  }
}
