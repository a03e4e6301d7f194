// Package kserve applies, reads and deletes KServe InferenceServices
// (serving.kserve.io/v1beta1) on the clusters registered with kubeline
// (kubeline clusters add): kubeline deploy FILE --cluster NAME applies one,
// kubeline deployments import reads one running there. It talks to the
// cluster's API server with client-go's dynamic client (server-side
// apply, field manager "kubeline"), reached through the cluster's
// kubeconfig as the Argo engine does (runtime/engine/argo.Config).
//
// kserve imports runtime/store (the Cluster type) and
// runtime/engine/argo (the kubeconfig); StatusOf is pure.
package kserve
