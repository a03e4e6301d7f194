// Package charts holds kubeline's Helm chart (charts/kubeline) and the
// tests that check it and the container image it deploys: helm lint
// --strict and helm template over the default and the ci/ values, every
// rendered object decoded strictly with client-go's scheme, the key fields
// (image, env from Secrets, Argo RBAC, probes, the artifact repository)
// asserted against what kubeline's code reads and emits, and the
// Dockerfile read against the paths the compiler puts in workflows.
//
// It has no code of its own: nothing imports it. Its tests run the helm
// binary that `make tools` installs (helm.sh/helm/v3 v3.22.0); a missing
// helm fails them.
package charts
