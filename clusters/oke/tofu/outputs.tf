output "cluster_id" {
  description = "OCID of the cluster; bootstrap passes it to `oci ce cluster create-kubeconfig`."
  value       = oci_containerengine_cluster.this.id
}

output "kubernetes_version" {
  value = oci_containerengine_cluster.this.kubernetes_version
}

output "api_endpoint" {
  description = "Public Kubernetes API endpoint."
  value       = oci_containerengine_cluster.this.endpoints[0].public_endpoint
}

output "node_pool_id" {
  value = oci_containerengine_node_pool.free.id
}
