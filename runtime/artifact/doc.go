// Package artifact owns artifact storage: the Store interface the engines and
// the launcher use, and its drivers. This first driver is the local
// directory (the embedded default); the S3/MinIO driver and versions come
// with the artifact-versioning work.
//
// Keys are the S3 keys of the compiled workflow's artifact repository
// (kubeline/WORKFLOW/POD/NAME/...), so the same key names the same object
// whichever driver stores it. artifact imports nothing from compiler/ or the
// engines.
package artifact
