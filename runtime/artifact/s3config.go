package artifact

import (
	"flag"
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// S3Config says which bucket of which S3 server an S3 store uses and how
// to reach it.
type S3Config struct {
	// Endpoint is host[:port] of the S3 server. A URL (http://host:port or
	// https://...) is accepted too; its scheme then decides Secure.
	Endpoint string
	// Bucket holds the artifacts; KFP's default is mlpipeline.
	Bucket string
	// AccessKey, SecretKey and (for temporary credentials) SessionToken
	// sign the requests.
	AccessKey, SecretKey, SessionToken string
	// Region is the bucket's region; empty asks the server.
	Region string
	// Secure turns TLS on. InsecureSkipVerify accepts any server
	// certificate; CAFile (PEM) adds a CA to the system ones.
	Secure             bool
	InsecureSkipVerify bool
	CAFile             string
	// PathStyle forces path-style requests (http://host/bucket/key). Off,
	// the client picks: path style for MinIO and other non-AWS endpoints,
	// virtual-host style for AWS.
	PathStyle bool
	// URIScheme is the scheme of the artifact URIs steps see (URI): KFP
	// writes minio:// for its MinIO and s3:// for AWS S3. Empty means s3
	// for an amazonaws.com endpoint and minio otherwise.
	URIScheme string
	// CredentialsSecret is the Kubernetes secret (keys accesskey and
	// secretkey) the Argo artifact repository reads the credentials from;
	// empty means KFP's mlpipeline-minio-artifact.
	CredentialsSecret string
	// PartSize is the multipart part size; 0 means 5 MiB (the S3 minimum),
	// so an object of more than 5 MiB goes up in parts.
	PartSize uint64
}

// DefaultBucket is KFP's artifact bucket.
const DefaultBucket = "mlpipeline"

// S3ConfigFromEnv reads the environment variables Kubeflow Pipelines
// already uses for its object store, the first set one winning:
//
//	endpoint host   OBJECTSTORECONFIG_HOST, MINIO_SERVICE_SERVICE_HOST
//	endpoint port   OBJECTSTORECONFIG_PORT, MINIO_SERVICE_SERVICE_PORT
//	endpoint URL    AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL (when no host is set)
//	TLS             OBJECTSTORECONFIG_SECURE, MINIO_SERVICE_SECURE (default false)
//	region          OBJECTSTORECONFIG_REGION, MINIO_SERVICE_REGION, AWS_REGION, AWS_DEFAULT_REGION
//	bucket          OBJECTSTORECONFIG_BUCKETNAME, MINIO_PIPELINE_BUCKET_NAME (default mlpipeline)
//	access key      OBJECTSTORECONFIG_ACCESSKEY, AWS_ACCESS_KEY_ID, MINIO_ACCESS_KEY
//	secret key      OBJECTSTORECONFIG_SECRETACCESSKEY, AWS_SECRET_ACCESS_KEY, MINIO_SECRET_KEY
//	session token   AWS_SESSION_TOKEN
//
// OBJECTSTORECONFIG_* are the KFP API server's settings (its
// ObjectStoreConfig), MINIO_SERVICE_SERVICE_HOST/PORT what Kubernetes sets
// for KFP's minio-service, AWS_* what the KFP UI and the AWS SDKs read, and
// MINIO_ACCESS_KEY/MINIO_SECRET_KEY the KFP UI's MinIO credentials.
// getenv is os.Getenv in production. The result may still lack an
// endpoint: check it with Validate (NewS3 does).
func S3ConfigFromEnv(getenv func(string) string) (S3Config, error) {
	first := func(names ...string) string {
		for _, n := range names {
			if v := getenv(n); v != "" {
				return v
			}
		}
		return ""
	}
	c := S3Config{
		Bucket:       first("OBJECTSTORECONFIG_BUCKETNAME", "MINIO_PIPELINE_BUCKET_NAME"),
		AccessKey:    first("OBJECTSTORECONFIG_ACCESSKEY", "AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY"),
		SecretKey:    first("OBJECTSTORECONFIG_SECRETACCESSKEY", "AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY"),
		SessionToken: getenv("AWS_SESSION_TOKEN"),
		Region:       first("OBJECTSTORECONFIG_REGION", "MINIO_SERVICE_REGION", "AWS_REGION", "AWS_DEFAULT_REGION"),
	}
	if c.Bucket == "" {
		c.Bucket = DefaultBucket
	}
	if v := first("OBJECTSTORECONFIG_SECURE", "MINIO_SERVICE_SECURE"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return S3Config{}, fmt.Errorf("OBJECTSTORECONFIG_SECURE/MINIO_SERVICE_SECURE=%q: not a boolean", v)
		}
		c.Secure = b
	}
	host := first("OBJECTSTORECONFIG_HOST", "MINIO_SERVICE_SERVICE_HOST")
	port := first("OBJECTSTORECONFIG_PORT", "MINIO_SERVICE_SERVICE_PORT")
	switch {
	case host != "" && port != "":
		c.Endpoint = host + ":" + port
	case host != "":
		c.Endpoint = host
	default:
		c.Endpoint = first("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL")
	}
	return c, c.normalize()
}

