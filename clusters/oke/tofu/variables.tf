# Set by bootstrap and teardown in giropops.auto.tfvars.json (git-ignored), which
# tofu reads on its own: run tofu yourself in this folder and it uses the same values.
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
  description = "OKE Kubernetes version (OKE_KUBERNETES_VERSION; bootstrap's default is in scripts/lib/config.mts). Offered ones: oci ce cluster-options get --cluster-option-id all."
  type        = string
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
  description = "Always Free A1 allowance the node pool must fit in (OKE_FREE_OCPUS / OKE_FREE_MEMORY_GB; the default lives once, in scripts/lib/config.mts)."
  type        = object({ ocpus = number, memory_gb = number })
}

variable "vcn_cidr" {
  description = "Address range of the cluster network."
  type        = string
  default     = "10.0.0.0/16"
}

variable "api_allowed_cidrs" {
  description = "Who may reach the Kubernetes API on 6443 (OKE_API_ALLOWED_CIDRS; narrow it to your own address when you can)."
  type        = list(string)
  default     = ["0.0.0.0/0"]
}
