// Package artifact owns artifact storage: the Store interface the engines,
// the launcher and the API server use, and its two drivers.
//
//   - Dir (dir.go) keeps objects as files under a local directory, the
//     embedded default.
//   - S3 (s3.go) keeps them in one bucket of an S3 server — MinIO, AWS S3 or
//     anything speaking S3 — through minio-go. S3Config (s3config.go) is
//     filled from the environment variables Kubeflow Pipelines users already
//     set (OBJECTSTORECONFIG_*, MINIO_SERVICE_SERVICE_HOST/PORT, AWS_*) and
//     from --s3-* flags; KeyFormat (repository.go) is the key layout Argo's
//     artifact repository of the same bucket uses (runtime/engine/argo
//     makes that repository).
//
// Both stream (Put, Get) and record the SHA-256 of every object they write:
// S3 as user metadata (X-Amz-Meta-Sha256), Dir in a record beside the
// store's files. A write is staged and appears whole or not at all.
//
// Keys are the S3 keys of the compiled workflow's artifact repository
// (kubeline/WORKFLOW/POD/NAME/...), so the same key names the same object
// whichever driver stores it; keys under .kubeline/ are the stores' own.
// URIs are file://ROOT/KEY for Dir and minio://BUCKET/KEY (s3:// on AWS) for
// S3, as KFP writes them.
//
// The objects of dataset and model versions live here too
// (versionindex.go): a version's content key (VersionKey), its index object
// (VersionIndex, read by a step in a pod that resolves model://NAME@vN) and
// the version URI syntax. Creating and recording versions, which needs the
// metadata store, is runtime/versioning's.
//
// artifact imports no other kubeline package, nor Kubernetes, Argo or a
// database driver: the in-pod launcher (cmd/kubeline-launch) links it, and
// must stay small. Which driver a run uses is decided in cmd/kubeline.
package artifact
