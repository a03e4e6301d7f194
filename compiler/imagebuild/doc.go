// Package imagebuild compiles a kind: ImageBuild document — build a
// container image from a code version's Dockerfile and push it — into one
// Argo Workflow: a kubeline step resolves the code version through the
// version index in the artifact store, then a BuildKit step (rootless,
// daemonless: buildctl-daemonless.sh in moby/buildkit's -rootless image,
// running as uid 1000 with no privilege) builds the Dockerfile with the
// code as its context and pushes to the destination, writing the image's
// digest. The workflow carries the document's catalog entry in annotations,
// so a server that sees it succeed adds the image to the group's catalog
// with its code version.
//
// Why BuildKit rather than kaniko: Google archived kaniko in June 2025 (its
// forks are young); BuildKit is Docker's maintained builder, and its
// rootless mode builds as an unprivileged user with only seccomp and
// AppArmor unconfined for its user namespace (its own Kubernetes example,
// examples/kubernetes/job.rootless.yaml).
//
// The embedded engine does not build images (there is no container
// runtime to build with): an ImageBuild compiles and validates only.
//
// imagebuild imports compiler/spec and compiler/argo; never runtime/.
package imagebuild
