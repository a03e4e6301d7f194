package artifact

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/minio/minio-go/v7"

	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// TestS3Store runs the Store suite against versitygw.
func TestS3Store(t *testing.T) {
	gw := s3test.Start(t)
	var buckets atomic.Int64
	open := func(t *testing.T, access, secret string) *S3 {
		t.Helper()
		cfg := S3Config{Endpoint: gw.Endpoint, Bucket: fmt.Sprintf("kubeline-test-%d", buckets.Add(1)),
			AccessKey: gw.Access, SecretKey: gw.Secret, Region: "us-east-1"}
		s, err := NewS3(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if err := s.EnsureBucket(context.Background()); err != nil {
			t.Fatal(err)
		}
		cfg.AccessKey, cfg.SecretKey = access, secret
		if s, err = NewS3(cfg); err != nil {
			t.Fatal(err)
		}
		return s
	}
	testStore(t, storeHarness{
		open: func(t *testing.T) Store { return open(t, gw.Access, gw.Secret) },
		denied: map[string]func(t *testing.T) Store{
			"unknown-access-key": func(t *testing.T) Store { return open(t, "nobody", gw.Secret) },
			"wrong-secret":       func(t *testing.T) Store { return open(t, gw.Access, "not-the-secret") },
		},
		multipartETag: true,
		pendingUploads: func(t *testing.T, s Store) int {
			s3 := s.(*S3)
			n := 0
			for u := range s3.client.ListIncompleteUploads(context.Background(), s3.cfg.Bucket, "", true) {
				if u.Err != nil {
					t.Fatal(u.Err)
				}
				n++
			}
			return n
		},
	})
	t.Run("RecordedSum", func(t *testing.T) {
		// The sum is S3 user metadata, as any S3 client sees it.
		s := open(t, gw.Access, gw.Secret)
		if _, err := s.Put(context.Background(), "k", strings.NewReader("hello"), 5); err != nil {
			t.Fatal(err)
		}
		info, err := s.client.StatObject(context.Background(), s.cfg.Bucket, "k", minio.StatObjectOptions{})
		if err != nil {
			t.Fatal(err)
		}
		const want = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
		if got := info.Metadata.Get("X-Amz-Meta-Sha256"); got != want {
			t.Errorf("X-Amz-Meta-Sha256 = %q, want %s", got, want)
		}
	})
	t.Run("ErrorNamesStore", func(t *testing.T) {
		s := open(t, gw.Access, gw.Secret)
		_, err := s.Stat(context.Background(), "kubeline/x")
		want := fmt.Sprintf("stat kubeline/x in minio://%s at %s: ", s.cfg.Bucket, gw.Endpoint)
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("error %q does not start with %q", err, want)
		}
	})
}

// TestS3Unreachable: a server that is not there fails fast with an error
// naming the store, not a hang or a panic.
func TestS3Unreachable(t *testing.T) {
	addr := s3test.FreeAddr(t) // closed again: nothing listens
	s, err := NewS3(S3Config{Endpoint: addr, Bucket: "b", AccessKey: "a", SecretKey: "s", Region: "us-east-1"})
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	_, err = s.Put(context.Background(), "kubeline/x", strings.NewReader("x"), 1)
	if err == nil || !strings.Contains(err.Error(), "put kubeline/x to minio://b at "+addr) {
		t.Errorf("Put to a stopped server: %v", err)
	}
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("Put to a stopped server took %v: the driver must not retry", d)
	}
}

