// Package argo is the engine that runs compiled workflows on Kubernetes
// through Argo Workflows: it submits them with Argo's generated clientset,
// watches their status, stops them with Argo's shutdown strategy and reads
// step logs from the pods. It implements runtime/engine.Engine, so the API
// server and the CLI use it as they use the embedded engine.
//
// This is the first part of the Argo engine issue: the engine itself. Its
// tests run against a real API server and a real workflow controller (the
// e2e environment, e2e/cluster.sh) under the e2e build tag.
package argo
