# One VCN with three public subnets: the Kubernetes API endpoint, the worker
# nodes (public IPs instead of a NAT gateway, which Always Free lacks) and the
# network load balancer. Security lists open only what OKE and the platform use,
# and only OpenTofu edits them: the Traefik Service sets the NLB's
# security-list-management-mode to None (clusters/oke/patches/gateway.yaml).
locals {
  api_cidr     = cidrsubnet(var.vcn_cidr, 12, 0) # 10.0.0.0/28
  workers_cidr = cidrsubnet(var.vcn_cidr, 8, 1)  # 10.0.1.0/24
  lb_cidr      = cidrsubnet(var.vcn_cidr, 8, 2)  # 10.0.2.0/24
}

resource "oci_core_vcn" "this" {
  compartment_id = var.compartment_ocid
  cidr_blocks    = [var.vcn_cidr]
  display_name   = "${var.cluster_name}-vcn"
  dns_label      = "giropops"
}

resource "oci_core_internet_gateway" "this" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this.id
  display_name   = "${var.cluster_name}-igw"
  enabled        = true
}

resource "oci_core_route_table" "public" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this.id
  display_name   = "${var.cluster_name}-public"
  route_rules {
    destination       = "0.0.0.0/0"
    destination_type  = "CIDR_BLOCK"
    network_entity_id = oci_core_internet_gateway.this.id
  }
}

resource "oci_core_security_list" "api" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this.id
  display_name   = "${var.cluster_name}-api"

  dynamic "ingress_security_rules" {
    for_each = var.api_allowed_cidrs
    content {
      protocol = "6"
      source   = ingress_security_rules.value
      tcp_options {
        min = 6443
        max = 6443
      }
    }
  }
  # Workers talk to the API server (6443) and to OKE's control plane proxy (12250).
  dynamic "ingress_security_rules" {
    for_each = [6443, 12250]
    content {
      protocol = "6"
      source   = local.workers_cidr
      tcp_options {
        min = ingress_security_rules.value
        max = ingress_security_rules.value
      }
    }
  }
  ingress_security_rules {
    protocol = "1"
    source   = local.workers_cidr
    icmp_options {
      type = 3
      code = 4
    }
  }
  egress_security_rules {
    protocol    = "all"
    destination = "0.0.0.0/0"
  }
}

resource "oci_core_security_list" "workers" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this.id
  display_name   = "${var.cluster_name}-workers"

  # Pods, nodes and the API endpoint reach each other inside the VCN.
  ingress_security_rules {
    protocol = "all"
    source   = var.vcn_cidr
  }
  # The network load balancer keeps client addresses: NodePorts are reachable from outside.
  ingress_security_rules {
    protocol = "6"
    source   = "0.0.0.0/0"
    tcp_options {
      min = 30000
      max = 32767
    }
  }
  ingress_security_rules {
    protocol = "1"
    source   = "0.0.0.0/0"
    icmp_options {
      type = 3
      code = 4
    }
  }
  egress_security_rules {
    protocol    = "all"
    destination = "0.0.0.0/0"
  }
}

resource "oci_core_security_list" "lb" {
  compartment_id = var.compartment_ocid
  vcn_id         = oci_core_vcn.this.id
  display_name   = "${var.cluster_name}-lb"

  dynamic "ingress_security_rules" {
    for_each = [80, 443]
    content {
      protocol = "6"
      source   = "0.0.0.0/0"
      tcp_options {
        min = ingress_security_rules.value
        max = ingress_security_rules.value
      }
    }
  }
  # Path MTU discovery: "fragmentation needed" from clients and the internet.
  ingress_security_rules {
    protocol = "1"
    source   = "0.0.0.0/0"
    icmp_options {
      type = 3
      code = 4
    }
  }
  egress_security_rules {
    protocol    = "all"
    destination = var.vcn_cidr
  }
}

# One subnet per role, all public and on the same route table; each keeps its own security list.
locals {
  subnets = {
    api     = { cidr = local.api_cidr, security_list = oci_core_security_list.api.id }
    workers = { cidr = local.workers_cidr, security_list = oci_core_security_list.workers.id }
    lb      = { cidr = local.lb_cidr, security_list = oci_core_security_list.lb.id }
  }
}

resource "oci_core_subnet" "this" {
  for_each          = local.subnets
  compartment_id    = var.compartment_ocid
  vcn_id            = oci_core_vcn.this.id
  cidr_block        = each.value.cidr
  display_name      = "${var.cluster_name}-${each.key}"
  dns_label         = each.key
  route_table_id    = oci_core_route_table.public.id
  security_list_ids = [each.value.security_list]
}
