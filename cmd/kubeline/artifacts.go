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

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/argo"
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

func (f *storeFlags) register(fs *pflag.FlagSet) {
	f.s3, f.envErr = artifact.S3ConfigFromEnv(os.Getenv)
	fs.StringVar(&f.url, "artifacts", "", "artifact store `URL`: a directory, file:///DIR, minio://BUCKET or s3://BUCKET (default $KUBELINE_HOME/artifacts)")
	s3 := flag.NewFlagSet("s3", flag.ContinueOnError)
	f.s3.RegisterFlags(s3)
	fs.AddGoFlagSet(s3)
}

// open returns the store the flags name; an object store's bucket is
// created when missing.
func (f *storeFlags) open(ctx context.Context, home string) (artifact.Store, error) {
	return openArtifacts(ctx, home, f.url, f.s3, f.envErr)
}

func openArtifacts(ctx context.Context, home, url string, cfg artifact.S3Config, envErr error) (artifact.Store, error) {
	if url == "" {
		return artifact.Dir{Root: filepath.Join(home, "artifacts")}, nil
	}
	st, err := artifact.OpenURL(ctx, url, func() (artifact.S3Config, error) { return cfg, envErr })
	if err != nil {
		return nil, fmt.Errorf("--artifacts %s: %w", url, err)
	}
	return st, nil
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

// newArgoRepositoryCmd is `kubeline argo-repository --artifacts
// minio://BUCKET [--s3-*]`: the ConfigMap that makes the S3 store Argo's
// default artifact repository, so workflows compiled by kubeline and run by
// Argo put their artifacts in the same bucket under the same keys as the
// embedded engine.
func newArgoRepositoryCmd(s streams) *cobra.Command {
	var arts storeFlags
	var namespace string
	c := &cobra.Command{
		Use:   "argo-repository --artifacts minio://BUCKET|s3://BUCKET",
		Short: "print Argo's artifact-repositories ConfigMap for an S3 artifact store",
		Args:  noArgs,
		RunE: func(*cobra.Command, []string) error {
			if !strings.HasPrefix(arts.url, "minio://") && !strings.HasPrefix(arts.url, "s3://") {
				return usagef("--artifacts: want minio://BUCKET or s3://BUCKET, got %q", arts.url)
			}
			b, err := argoRepository(arts, namespace)
			if err != nil {
				return reportErr(s, "kubeline argo-repository", err)
			}
			_, err = s.out.Write(b)
			return err
		},
	}
	arts.register(c.Flags())
	c.Flags().StringVar(&namespace, "namespace", "", "namespace of the ConfigMap (Argo reads artifact-repositories from the workflow's namespace)")
	return c
}

// argoRepository is the ConfigMap of argo-repository as YAML.
func argoRepository(arts storeFlags, namespace string) ([]byte, error) {
	// Only the configuration is needed, not a connection.
	cfg := arts.s3
	scheme, bucket, _ := strings.Cut(arts.url, "://")
	if b := strings.Trim(bucket, "/"); b != "" {
		cfg.Bucket = b
	}
	cfg.URIScheme = scheme
	err := arts.envErr
	if err == nil {
		err = cfg.Normalize()
	}
	var s *artifact.S3
	if err == nil {
		s, err = artifact.NewS3(cfg)
	}
	if err != nil {
		return nil, err
	}
	repo, _ := yaml.Marshal(argo.ArtifactRepository(s))
	cm := corev1.ConfigMap{TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "ConfigMap"},
		ObjectMeta: metav1.ObjectMeta{Name: "artifact-repositories", Namespace: namespace,
			Annotations: map[string]string{"workflows.argoproj.io/default-artifact-repository": "kubeline"}},
		Data: map[string]string{"kubeline": string(repo)}}
	b, _ := yaml.Marshal(cm)
	return []byte(strings.Replace(string(b), "  creationTimestamp: null\n", "", 1)), nil
}
