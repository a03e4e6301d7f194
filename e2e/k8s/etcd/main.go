// Command etcd is etcd's own main (go.etcd.io/etcd/server/v3's main.go),
// built here so that it shares the Kubernetes build's packages (gRPC,
// protobuf, OpenTelemetry, Prometheus, zap: one compile, not two).
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
