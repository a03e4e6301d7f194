package artifact

import (
	"context"
	"errors"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// TestRetryUnreached against a real versitygw: a stopped server's errors
// are Unreached and retried until it is back (a write then lands once);
// the server's own answers (a missing key) are not retried; attempts end
// after UnreachedBackoff.
func TestRetryUnreached(t *testing.T) {
	gw := s3test.Start(t)
	s, err := NewS3(S3Config{Endpoint: gw.Endpoint, Bucket: "retry", AccessKey: gw.Access, SecretKey: gw.Secret, Region: gw.Region})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := s.EnsureBucket(ctx); err != nil {
		t.Fatal(err)
	}
	var attempts atomic.Int32
	get := func() error {
		attempts.Add(1)
		_, _, err := s.Get(ctx, "missing")
		return err
	}
	if err := RetryUnreached(ctx, get); !errors.Is(err, ErrNotFound) || Unreached(err) || attempts.Load() != 1 {
		t.Fatalf("a missing key: %v after %d attempts, want ErrNotFound at once", err, attempts.Load())
	}

	gw.Stop()
	put := func() error {
		attempts.Add(1)
		_, err := s.Put(ctx, "k", strings.NewReader("v"), 1)
		return err
	}
	attempts.Store(0)
	done := make(chan error, 1)
	go func() { done <- RetryUnreached(ctx, put) }()
	time.Sleep(time.Second)
	gw.Restart()
	if err := <-done; err != nil || attempts.Load() < 2 {
		t.Fatalf("a Put while the server restarts: %v after %d attempts, want it to land", err, attempts.Load())
	}
	rc, _, err := s.Get(ctx, "k")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(rc)
	rc.Close()
	if string(b) != "v" {
		t.Fatalf("k holds %q", b)
	}

	gw.Stop()
	defer func(b []time.Duration) { UnreachedBackoff = b }(UnreachedBackoff)
	UnreachedBackoff = []time.Duration{10 * time.Millisecond, 10 * time.Millisecond}
	attempts.Store(0)
	if err := RetryUnreached(ctx, put); !Unreached(err) || attempts.Load() != 3 {
		t.Fatalf("a server that stays down: %v after %d attempts, want the dial error after 3", err, attempts.Load())
	}
}
