package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine"
	"github.com/kubeline/kubeline/runtime/engine/local"
	"github.com/kubeline/kubeline/runtime/hpo"
	"github.com/kubeline/kubeline/runtime/launcher"
	"github.com/kubeline/kubeline/runtime/sandbox"
	"github.com/kubeline/kubeline/runtime/serving"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

// kserver is a server on a real loopback listener over SQLite and the
// embedded engine, with its store at hand to make users.
type kserver struct {
	root string // http://127.0.0.1:PORT
	st   *store.Store
	api  *apiserver.Server
	home string // the engine's home: runs, artifacts, the store k.db
}

func (k *kserver) kfp() string { return k.root + "/apis/v2beta1" }
func (k *kserver) kl() string  { return k.root + "/apis/kubeline/v1" }

func newKubeline(t *testing.T, multiUser bool, cluster []admission.ClusterNode) *kserver {
	t.Helper()
	return startKubeline(t, serverOptions{multiUser: multiUser, cluster: cluster})
}

// serverOptions vary the test server: multi-user mode and the cluster's
// GPUs, the artifact store (the local directory when nil), and a hook run
// before serving (to start the scheduler).
type serverOptions struct {
	multiUser bool
	cluster   []admission.ClusterNode
	objects   artifact.Store
	with      func(*apiserver.Server, context.Context)
	// engine runs the workflows; the embedded engine when nil.
	engine engine.Engine
	// sandboxed runs steps and deployments as a multi-user server's
	// embedded engine does (runtime/sandbox), with importers confined to
	// importRoot.
	sandboxed  bool
	importRoot string
}

// startKubeline starts the API on a real loopback listener over SQLite, the
// embedded engine, versions and local deployments, until the test ends.
func startKubeline(t testing.TB, o serverOptions) *kserver {
	t.Helper()
	home := t.TempDir()
	db := filepath.Join(home, "k.db")
	st, err := store.Open(context.Background(), db)
	if err != nil {
		t.Fatal(err)
	}
	objects := o.objects
	if objects == nil {
		objects = artifact.Dir{Root: filepath.Join(home, "artifacts")}
	}
	ctx, cancel := context.WithCancel(context.Background())
	lo := local.Options{Home: home, Store: objects, PythonExecutor: launcher.PythonBuiltin, Protected: []string{db, db + "-wal", db + "-shm"}}
	deployments := serving.NewManager()
	if o.sandboxed {
		sb, err := sandbox.New(sandbox.Options{})
		if err != nil {
			t.Fatal(err)
		}
		lo.Sandbox, lo.Confined, lo.ImportRoot, deployments.Sandbox = sb, true, o.importRoot, sb
	}
	var runner engine.Engine = local.NewRunner(lo)
	if o.engine != nil {
		runner = o.engine
	}
	compile := func(name string, data []byte, params, images map[string]string) (*wfv1.Workflow, error) {
		return compiler.Compile(name, data, compiler.Options{Params: params, ParamsField: apiserver.ParamsField, NoFiles: true, Images: images, DeferImages: images == nil})
	}
	versioner := &versioning.Versioner{Objects: objects, Records: st}
	api := apiserver.New(ctx, st, runner, compile, spec.Unpack, "test").WithMultiUser(o.multiUser).WithCluster(o.cluster, 0).
		WithVersions(versioner).WithServing(deployments, versioner, filepath.Join(home, "deployments")).WithMetadata(objects.URI).
		WithClusters(checkKubeconfig).
		WithExperimentRecords(func(ctx context.Context, uid string) ([]hpo.Record, hpo.Status, error) {
			return launcher.ReadExperiment(ctx, objects, uid)
		})
	if d, ok := objects.(artifact.Dir); ok {
		api.WithArtifacts(d.Read)
	}
	stopMonitoring := monitored(ctx, api, deployments, st, objects)
	if o.with != nil {
		o.with(api, ctx)
	}
	srv := httptest.NewServer(api.Handler())
	t.Cleanup(func() {
		srv.Close()
		stopMonitoring()
		deployments.StopAll()
		cancel()
		api.Wait()
		st.Close()
	})
	return &kserver{root: srv.URL, st: st, api: api, home: home}
}

