package artifact

import (
	"context"
	"fmt"
	"strings"
)

// OpenURL returns the store a URL names: a directory or file:///DIR is a
// Dir; minio://BUCKET or s3://BUCKET is an S3 store with the settings s3
// returns (asked only for an object store) and the URL's bucket, created
// when missing.
func OpenURL(ctx context.Context, url string, s3 func() (S3Config, error)) (Store, error) {
	scheme, rest, isURL := strings.Cut(url, "://")
	switch {
	case !isURL:
		return Dir{Root: url}, nil
	case scheme == "file":
		return Dir{Root: rest}, nil
	case scheme != "minio" && scheme != "s3":
		return nil, fmt.Errorf("want a directory, file://, minio://BUCKET or s3://BUCKET")
	}
	cfg, err := s3()
	if err != nil {
		return nil, err
	}
	if b := strings.Trim(rest, "/"); b != "" {
		cfg.Bucket = b
	}
	cfg.URIScheme = scheme
	if err := cfg.Normalize(); err != nil {
		return nil, err
	}
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s, err := NewS3(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.EnsureBucket(ctx); err != nil {
		return nil, err
	}
	return s, nil
}
