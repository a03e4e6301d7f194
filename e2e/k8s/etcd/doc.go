// Command etcd is etcd v3.6.8's own main (go.etcd.io/etcd/server/v3's
// main.go), built in the Kubernetes wrapper module so that it shares the
// Kubernetes build's packages (gRPC, protobuf, OpenTelemetry, Prometheus,
// zap: one compile, not two). e2e/cluster.sh builds it; see e2e/README.md.
package main
