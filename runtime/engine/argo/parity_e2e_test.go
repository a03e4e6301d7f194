//go:build e2e

package argo

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/lineage"
)

// node is what parity compares of a status node: its place in the graph,
// its phase, and what it produced: output parameters, a script's result,
// and the content of its output artifacts as read back from S3.
type node struct {
	Type, Phase, Boundary string
	Children              []string
	Params                map[string]string            `json:",omitempty"`
	Result                *string                      `json:",omitempty"`
	Artifacts             map[string]map[string]string `json:",omitempty"` // artifact -> object (relative to its key) -> content
}

// graph is wf's status nodes by name with their outputs; an artifact's
// content is read from s (nil: not read), and replace rewrites values that name the run's
// own bucket.
func graph(ctx context.Context, wf *wfv1.Workflow, s artifact.Store, replace *strings.Replacer) (map[string]node, error) {
	names := map[string]string{}
	for id, n := range wf.Status.Nodes {
		names[id] = n.Name
	}
	out := map[string]node{}
	for _, n := range wf.Status.Nodes {
		g := node{Type: string(n.Type), Phase: string(n.Phase), Boundary: names[n.BoundaryID]}
		for _, c := range n.Children {
			g.Children = append(g.Children, names[c])
		}
		sort.Strings(g.Children)
		if o := n.Outputs; o != nil && n.Type == wfv1.NodeTypePod {
			for _, p := range o.Parameters {
				if p.Value != nil {
					if g.Params == nil {
						g.Params = map[string]string{}
					}
					g.Params[p.Name] = replace.Replace(p.Value.String())
				}
			}
			if o.Result != nil {
				r := replace.Replace(*o.Result)
				g.Result = &r
			}
			for _, a := range o.Artifacts {
				if s == nil || a.S3 == nil || a.S3.Key == "" {
					continue
				}
				tree, err := readTree(ctx, s, a.S3.Key)
				if err != nil {
					return nil, fmt.Errorf("node %s: artifact %s at %s: %w", n.Name, a.Name, a.S3.Key, err)
				}
				for k, v := range tree {
					tree[k] = replace.Replace(v)
				}
				if g.Artifacts == nil {
					g.Artifacts = map[string]map[string]string{}
				}
				g.Artifacts[a.Name] = tree
			}
		}
		out[n.Name] = g
	}
	return out, nil
}

// parityCase is one pipeline of testdata/parity.yaml.
type parityCase struct {
	Name   string            `json:"name"`
	File   string            `json:"file"`
	Params map[string]string `json:"params"`
	Shell  string            `json:"shell"`
	// Differs says why this pipeline does not run alike on a real cluster
	// (a known difference, not yet fixed): the case then fails if the two
	// runs come out the same, so that the note goes when the cause does.
	Differs string `json:"differs"`
	// CI: one of the Python cases KUBELINE_E2E_PARITY_PYTHON=ci runs.
	CI bool `json:"ci"`
	// Unschedulable: the step asks more than the e2e node has; its pod's
	// resources are checked instead of a run on Argo.
	Unschedulable *unschedulable `json:"unschedulable"`
}

