package apiserver_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/spec"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/store"
	"github.com/kubeline/kubeline/runtime/versioning"
)

var (
	kfuzzOnce  sync.Once
	kfuzzURL   string
	kfuzzToken string
)

// kubelineFuzzServer starts one multi-user server per fuzz worker (an
// in-memory SQLite store, versions in a directory, the held engine) with
// an operator in every role, a user u0 and a group "g", and returns its
// /apis/kubeline/v1 URL. Nothing that starts processes is wired (local
// deployments, IDE probes): a fuzzed body must not run a command here.
func kubelineFuzzServer(t testing.TB) string {
	kfuzzOnce.Do(func() {
		ctx := context.Background()
		st, err := store.Open(ctx, ":memory:")
		if err != nil {
			t.Fatal(err)
		}
		if err := st.CreateGroup(ctx, &store.Group{Name: "g", Pool: "default"}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, &store.User{Name: "op", Roles: apiserver.Roles, Groups: []string{"g", store.DefaultGroup}}); err != nil {
			t.Fatal(err)
		}
		if err := st.CreateUser(ctx, &store.User{Name: "u0", Roles: []string{apiserver.RoleDataScientist}, Groups: []string{"g"}}); err != nil {
			t.Fatal(err)
		}
		token, hash := apiserver.NewToken()
		if err := st.AddToken(ctx, "op", hash); err != nil {
			t.Fatal(err)
		}
		// The server outlives each input's t: its directory is the
		// worker's (an empty directory is left in the temp dir).
		dir, err := os.MkdirTemp("", "kubeline-fuzz-")
		if err != nil {
			t.Fatal(err)
		}
		objects := artifact.Dir{Root: dir}
		compile := func(name string, data []byte, params, images map[string]string) (*wfv1.Workflow, error) {
			return compiler.Compile(name, data, compiler.Options{Params: params, Images: images, DeferImages: images == nil})
		}
		api := apiserver.New(ctx, st, heldEngine{}, compile, spec.Unpack, "fuzz").WithMultiUser(true).
			WithVersions(&versioning.Versioner{Objects: objects, Records: st})
		kfuzzURL, kfuzzToken = httptest.NewServer(api.Handler()).URL+"/apis/kubeline/v1", token
	})
	if kfuzzURL == "" {
		t.Fatal("no fuzz server")
	}
	return kfuzzURL
}

// FuzzKubelineBody fuzzes the body of kubeline's own routes that create or
// change something from a JSON or YAML body, as an operator of a
// multi-user server (so that every route decodes its body instead of
// answering 403).
func FuzzKubelineBody(f *testing.F) {
	f.Add(uint8(0), []byte(`{"name":"u1","roles":["ds"],"groups":["g"]}`))
	f.Add(uint8(1), []byte(`{"roles":["ml","pe"]}`))
	f.Add(uint8(2), []byte(`{"name":"g2","pool":"default"}`))
	f.Add(uint8(3), []byte(`{"pool":"default"}`))
	f.Add(uint8(4), []byte(`{"name":"p1","gpu_type":"a100","nodes":[{"name":"n1","gpus":2}]}`))
	f.Add(uint8(5), []byte(`{"nodes":[{"name":"n1","gpus":"1"}]}`))
	f.Add(uint8(6), []byte(`{"name":"proj","group":"g","metric":"acc","direction":"maximize"}`))
	f.Add(uint8(7), []byte(`{"name":"c1","kubeconfig":"/nonexistent","group":"g"}`))
	f.Add(uint8(8), []byte(`{"name":"img","image":"python:3.11","framework":"torch","gpu":true,"group":"g"}`))
	f.Add(uint8(9), []byte("apiVersion: kubeline.io/v1alpha1\nkind: FeatureSet\nmetadata: {name: fs}\nspec:\n  group: g\n  features: [{name: w, type: string}]\n"))
	f.Add(uint8(10), []byte("apiVersion: kubeline.io/v1alpha1\nkind: Monitor\nmetadata: {name: m}\nspec:\n  deployment: d\n  window: {requests: 10}\n  baseline: {dataset: ds@v1}\n  features: [{name: x, type: numeric}]\n  drift: [{metric: psi, tolerance: 0.2}]\n"))
	f.Add(uint8(9), []byte("a: &x [*x]\n"))
	routes := []struct{ method, path string }{
		{"POST", "/users"}, {"PATCH", "/users/u0"}, {"POST", "/groups"}, {"PATCH", "/groups/g"},
		{"POST", "/pools"}, {"PATCH", "/pools/default"}, {"POST", "/projects"}, {"POST", "/clusters"},
		{"POST", "/images"}, {"POST", "/featuresets"}, {"POST", "/monitors"},
	}
	f.Fuzz(func(t *testing.T, route uint8, body []byte) {
		base := kubelineFuzzServer(t)
		r := routes[int(route)%len(routes)]
		req, _ := http.NewRequest(r.method, base+r.path, bytes.NewReader(body))
		if len(body) > 0 && body[0] == '{' {
			req.Header.Set("Content-Type", "application/json")
		} else {
			req.Header.Set("Content-Type", "application/yaml")
		}
		req.Header.Set("Authorization", "Bearer "+kfuzzToken)
		res, err := http.DefaultClient.Do(req)
		check(t, res, err, fmt.Sprintf("%s %s %q", r.method, r.path, body))
	})
}