// RegisterFlags declares the --s3-* flags on fs, with c's current values
// (for example from S3ConfigFromEnv) as defaults, so flags override the
// environment:
//
//	--s3-endpoint HOST:PORT|URL   --s3-bucket NAME       --s3-region REGION
//	--s3-access-key KEY           --s3-secret-key KEY    --s3-secure
//	--s3-insecure-skip-verify     --s3-ca-file PEM       --s3-path-style
//	--s3-uri-scheme minio|s3      --s3-credentials-secret NAME
//
// Call Normalize after parsing when --s3-endpoint may be a URL.
func (c *S3Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Endpoint, "s3-endpoint", c.Endpoint, "S3/MinIO endpoint, host:port or http(s):// URL")
	fs.StringVar(&c.Bucket, "s3-bucket", c.Bucket, "S3 bucket of the artifacts")
	fs.StringVar(&c.Region, "s3-region", c.Region, "S3 region (empty: ask the server)")
	fs.StringVar(&c.AccessKey, "s3-access-key", c.AccessKey, "S3 access key (better: OBJECTSTORECONFIG_ACCESSKEY or AWS_ACCESS_KEY_ID)")
	fs.StringVar(&c.SecretKey, "s3-secret-key", c.SecretKey, "S3 secret key (better: OBJECTSTORECONFIG_SECRETACCESSKEY or AWS_SECRET_ACCESS_KEY)")
	fs.BoolVar(&c.Secure, "s3-secure", c.Secure, "use TLS to reach the S3 endpoint")
	fs.BoolVar(&c.InsecureSkipVerify, "s3-insecure-skip-verify", c.InsecureSkipVerify, "accept any TLS certificate from the S3 endpoint")
	fs.StringVar(&c.CAFile, "s3-ca-file", c.CAFile, "PEM file of a CA to trust for the S3 endpoint")
	fs.BoolVar(&c.PathStyle, "s3-path-style", c.PathStyle, "force path-style S3 requests")
	fs.StringVar(&c.URIScheme, "s3-uri-scheme", c.URIScheme, "scheme of artifact URIs: minio or s3 (default: s3 for AWS, else minio)")
	fs.StringVar(&c.CredentialsSecret, "s3-credentials-secret", c.CredentialsSecret,
		"Kubernetes secret with accesskey/secretkey for Argo (default mlpipeline-minio-artifact)")
}

// Normalize turns an endpoint URL into host:port and Secure.
func (c *S3Config) Normalize() error { return c.normalize() }

func (c *S3Config) normalize() error {
	if !strings.Contains(c.Endpoint, "://") {
		return nil
	}
	u, err := url.Parse(c.Endpoint)
	if err != nil {
		return fmt.Errorf("s3 endpoint %q: %w", c.Endpoint, err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("s3 endpoint %q: scheme must be http or https", c.Endpoint)
	case u.Host == "" || strings.Trim(u.Path, "/") != "":
		return fmt.Errorf("s3 endpoint %q: want scheme://host[:port] without a path", c.Endpoint)
	}
	c.Endpoint, c.Secure = u.Host, u.Scheme == "https"
	return nil
}

// Validate reports what is missing or wrong, all at once.
func (c S3Config) Validate() error {
	var errs []string
	if c.Endpoint == "" {
		errs = append(errs, "no endpoint (--s3-endpoint, OBJECTSTORECONFIG_HOST or MINIO_SERVICE_SERVICE_HOST)")
	} else if strings.Contains(c.Endpoint, "://") {
		errs = append(errs, fmt.Sprintf("endpoint %q is a URL: call Normalize", c.Endpoint))
	}
	if c.Bucket == "" {
		errs = append(errs, "no bucket (--s3-bucket or OBJECTSTORECONFIG_BUCKETNAME)")
	}
	if (c.AccessKey == "") != (c.SecretKey == "") {
		errs = append(errs, "an access key needs a secret key and the other way round")
	}
	if s := c.URIScheme; s != "" && s != "minio" && s != "s3" {
		errs = append(errs, fmt.Sprintf("URI scheme %q: want minio or s3", s))
	}
	if len(errs) > 0 {
		return fmt.Errorf("s3 config: %s", strings.Join(errs, "; "))
	}
	return nil
}

// scheme is the URI scheme, defaulted from the endpoint.
func (c S3Config) scheme() string {
	switch {
	case c.URIScheme != "":
		return c.URIScheme
	case strings.HasSuffix(strings.Split(c.Endpoint, ":")[0], "amazonaws.com"):
		return "s3"
	}
	return "minio"
}
