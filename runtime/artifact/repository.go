package artifact

// KeyFormat is where Argo puts a step's outputs: the key prefix
// compiler/argo writes into every output artifact
// (kubeline/{{workflow.name}}/{{pod.name}}/NAME), so the artifacts Argo
// uploads in a cluster and those the embedded engine stores share keys.
const KeyFormat = "kubeline/{{workflow.name}}/{{pod.name}}"

// LogKey is where a step's log is archived: Argo's archiveLogs writes
// main.log under KeyFormat, and the embedded engine does the same.
func LogKey(workflow, pod string) string { return "kubeline/" + workflow + "/" + pod + "/main.log" }

// DefaultCredentialsSecret is the secret KFP's manifests hold the MinIO
// credentials in (keys accesskey and secretkey).
const DefaultCredentialsSecret = "mlpipeline-minio-artifact"

// Config is the store's configuration, normalized: what Argo's artifact
// repository of the same bucket is made from (runtime/engine/argo).
func (s *S3) Config() S3Config { return s.cfg }
