//go:build e2e

package argo

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/e2e/cluster"
	"github.com/kubeline/kubeline/runtime/artifact"
)

// realCluster is a namespace of the e2e environment with the Argo engine
// on it, its artifact repository (what the pods' executor uploads) and a
// second bucket of the same S3 server for the embedded engine's runs of the
// same workflows.
type realCluster struct {
	*cluster.Namespace
	e          *Engine
	argoStore  artifact.Store
	localStore artifact.Store
	scale      float64 // boundScale
}

const (
	argoBucket  = "argo-runs"
	localBucket = "embedded-runs"
)

// The tests that use one run beside each other (t.Parallel, and
// holdNodeSlot but for TestParity, whose cases take the slots): each has
// its namespace, S3 server and buckets, and none changes process-wide state
// (environment, working directory). A real-node test mostly waits for its
// pods, so `make e2e` takes about as long as the longest of them rather
// than their sum (e2e/README.md, "Speed").
func newRealCluster(t *testing.T, prefix string) *realCluster {
	t.Helper()
	n := cluster.New(t, prefix, argoBucket)
	e, err := New(n.Config, n.Name)
	if err != nil {
		t.Fatal(err)
	}
	c := &realCluster{Namespace: n, e: e, localStore: n.Store(t, localBucket), scale: boundScale(t)}
	s3 := n.Store(t, argoBucket)
	c.argoStore = s3
	// As `kubeline server --engine argo` does for an S3 store.
	e.SetPodEnv(PodEnv(s3))
	return c
}

// boundScale multiplies every bound a test of the real node gives its
// pods: $KUBELINE_E2E_BOUND_SCALE (a number), else 2. The bounds are hang
// guards, not speed checks (make e2e reports its phases' times; the e2e
// README's "Speed" has the figures): each names about what its run took
// under make e2e's whole load on a 2-core machine, and that load costs more
// on some machines than others. Unscaled, CI's run on a machine whose
// kernel spends twice the system time (2026-12-03) failed two tests that
// were only slow: TestParityHPO ended Running at its 15 minutes, every pod
// so far Succeeded, and the collected_artifacts case at its 6.
func boundScale(t *testing.T) float64 {
	t.Helper()
	v := os.Getenv("KUBELINE_E2E_BOUND_SCALE")
	if v == "" {
		return 2
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f <= 0 {
		t.Fatalf("KUBELINE_E2E_BOUND_SCALE=%q: want a positive number", v)
	}
	return f
}

// bound is d scaled by boundScale.
func (c *realCluster) bound(d time.Duration) time.Duration {
	return time.Duration(float64(d) * c.scale)
}

// run submits wf and follows it to the end; past c.bound(timeout) the test
// fails.
func (c *realCluster) run(t *testing.T, wf *wfv1.Workflow, timeout time.Duration) *wfv1.Workflow {
	t.Helper()
	got, err := c.runErr(wf, timeout)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// runErr is run for goroutines other than the test's.
func (c *realCluster) runErr(wf *wfv1.Workflow, timeout time.Duration) (*wfv1.Workflow, error) {
	timeout = c.bound(timeout)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	name, err := c.e.Submit(ctx, wf)
	if err != nil {
		return nil, err
	}
	ch, err := c.e.Watch(ctx, name)
	if err != nil {
		return nil, err
	}
	var last *wfv1.Workflow
	for w := range ch {
		last = w
	}
	if last == nil || !last.Status.Phase.Completed() {
		phase := wfv1.WorkflowPhase("none")
		if last != nil {
			phase = last.Status.Phase
		}
		pods := c.Pods(name)
		// A workflow left running would keep its pods on the node and slow
		// every case after it (on a loaded machine they then time out too).
		if err := c.e.wf.ArgoprojV1alpha1().Workflows(c.Name).Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
			pods += fmt.Sprintf("\n(deleting it: %v)", err)
		}
		return nil, fmt.Errorf("%s did not complete in %s (phase %s)\n%s", name, timeout, phase, pods)
	}
	return last, nil
}

// withPodEnv sets env on the main container of every container and script
// template (the launcher's environment), as a deployment would for its pods.
func withPodEnv(wf *wfv1.Workflow, env ...corev1.EnvVar) {
	for i := range wf.Spec.Templates {
		t := &wf.Spec.Templates[i]
		switch {
		case t.Container != nil:
			t.Container.Env = append(t.Container.Env, env...)
		case t.Script != nil:
			t.Script.Env = append(t.Script.Env, env...)
		}
	}
}

// readTree returns the objects under key in s: the object key itself, or
// the tree key/... by relative name.
func readTree(ctx context.Context, s artifact.Store, key string) (map[string]string, error) {
	objs, err := s.List(ctx, key)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, o := range objs {
		rel := strings.TrimPrefix(o.Key, key)
		if rel != "" && !strings.HasPrefix(rel, "/") {
			continue // key "a/b" lists "a/bc" too
		}
		rc, _, err := s.Get(ctx, o.Key)
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return nil, err
		}
		out[rel] = string(b)
	}
	return out, nil
}

// limit runs at most cap(l) parity cases at once: the node has 2 CPUs.
type limit chan struct{}

func (l limit) do(f func()) {
	l <- struct{}{}
	defer func() { <-l }()
	f()
}

// nodeSlots bounds how many of the package's workflows run on the real
// node at once: TestParity's cases take one each, every other test of
// newRealCluster one for its whole run (holdNodeSlot), together
// KUBELINE_E2E_PARITY_PARALLEL (parityParallel). With every test at once
// on top of TestParity's cases, pods sat PodInitializing for minutes and a
// three-pod workflow ran past its 5-minute bound (load 40-90 here); this
// many at once is what TestParity alone ran before, and the node's pods
// then started in about 11 s.
var (
	nodeSlotsOnce sync.Once
	nodeSlots     limit
)

func nodeLimit(t *testing.T) limit {
	t.Helper()
	nodeSlotsOnce.Do(func() { nodeSlots = make(limit, parityParallel(t)) })
	if nodeSlots == nil {
		t.Fatal("no real-node slots: see the first test's KUBELINE_E2E_PARITY_PARALLEL error")
	}
	return nodeSlots
}

// holdNodeSlot takes one of nodeSlots until t ends.
func holdNodeSlot(t *testing.T) {
	t.Helper()
	l := nodeLimit(t)
	l <- struct{}{}
	t.Cleanup(func() { <-l })
}
