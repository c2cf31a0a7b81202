# OKE on the OCI Always Free tier, driven by `npx zx scripts/bootstrap.mts --cluster oke`
# (which writes every variable into giropops.auto.tfvars.json here, git-ignored;
# see scripts/lib/clusters/oke.mts).
terraform {
  required_version = ">= 1.8.0"
  required_providers {
    oci = {
      source  = "oracle/oci"
      version = "7.30.0"
    }
  }
}

# Credentials come from ~/.oci/config (profile var.oci_profile), never from this repository.
provider "oci" {
  region              = var.region
  config_file_profile = var.oci_profile
}
