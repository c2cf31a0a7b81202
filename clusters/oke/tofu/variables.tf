variable "region" {
  description = "OCI region, your tenancy's home region for Always Free A1 capacity (OCI_REGION)."
  type        = string
}

variable "compartment_ocid" {
  description = "Compartment the network and cluster are created in; the tenancy OCID means the root (OCI_COMPARTMENT_OCID)."
  type        = string
}

variable "tenancy_ocid" {
  description = "Tenancy OCID, used to list availability domains; defaults to the compartment (OCI_TENANCY_OCID)."
  type        = string
  default     = null
}

variable "oci_profile" {
  description = "Profile in ~/.oci/config (OCI_CLI_PROFILE)."
  type        = string
  default     = "DEFAULT"
}

variable "cluster_name" {
  description = "Name of the OKE cluster (CLUSTER_NAME)."
  type        = string
  default     = "giropops"
}

variable "kubernetes_version" {
  description = "OKE Kubernetes version; list the offered ones with: oci ce cluster-options get --cluster-option-id all."
  type        = string
  default     = "v1.34.1"
}

variable "node_count" {
  description = "Worker nodes (OKE_NODE_COUNT)."
  type        = number
  default     = 2
}

variable "node_ocpus" {
  description = "OCPUs per A1.Flex worker (OKE_NODE_OCPUS)."
  type        = number
  default     = 1
}

variable "node_memory_gb" {
  description = "Memory per A1.Flex worker in GB (OKE_NODE_MEMORY_GB)."
  type        = number
  default     = 6
}

variable "free_tier" {
  description = "Always Free A1 allowance the node pool must fit in (2 OCPU / 12 GB since mid-2026)."
  type        = object({ ocpus = number, memory_gb = number })
  default     = { ocpus = 2, memory_gb = 12 }
}

variable "vcn_cidr" {
  description = "Address range of the cluster network."
  type        = string
  default     = "10.0.0.0/16"
}

variable "api_allowed_cidrs" {
  description = "Who may reach the Kubernetes API on 6443 (narrow it to your own address when you can)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}
