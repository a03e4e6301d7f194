package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/kubeline/kubeline/runtime/artifact"
)

// storeFlags are the artifact-store flags of the commands that run or read
// artifacts: --artifacts DIR | file:///DIR | minio://BUCKET | s3://BUCKET,
// and for an object store the --s3-* settings, whose defaults are the
// environment variables Kubeflow Pipelines users already set for MinIO
// (see artifact.S3ConfigFromEnv).
type storeFlags struct {
	url    string
	s3     artifact.S3Config
	envErr error
}

func (f *storeFlags) register(fs *flag.FlagSet) {
	f.s3, f.envErr = artifact.S3ConfigFromEnv(os.Getenv)
	fs.StringVar(&f.url, "artifacts", "", "artifact store `URL`: a directory, file:///DIR, minio://BUCKET or s3://BUCKET (default $KUBELINE_HOME/artifacts)")
	f.s3.RegisterFlags(fs)
}

// open returns the store the flags name; an object store's bucket is
// created when missing.
func (f *storeFlags) open(ctx context.Context, home string) (artifact.Store, error) {
	return openArtifacts(ctx, home, f.url, f.s3, f.envErr)
}

func openArtifacts(ctx context.Context, home, url string, cfg artifact.S3Config, envErr error) (artifact.Store, error) {
	scheme, rest, isURL := strings.Cut(url, "://")
	switch {
	case url == "":
		return artifact.Dir{Root: filepath.Join(home, "artifacts")}, nil
	case !isURL:
		return artifact.Dir{Root: url}, nil
	case scheme == "file":
		return artifact.Dir{Root: rest}, nil
	case scheme != "minio" && scheme != "s3":
		return nil, fmt.Errorf("--artifacts %s: want a directory, file://, minio://BUCKET or s3://BUCKET", url)
	}
	if envErr != nil {
		return nil, fmt.Errorf("--artifacts %s: %w", url, envErr)
	}
	if b := strings.Trim(rest, "/"); b != "" {
		cfg.Bucket = b
	}
	cfg.URIScheme = scheme
	if err := cfg.Normalize(); err != nil {
		return nil, fmt.Errorf("--artifacts %s: %w", url, err)
	}
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("--artifacts %s: %w", url, err)
	}
	s, err := artifact.NewS3(cfg)
	if err != nil {
		return nil, fmt.Errorf("--artifacts %s: %w", url, err)
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return nil, fmt.Errorf("--artifacts %s: %w", url, err)
	}
	return s, nil
}

// podArtifacts is the artifact store of `kubeline launch` inside a pod:
// KUBELINE_ARTIFACT_ROOT (minio://BUCKET, s3://BUCKET or file:///DIR) with
// the object store's settings from the environment; nil when unset.
func podArtifacts(ctx context.Context) (artifact.Store, error) {
	root := os.Getenv("KUBELINE_ARTIFACT_ROOT")
	if root == "" {
		return nil, nil
	}
	cfg, err := artifact.S3ConfigFromEnv(os.Getenv)
	return openArtifacts(ctx, "", root, cfg, err)
}

// readArtifact reads an artifact's bytes from any store for the API's
// artifact read: the object at key, or the data of an artifact a kubeline
// step wrote (key/data).
func readArtifact(objects artifact.Store) func(ctx context.Context, key string) ([]byte, error) {
	if d, ok := objects.(artifact.Dir); ok {
		return d.Read
	}
	return func(ctx context.Context, key string) ([]byte, error) {
		rc, _, err := objects.Get(ctx, key)
		if errors.Is(err, artifact.ErrNotFound) {
			rc, _, err = objects.Get(ctx, key+"/data")
		}
		if err != nil {
			return nil, err
		}
		defer rc.Close()
		return io.ReadAll(io.LimitReader(rc, 64<<20))
	}
}