// user makes a user in the store and returns a token of theirs.
func (k *kserver) user(t testing.TB, name string, roles, groups []string) string {
	t.Helper()
	if err := k.st.CreateUser(context.Background(), &store.User{Name: name, Roles: roles, Groups: groups}); err != nil {
		t.Fatal(err)
	}
	token, hash := apiserver.NewToken()
	if err := k.st.AddToken(context.Background(), name, hash); err != nil {
		t.Fatal(err)
	}
	return token
}

// do sends a JSON request with an optional bearer token.
func do(t testing.TB, method, u, token string, body any) resp {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, u, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// gpuSpec is a one-step pipeline whose step needs gpus GPUs and sleeps.
func gpuSpec(t testing.TB, gpus int, sleep string) map[string]any {
	t.Helper()
	acc := ""
	if gpus > 0 {
		acc = fmt.Sprintf(", resources: {accelerator: {resourceType: nvidia.com/gpu, resourceCount: '%d'}}", gpus)
	}
	spec := map[string]any{}
	if err := yamlToJSON([]byte(`components:
  comp-train: {executorLabel: exec-train}
deploymentSpec:
  executors:
    exec-train:
      container: {image: alpine, command: [sh, -c, 'sleep `+sleep+`']`+acc+`}
pipelineInfo: {name: train}
root:
  dag:
    tasks:
      train: {componentRef: {name: comp-train}, taskInfo: {name: train}}
schemaVersion: 2.1.0
`), &spec); err != nil {
		t.Fatal(err)
	}
	return spec
}

// waitStatus polls kubeline's view of a run until its status is one of want.
func waitStatus(t testing.TB, k *kserver, token, id string, want ...string) map[string]any {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	var last resp
	for time.Now().Before(deadline) {
		last = do(t, "GET", k.kl()+"/runs/"+id, token, nil)
		for _, w := range want {
			if last.body["status"] == w {
				return last.body
			}
		}
		time.Sleep(30 * time.Millisecond)
	}
	t.Fatalf("run %s never became %v: %s", id, want, last.raw)
	return nil
}

func kfpStates(run map[string]any) string {
	var states []string
	for _, h := range run["state_history"].([]any) {
		states = append(states, h.(map[string]any)["state"].(string))
	}
	return strings.Join(states, ",")
}

// TestAdmissionOverHTTP: one node with 2 t4 GPUs. A 2-GPU run holds them;
// the next waits Queued saying why; a 4-GPU run can never fit on the node
// and says so; start_anyway (body field, query parameter and action) starts
// runs at once; a queued run stops at once; stopping the running run returns
// its GPUs and the queued run starts and completes.
func TestAdmissionOverHTTP(t *testing.T) {
	k := newKubeline(t, false, []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 2}})
	create := func(name string, gpus int, sleep, query string, extra map[string]any) string {
		body := map[string]any{"display_name": name, "pipeline_spec": gpuSpec(t, gpus, sleep)}
		for k, v := range extra {
			body[k] = v
		}
		r := do(t, "POST", k.kfp()+"/runs"+query, "", body)
		if r.code != 200 {
			t.Fatalf("create %s: %d %s", name, r.code, r.raw)
		}
		return r.body["run_id"].(string)
	}
	holder := create("holder", 2, "30", "", nil)
	got := waitStatus(t, k, "", holder, "Starting", "Running")
	if diff := cmp.Diff(map[string]any{"n1": 2.0}, got["allocation"]); diff != "" || got["pool"] != "default" || got["gpus"] != 2.0 {
		t.Fatalf("holder's allocation (-want +got)\n%s\n%v", diff, got)
	}
	waiter := create("waiter", 2, "0.1", "", nil)
	big := create("big", 4, "0.1", "", nil)
	cases := []struct{ run, status, state, reason string }{
		{waiter, "Queued", "PENDING", "needs 2 × t4 on one node; pool default has at most 0 free on a node (0 in all)"},
		{big, "Queued", "PENDING", "needs 4 × t4 on one node; pool default has at most 0 free on a node (0 in all)"},
	}
	for _, c := range cases {
		got := do(t, "GET", k.kl()+"/runs/"+c.run, "", nil).body
		kfp := do(t, "GET", k.kfp()+"/runs/"+c.run, "", nil).body
		if got["status"] != c.status || got["reason"] != c.reason || kfp["state"] != c.state {
			t.Errorf("run %s: status %v reason %q, KFP state %v; want %s %q %s", c.run, got["status"], got["reason"], kfp["state"], c.status, c.reason, c.state)
		}
	}
	// start_anyway: in the body, as a query parameter, and as an action on a queued run.
	now1 := create("now-body", 2, "0.1", "", map[string]any{"start_anyway": true})
	now2 := create("now-query", 2, "0.1", "?start_anyway=true", nil)
	if r := do(t, "POST", k.kfp()+"/runs?start_anyway=maybe", "", map[string]any{"display_name": "x", "pipeline_spec": gpuSpec(t, 1, "0")}); r.code != 400 || !strings.Contains(r.raw, "start_anyway") {
		t.Fatalf("bad start_anyway: %d %s", r.code, r.raw)
	}
	if r := do(t, "POST", k.kl()+"/runs/"+big+":start_anyway", "", nil); r.code != 200 || r.body["start_anyway"] != true {
		t.Fatalf("start_anyway action: %d %s", r.code, r.raw)
	}
	for _, id := range []string{now1, now2, big} {
		if got := waitStatus(t, k, "", id, "Complete"); got["allocation"] != nil {
			t.Fatalf("a start_anyway run holds GPUs: %v", got)
		}
	}
	if r := do(t, "POST", k.kl()+"/runs/"+big+":start_anyway", "", nil); r.code != 409 {
		t.Fatalf("start_anyway on a complete run: %d %s", r.code, r.raw)
	}
	// A queued run stops at once.
	doomed := create("doomed", 2, "0.1", "", nil)
	if r := do(t, "POST", k.kfp()+"/runs/"+doomed+":terminate", "", nil); r.code != 200 {
		t.Fatalf("terminate queued: %d %s", r.code, r.raw)
	}
	if got := waitStatus(t, k, "", doomed, "Stopped"); got["state"] != "CANCELED" {
		t.Fatalf("stopped queued run: %v", got)
	}
	// Deleting or archiving a waiting or running run is refused.
	for _, u := range []string{k.kfp() + "/runs/" + waiter + ":archive"} {
		if r := do(t, "POST", u, "", nil); r.code != 409 || !strings.Contains(r.raw, "Queued") {
			t.Fatalf("archive a queued run: %d %s", r.code, r.raw)
		}
	}
	if r := do(t, "DELETE", k.kfp()+"/runs/"+holder, "", nil); r.code != 409 {
		t.Fatalf("delete a running run: %d %s", r.code, r.raw)
	}
	// Stopping the holder returns its GPUs: the waiter starts and completes.
	if r := do(t, "POST", k.kfp()+"/runs/"+holder+":terminate", "", nil); r.code != 200 {
		t.Fatalf("terminate: %d %s", r.code, r.raw)
	}
	waitStatus(t, k, "", holder, "Stopped")
	waitStatus(t, k, "", waiter, "Complete")
	if s := kfpStates(do(t, "GET", k.kfp()+"/runs/"+waiter, "", nil).body); s != "PENDING,RUNNING,SUCCEEDED" {
		t.Fatalf("waiter's KFP states %s", s)
	}
	if s := kfpStates(do(t, "GET", k.kfp()+"/runs/"+holder, "", nil).body); s != "PENDING,RUNNING,CANCELING,CANCELED" {
		t.Fatalf("holder's KFP states %s", s)
	}
	pool := do(t, "GET", k.kl()+"/pools/default", "", nil).body
	if pool["used_gpus"] != 0.0 || pool["free_gpus"] != 2.0 || pool["queued_runs"] != 0.0 {
		t.Fatalf("pool after the runs: %v", pool)
	}
	if r := do(t, "DELETE", k.kfp()+"/runs/"+holder, "", nil); r.code != 200 {
		t.Fatalf("delete a stopped run: %d %s", r.code, r.raw)
	}
}