func parityCases(t *testing.T) map[string][]parityCase {
	t.Helper()
	b, err := os.ReadFile("testdata/parity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var groups map[string][]parityCase
	if err := yaml.UnmarshalStrict(b, &groups); err != nil {
		t.Fatal(err)
	}
	for g, cs := range groups {
		for i := range cs {
			cs[i].File = strings.Replace(cs[i].File, "CORPUS/", "../../../../shared/kfp-corpus/ir/", 1)
			if cs[i].Name == "" {
				cs[i].Name = strings.TrimSuffix(filepath.Base(cs[i].File), ".yaml")
				if strings.HasSuffix(cs[i].File, "/pipeline.yaml") {
					cs[i].Name = filepath.Base(filepath.Dir(cs[i].File))
				}
			}
		}
		groups[g] = cs
	}
	return groups
}

// seedPython makes Python's random module draw the same numbers in every
// step on both engines (a sitecustomize on PYTHONPATH), so that pipelines
// that flip coins take the same branches. Seeded again in a forked child:
// the embedded engine's builtin executor forks each step from a Python
// zygote, and CPython's random reseeds itself from the OS in a fork's
// child, so a seed at start-up alone held in a pod but not on the host
// (pipeline_with_loops_and_conditions' condition-4, nested conditions and
// metrics outputs then differed by the flip of a coin).
const seedPython = "import os, random\nrandom.seed(20261128)\nos.register_at_fork(after_in_child=lambda: random.seed(20261128))\n"

// paritySecrets are the Kubernetes Secrets of TestParity's namespace, by
// name and key.
var paritySecrets = map[string]map[string]string{"test-secret-1": {"username": "parity-user"}}

// secretValue is paritySecrets as the embedded engine's Options.Secrets.
func secretValue(name, key string) (string, bool) {
	v, ok := paritySecrets[name][key]
	return v, ok
}

// TestParity runs each pipeline of testdata/parity.yaml on the embedded
// engine (real host processes) and on the real node through the real Argo
// controller (pods: kubeline's init container, `kubeline launch` under
// Argo's emissary, Argo's wait container reporting the outputs and
// uploading the artifacts to versitygw), then compares node for node the
// status graphs, the output parameters and results, the artifacts' content
// read back from each run's bucket, and the lineage of both runs.
//
// It runs beside the package's other real-node tests (t.Parallel: each has
// a namespace and S3 server of its own), so it changes no process-wide
// state: the embedded engine gets its environment through local.Options.Env.
func TestParity(t *testing.T) {
	t.Parallel()
	c := newRealCluster(t, "parity")
	ctx := context.Background()
	// Python seeded on both engines: for the pods a ConfigMap mounted on
	// PYTHONPATH, for the host a directory.
	pyDir := t.TempDir()
	if err := os.WriteFile(filepath.Join(pyDir, "sitecustomize.py"), []byte(seedPython), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "PYTHONPATH="+pyDir)
	if _, err := c.Kube.CoreV1().ConfigMaps(c.Name).Create(ctx, &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: "parity-python"},
		Data:       map[string]string{"sitecustomize.py": seedPython},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The Secrets corpus pipelines read (use_secret_as_env: test-secret-1's
	// username), in the namespace for the pods and as the embedded engine's
	// Options.Secrets: the step's value is compared like any other.
	for name, data := range paritySecrets {
		if _, err := c.Kube.CoreV1().Secrets(c.Name).Create(ctx, &corev1.Secret{
			ObjectMeta: metav1.ObjectMeta{Name: name}, StringData: data,
		}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	groups := parityCases(t)
	lim := nodeLimit(t)
	var mu sync.Mutex
	compared := map[string]int{}
	t.Cleanup(func() { t.Logf("nodes compared: %v", compared) })
	// The groups run at once, their cases sharing the real node's slots
	// with the package's other tests: a group's slowest case does not hold
	// back the next group's. The Python group, whose cases take longest, is
	// started first.
	for _, g := range []string{"python", "corpus", "local", "examples"} {
		t.Run(g, func(t *testing.T) {
			t.Parallel()
			for i, pc := range groups[g] {
				if g == "python" && !pc.CI && pythonSubset(t) {
					continue
				}
				t.Run(pc.Name, func(t *testing.T) {
					t.Parallel()
					env := env
					if pc.Shell == "bash" {
						// The launcher finds a step's command on its
						// environment's PATH: sh is bash there.
						env = append(env[:len(env):len(env)], "PATH="+bashAsSh(t)+string(os.PathListSeparator)+os.Getenv("PATH"))
					}
					lim.do(func() {
						n := paritySide(t, c, pc, fmt.Sprintf("p%d-%s", i, g[:2]), env)
						mu.Lock()
						compared[g] += n
						mu.Unlock()
					})
				})
			}
		})
	}
}

// paritySide runs one case on both engines and compares; it returns the
// number of nodes compared.
func paritySide(t *testing.T, c *realCluster, pc parityCase, prefix string, env []string) int {
	data, err := os.ReadFile(pc.File)
	if err != nil {
		t.Fatal(err)
	}
	wf, err := compiler.Compile(filepath.Base(pc.File), data, compiler.Options{Params: pc.Params})
	if err != nil {
		t.Fatal(err)
	}
	// The pipeline's own name first, as KFP names a run (a corpus
	// component checks that its job's resource name starts with it).
	wf.Name, wf.GenerateName = dnsName(pc.Name+"-"+prefix, time.Now().UnixNano()%1e6), ""
	ctx := context.Background()
	if u := pc.Unschedulable; u != nil {
		if _, err := local.New(local.Options{Home: t.TempDir(), PythonExecutor: launcher.PythonBuiltin, Store: c.localStore, Secrets: secretValue, Env: env}).Run(ctx, wf.DeepCopy()); err != nil {
			t.Fatalf("embedded engine: %v", err)
		}
		onArgo := wf.DeepCopy()
		withPodEnv(onArgo, corev1.EnvVar{Name: "KUBELINE_PYTHON_EXECUTOR", Value: launcher.PythonBuiltin},
			corev1.EnvVar{Name: "PYTHONPATH", Value: "/kubeline/python"})
		withPythonSeed(onArgo)
		c.checkUnschedulable(t, onArgo, u)
		return 0
	}
	// Both engines at once: the embedded run is host processes, the Argo
	// run mostly waits for pods, and a case takes the longer of the two.
	var (
		want, got      *wfv1.Workflow
		errLocal       error
		tLocal         time.Duration
		embeddedFinish = make(chan struct{})
	)
	home := t.TempDir()
	go func() {
		defer close(embeddedFinish)
		t0 := time.Now()
		want, errLocal = local.New(local.Options{Home: home, PythonExecutor: launcher.PythonBuiltin, Store: c.localStore, Secrets: secretValue, Env: env}).Run(ctx, wf.DeepCopy())
		tLocal = time.Since(t0)
	}()
	onArgo := wf.DeepCopy()
	withPodEnv(onArgo, corev1.EnvVar{Name: "KUBELINE_PYTHON_EXECUTOR", Value: launcher.PythonBuiltin},
		corev1.EnvVar{Name: "PYTHONPATH", Value: "/kubeline/python"})
	withPythonSeed(onArgo)
	// A succeeded pod goes at once (its outputs are in the workflow's status
	// and S3): the kubelet and containerd then list a few pods' containers
	// every second instead of every case's so far. Failed pods stay for
	// the failure's message (c.Pods).
	onArgo.Spec.PodGC = &wfv1.PodGC{Strategy: wfv1.PodGCOnPodSuccess}
	t0 := time.Now()
	got, errArgo := c.runErr(onArgo, parityBound(t))
	tArgo := time.Since(t0)
	<-embeddedFinish
	if errLocal != nil {
		t.Fatalf("embedded engine: %v", errLocal)
	}
	if errArgo != nil {
		t.Fatal(errArgo)
	}

	if pc.Differs != "" {
		wantG, _ := graph(ctx, want, nil, strings.NewReplacer())
		gotG, _ := graph(ctx, got, nil, strings.NewReplacer())
		if want.Status.Phase == got.Status.Phase && cmp.Equal(wantG, gotG) {
			t.Errorf("%s now runs alike on both engines (%s): remove its differs note from testdata/parity.yaml", pc.Name, want.Status.Phase)
		}
		t.Logf("KNOWN DIFFERENCE (not parity): embedded %s, argo %s %q: %s\nargo's nodes not Succeeded: %v", want.Status.Phase, got.Status.Phase, got.Status.Message, pc.Differs, unsucceeded(got))
		return 0
	}
	// What differs by where a run is and not by what it did: the embedded
	// run's KFP workspace is a directory of its own (a pod's is
	// /kfp-workspace) and its workflow another object (its uid).
	local := strings.NewReplacer(filepath.Join(home, "runs", wf.Name, "workspace"), "/kfp-workspace", string(want.UID), string(got.UID))
	// A step's own input and output directories: the embedded engine's
	// under the run's directory, a pod's /kubeline/in and /kubeline/out (a
	// component may return an artifact's path as a value).
	stepDirs := regexp.MustCompile(regexp.QuoteMeta(filepath.Join(home, "runs", wf.Name)) + `/[^/]+/(in|out)\b`)
	rewriteParams(want, func(v string) string { return stepDirs.ReplaceAllString(local.Replace(v), "/kubeline/$1") })
	compareRuns(t, c, want, got)
	lw := lineage.Build([]lineage.Run{{ID: "r", Workflow: want}}, nil)
	la := lineage.Build([]lineage.Run{{ID: "r", Workflow: got}}, nil)
	// The embedded run's artifacts are in its own bucket: its descriptors
	// name it where the pods' name theirs.
	bucket := strings.NewReplacer("minio://"+localBucket+"/", "minio://"+argoBucket+"/")
	for i := range lw.Nodes {
		for k, v := range lw.Nodes[i].Params {
			lw.Nodes[i].Params[k] = stepDirs.ReplaceAllString(local.Replace(bucket.Replace(v)), "/kubeline/$1")
		}
	}
	if d := cmp.Diff(lw, la); d != "" {
		t.Errorf("lineage differs (-embedded +argo):\n%s", d)
	}
	t.Logf("%d nodes, phase %s; embedded %s, argo %s", len(want.Status.Nodes), want.Status.Phase,
		tLocal.Round(time.Millisecond), tArgo.Round(time.Second))
	return len(want.Status.Nodes)
}

// rewriteParams applies r to the input and output parameter values of
// every node of w.
func rewriteParams(w *wfv1.Workflow, r func(string) string) {
	for id, n := range w.Status.Nodes {
		for _, io := range []*[]wfv1.Parameter{inputParams(&n), outputParams(&n)} {
			for i := range *io {
				if v := (*io)[i].Value; v != nil {
					(*io)[i].Value = wfv1.AnyStringPtr(r(v.String()))
				}
			}
		}
		w.Status.Nodes[id] = n
	}
}

func inputParams(n *wfv1.NodeStatus) *[]wfv1.Parameter {
	if n.Inputs == nil {
		return &[]wfv1.Parameter{}
	}
	return &n.Inputs.Parameters
}

func outputParams(n *wfv1.NodeStatus) *[]wfv1.Parameter {
	if n.Outputs == nil {
		return &[]wfv1.Parameter{}
	}
	return &n.Outputs.Parameters
}

// unsucceeded is each node of w that did not succeed, with its message.
func unsucceeded(w *wfv1.Workflow) []string {
	var out []string
	for _, n := range w.Status.Nodes {
		if n.Phase != wfv1.NodeSucceeded {
			out = append(out, fmt.Sprintf("%s (%s %s): %q", n.Name, n.Type, n.Phase, n.Message))
		}
	}
	sort.Strings(out)
	return out
}

// parityParallel is how many parity cases run at once:
// $KUBELINE_E2E_PARITY_PARALLEL, else 8. Each case's pods mostly wait
// (on the controller, on pod start-up), so the node takes several cases'
// pods at once although it has 2 CPUs. go test's -parallel (GOMAXPROCS by
// default: 2 here) caps it too, so a lower -parallel is reported: e2e/run.sh
// passes -parallel with the same number.
func parityParallel(t *testing.T) int {
	n := 8
	if v := os.Getenv("KUBELINE_E2E_PARITY_PARALLEL"); v != "" {
		var err error
		if n, err = strconv.Atoi(v); err != nil || n < 1 {
			t.Fatalf("KUBELINE_E2E_PARITY_PARALLEL=%q: want a positive number", v)
		}
	}
	if f := flag.Lookup("test.parallel"); f != nil {
		if p, err := strconv.Atoi(f.Value.String()); err == nil && p < n {
			t.Logf("WARNING: go test -parallel %d caps the %d parity cases meant to run at once: pass -parallel %d", p, n, n)
			n = p
		}
	}
	return n
}

// parityBound is how long a case may run on Argo before boundScale:
// $KUBELINE_E2E_PARITY_TIMEOUT (a Go duration), else 6 minutes. On a loaded
// machine (load average 60-75 here, the cluster getting 0.4 CPU) the
// corpus's larger cases take longer than that.
func parityBound(t *testing.T) time.Duration {
	v := os.Getenv("KUBELINE_E2E_PARITY_TIMEOUT")
	if v == "" {
		return 6 * time.Minute
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		t.Fatalf("KUBELINE_E2E_PARITY_TIMEOUT=%q: want a positive duration", v)
	}
	return d
}

// pythonSubset says whether only the Python cases marked ci run:
// $KUBELINE_E2E_PARITY_PYTHON "ci" (.ci/run), else all ("" or "all").
func pythonSubset(t *testing.T) bool {
	switch v := os.Getenv("KUBELINE_E2E_PARITY_PYTHON"); v {
	case "", "all":
		return false
	case "ci":
		return true
	default:
		t.Fatalf("KUBELINE_E2E_PARITY_PYTHON=%q: want all or ci", v)
		return false
	}
}

// bashAsSh is a directory whose sh is bash, for PATH.
func bashAsSh(t *testing.T) string {
	t.Helper()
	bash, err := exec.LookPath("bash")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := os.Symlink(bash, filepath.Join(dir, "sh")); err != nil {
		t.Fatal(err)
	}
	return dir
}

// withPythonSeed mounts the parity-python ConfigMap at /kubeline/python in
// every container template.
func withPythonSeed(wf *wfv1.Workflow) {
	wf.Spec.Volumes = append(wf.Spec.Volumes, corev1.Volume{Name: "parity-python", VolumeSource: corev1.VolumeSource{
		ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "parity-python"}}}})
	m := corev1.VolumeMount{Name: "parity-python", MountPath: "/kubeline/python", ReadOnly: true}
	for i := range wf.Spec.Templates {
		if ctr := wf.Spec.Templates[i].Container; ctr != nil {
			ctr.VolumeMounts = append(ctr.VolumeMounts, m)
		}
	}
}

// dnsName is base cut to fit a workflow name (with room for Argo's pod
// name suffixes) and made unique with n.
func dnsName(base string, n int64) string {
	base = strings.ToLower(strings.NewReplacer("_", "-", ".", "-").Replace(base))
	if len(base) > 40 {
		base = base[:40]
	}
	return strings.TrimRight(base, "-") + fmt.Sprintf("-%d", n)
}