func TestS3ConfigFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    S3Config
		wantErr string
	}{
		{name: "nothing set", want: S3Config{Bucket: "mlpipeline"}},
		{name: "KFP API server", env: map[string]string{
			"OBJECTSTORECONFIG_HOST": "minio-service.kubeflow", "OBJECTSTORECONFIG_PORT": "9000",
			"OBJECTSTORECONFIG_SECURE": "false", "OBJECTSTORECONFIG_BUCKETNAME": "mlpipeline",
			"OBJECTSTORECONFIG_ACCESSKEY": "minio", "OBJECTSTORECONFIG_SECRETACCESSKEY": "minio123",
			"OBJECTSTORECONFIG_REGION": "us-east-1",
		}, want: S3Config{Endpoint: "minio-service.kubeflow:9000", Bucket: "mlpipeline",
			AccessKey: "minio", SecretKey: "minio123", Region: "us-east-1"}},
		{name: "Kubernetes service variables and AWS credentials", env: map[string]string{
			"MINIO_SERVICE_SERVICE_HOST": "10.0.0.7", "MINIO_SERVICE_SERVICE_PORT": "9000",
			"MINIO_SERVICE_SECURE": "true", "MINIO_PIPELINE_BUCKET_NAME": "art",
			"AWS_ACCESS_KEY_ID": "ak", "AWS_SECRET_ACCESS_KEY": "sk", "AWS_SESSION_TOKEN": "tok", "AWS_REGION": "eu-west-1",
		}, want: S3Config{Endpoint: "10.0.0.7:9000", Bucket: "art", AccessKey: "ak", SecretKey: "sk",
			SessionToken: "tok", Region: "eu-west-1", Secure: true}},
		{name: "OBJECTSTORECONFIG wins", env: map[string]string{
			"OBJECTSTORECONFIG_HOST": "a", "MINIO_SERVICE_SERVICE_HOST": "b", "MINIO_SERVICE_SERVICE_PORT": "9000",
			"OBJECTSTORECONFIG_ACCESSKEY": "k1", "AWS_ACCESS_KEY_ID": "k2", "MINIO_ACCESS_KEY": "k3",
			"MINIO_SECRET_KEY": "s3", "AWS_DEFAULT_REGION": "r",
		}, want: S3Config{Endpoint: "a:9000", Bucket: "mlpipeline", AccessKey: "k1", SecretKey: "s3", Region: "r"}},
		{name: "AWS endpoint URL", env: map[string]string{"AWS_ENDPOINT_URL": "https://s3.eu-west-1.amazonaws.com"},
			want: S3Config{Endpoint: "s3.eu-west-1.amazonaws.com", Bucket: "mlpipeline", Secure: true}},
		{name: "AWS endpoint URL with a path", env: map[string]string{"AWS_ENDPOINT_URL_S3": "http://h:9000/x"},
			wantErr: "without a path"},
		{name: "bad boolean", env: map[string]string{"OBJECTSTORECONFIG_SECURE": "maybe"},
			wantErr: `OBJECTSTORECONFIG_SECURE/MINIO_SERVICE_SECURE="maybe": not a boolean`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := S3ConfigFromEnv(func(k string) string { return tc.env[k] })
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("want an error containing %q, got %v", tc.wantErr, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("(-want +got):\n%s", diff)
			}
		})
	}
}

func TestS3ConfigFlags(t *testing.T) {
	cfg, err := S3ConfigFromEnv(func(k string) string {
		return map[string]string{"OBJECTSTORECONFIG_HOST": "env-host", "AWS_ACCESS_KEY_ID": "env-ak",
			"AWS_SECRET_ACCESS_KEY": "env-sk"}[k]
	})
	if err != nil {
		t.Fatal(err)
	}
	fs := flag.NewFlagSet("t", flag.ContinueOnError)
	cfg.RegisterFlags(fs)
	err = fs.Parse([]string{"--s3-endpoint", "https://flag-host:9443", "--s3-bucket", "b", "--s3-region", "r",
		"--s3-path-style", "--s3-uri-scheme", "s3", "--s3-insecure-skip-verify", "--s3-credentials-secret", "creds"})
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.Normalize(); err != nil {
		t.Fatal(err)
	}
	want := S3Config{Endpoint: "flag-host:9443", Bucket: "b", Region: "r", AccessKey: "env-ak", SecretKey: "env-sk",
		Secure: true, InsecureSkipVerify: true, PathStyle: true, URIScheme: "s3", CredentialsSecret: "creds"}
	if diff := cmp.Diff(want, cfg); diff != "" {
		t.Errorf("flags over environment (-want +got):\n%s", diff)
	}
}

func TestS3ConfigValidate(t *testing.T) {
	err := S3Config{AccessKey: "a", URIScheme: "gs"}.Validate()
	for _, want := range []string{"no endpoint", "no bucket", "needs a secret key", `URI scheme "gs"`} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Validate() = %v, want it to say %q", err, want)
		}
	}
	if _, err := NewS3(S3Config{Endpoint: "h:1", Bucket: "b", Secure: true, CAFile: os.Args[0]}); err == nil ||
		!strings.Contains(err.Error(), "no PEM certificate") {
		t.Errorf("NewS3 with a CA file that is not PEM: %v", err)
	}
}

func TestS3URI(t *testing.T) {
	tests := []struct {
		cfg  S3Config
		want string
	}{
		{S3Config{Endpoint: "minio-service.kubeflow:9000", Bucket: "mlpipeline"}, "minio://mlpipeline/kubeline/wf/pod/m"},
		{S3Config{Endpoint: "s3.us-east-1.amazonaws.com", Bucket: "b"}, "s3://b/kubeline/wf/pod/m"},
		{S3Config{Endpoint: "127.0.0.1:7070", Bucket: "b", URIScheme: "s3"}, "s3://b/kubeline/wf/pod/m"},
	}
	for _, tc := range tests {
		s, err := NewS3(tc.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if got := s.URI("kubeline/wf/pod/m"); got != tc.want {
			t.Errorf("URI = %s, want %s", got, tc.want)
		}
	}
}
