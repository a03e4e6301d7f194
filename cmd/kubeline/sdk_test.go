package main

import (
	"context"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestKFPSDK runs testdata/sdk/test_sdk.py, the real kfp SDK 2.15.2 of
// ../shared/kfp-sdk on Debian's python3 (its packages come from .ci/run),
// against a kubeline server: six SDK-written pipelines through
// create_run_from_pipeline_func, create_run_from_pipeline_package and
// upload + run_pipeline, lists with filters and paging, a recurring run
// that fires twice, terminate, archive and delete.
func TestKFPSDK(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		t.Fatalf("the SDK test needs Debian's %s: %v", python, err)
	}
	sdk, _ := filepath.Abs("../../../shared/kfp-sdk")
	if _, err := os.Stat(filepath.Join(sdk, "kfp")); err != nil {
		t.Fatalf("the SDK test needs ../shared/kfp-sdk: %v", err)
	}
	t.Setenv("KUBELINE_HOME", t.TempDir())
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- serveWith(ctx, l, "", storeFlags{}, accessFlags{}, io.Discard) }()
	t.Cleanup(func() {
		cancel()
		if err := <-served; err != nil {
			t.Errorf("server: %v", err)
		}
	})
	run, stop := context.WithTimeout(context.Background(), 8*time.Minute)
	defer stop()
	cmd := exec.CommandContext(run, python, "testdata/sdk/test_sdk.py")
	cmd.Env = append(os.Environ(), "KUBELINE_API=http://"+l.Addr().String(), "PYTHONPATH="+sdk,
		"HOME="+t.TempDir(), "PYTHONDONTWRITEBYTECODE=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the SDK test failed (%v):\n%s", err, out)
	}
	if !strings.Contains(string(out), "\nOK") {
		t.Fatalf("the SDK test did not report OK:\n%s", out)
	}
	t.Logf("%s", out)
}
