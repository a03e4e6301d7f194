//go:build e2e

package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/kserve"
)

var crds = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// installKServeCRD creates the InferenceService kind in the e2e API server
// (testdata/kserve) and waits until it is served.
func installKServeCRD(t *testing.T, dc dynamic.Interface) {
	t.Helper()
	data, err := os.ReadFile("testdata/kserve/inferenceservices.crd.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	if err := yaml.Unmarshal(data, &obj); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	_, err = dc.Resource(crds).Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		got, err := dc.Resource(crds).Get(ctx, "inferenceservices.serving.kserve.io", metav1.GetOptions{})
		if err != nil {
			continue
		}
		conds, _, _ := unstructured.NestedSlice(got.Object, "status", "conditions")
		for _, c := range conds {
			if m := c.(map[string]any); m["type"] == "Established" && m["status"] == "True" {
				return
			}
		}
	}
	t.Fatal("the InferenceService CRD was not established in 30s")
}

// TestDeployAndImportAcrossClusters is issue 22's acceptance 4 on the e2e
// cluster: two registered clusters (dev and serving: two namespaces of the
// e2e API server, with KServe's InferenceService kind installed);
// `kubeline deploy FILE --cluster serving` creates the InferenceService in
// serving's namespace (with the model's s3:// storage URI) and not in
// dev's; an InferenceService someone else made in dev's namespace (its
// status set as KServe would, its URL a predictor process here) is
// imported with `kubeline deployments import`; `deployments list` shows
// both with their clusters; a prediction through kubeline reaches the
// imported service and a monitor evaluates it; stop deletes the applied
// service and only forgets the imported one.
func TestDeployAndImportAcrossClusters(t *testing.T) {
	kc := os.Getenv("KUBELINE_E2E_KUBECONFIG")
	if kc == "" {
		t.Fatal("KUBELINE_E2E_KUBECONFIG is not set: start the e2e environment with e2e/cluster.sh up (make e2e does)")
	}
	t.Setenv("KUBELINE_HOME", t.TempDir())
	t.Setenv("KUBELINE_TOKEN", "")
	cfg, _, err := argo.Config(kc, "", "")
	if err != nil {
		t.Fatal(err)
	}
	dc := dynamic.NewForConfigOrDie(cfg)
	installKServeCRD(t, dc)
	ctx := context.Background()
	ns := map[string]string{"dev": "kl-dev", "serving": "kl-serving"}
	for name, n := range ns {
		nsObj := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Namespace", "metadata": map[string]any{"name": n}}}
		if _, err := dc.Resource(schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}).Create(ctx, nsObj, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		if code, _, errOut := cli(t, "clusters", "add", name, "--kubeconfig", kc, "--namespace", n); code != 0 {
			t.Fatalf("clusters add %s: %s", name, errOut)
		}
	}
	gw := s3test.Start(t)
	arts := storeFlags{url: "minio://models", s3: artifact.S3Config{Endpoint: gw.Endpoint, AccessKey: gw.Access, SecretKey: gw.Secret, Region: gw.Region}}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- serveWith(sctx, l, "", arts, accessFlags{}, io.Discard) }()
	t.Cleanup(func() { cancel(); <-served })
	u := "http://" + l.Addr().String()
	srv := []string{"--server", u}
	c := &apiClient{server: u, http: http.DefaultClient}
	for i := 0; i < 200 && c.call("GET", "/apis/v2beta1/healthz", nil, nil) != nil; i++ {
		time.Sleep(20 * time.Millisecond)
	}
	up := uploadThrough(c, "POST", "/models/m/versions:upload", "weights 2\n")
	if up != nil {
		t.Fatal(up)
	}
	if code, _, errs := kl(append([]string{"models", "publish", "m@v1"}, srv...)...); code != 0 {
		t.Fatalf("publish: %s", errs)
	}

	// Deploy on the second cluster.
	dep := writeFile(t, "apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: m-remote}\nspec:\n  model: m@v1\n  target: kserve\n  predictor: {image: kserve/sklearnserver:v0.14.0, protocol: v1}\n")
	code, out, errs := kl(append([]string{"deploy", dep, "--cluster", "serving"}, srv...)...)
	if code != 0 || !strings.Contains(out, "InferenceService kl-serving/m-remote on cluster serving") {
		t.Fatalf("deploy --cluster serving: %d %s %s", code, out, errs)
	}
	isvcs := dc.Resource(kserve.InferenceServices)
	got, err := isvcs.Namespace(ns["serving"]).Get(ctx, "m-remote", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("the InferenceService is not on cluster serving: %v", err)
	}
	b, _ := yaml.Marshal(got.Object["spec"])
	if !strings.Contains(string(b), "value: s3://models/") || got.GetLabels()["kubeline.io/model-version"] != "1" {
		t.Fatalf("its spec:\n%s", b)
	}
	if _, err := isvcs.Namespace(ns["dev"]).Get(ctx, "m-remote", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("cluster dev has it too: %v", err)
	}

	// Someone else's InferenceService on dev, served by a predictor here.
	hits := 0
	pred := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		w.Write([]byte(`{"predictions":[4]}`))
	}))
	defer pred.Close()
	iris := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "serving.kserve.io/v1beta1", "kind": "InferenceService",
		"metadata": map[string]any{"name": "sklearn-iris", "namespace": ns["dev"]},
		"spec":     map[string]any{"predictor": map[string]any{"model": map[string]any{"modelFormat": map[string]any{"name": "sklearn"}}}}}}
	_ = isvcs.Namespace(ns["dev"]).Delete(ctx, "sklearn-iris", metav1.DeleteOptions{}) // a previous run's
	t.Cleanup(func() {
		_ = isvcs.Namespace(ns["dev"]).Delete(context.Background(), "sklearn-iris", metav1.DeleteOptions{})
	})
	created, err := isvcs.Namespace(ns["dev"]).Create(ctx, iris, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	created.Object["status"] = map[string]any{"url": pred.URL, "conditions": []any{map[string]any{"type": "Ready", "status": "True"}}}
	if _, err := isvcs.Namespace(ns["dev"]).UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	code, out, errs = kl(append([]string{"deployments", "import", "iris", "--cluster", "dev", "--inference-service", "sklearn-iris", "--model", "m@v1"}, srv...)...)
	if code != 0 || !strings.Contains(out, "deployment iris imported: InferenceService kl-dev/sklearn-iris on cluster dev (Ready)") {
		t.Fatalf("import: %d %s %s", code, out, errs)
	}
	_, out, _ = kl(append([]string{"deployments", "list"}, srv...)...)
	for _, want := range []string{"iris Ready m@v1 - false dev (imported)", "m-remote NoURL m@v1 - false serving"} {
		if !strings.Contains(out, want) {
			t.Errorf("deployments list lacks %q:\n%s", want, out)
		}
	}

	// Monitoring works on the imported deployment: routed through kubeline.
	mon := writeFile(t, "apiVersion: kubeline.io/v1alpha1\nkind: Monitor\nmetadata: {name: iris-watch}\nspec:\n  deployment: iris\n  window: {requests: 2}\n  baseline: {traffic: {windows: 1}}\n  features: [{name: x, type: numeric}]\n  errorRate: {goal: 0, tolerance: 0.5}\n")
	if code, _, errs := kl(append([]string{"monitors", "create", mon}, srv...)...); code != 0 {
		t.Fatalf("monitor: %s", errs)
	}
	for i := 0; i < 4; i++ {
		if code, out, errs := kl(append([]string{"predict", "iris", "-d", fmt.Sprintf(`{"instances":[%d]}`, i)}, srv...)...); code != 0 || !strings.Contains(out, `"predictions":[4]`) {
			t.Fatalf("predict through kubeline: %s %s", out, errs)
		}
	}
	if hits != 4 {
		t.Fatalf("the imported service got %d requests, want 4", hits)
	}
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		_, out, _ = kl(append([]string{"monitors", "status", "iris-watch"}, srv...)...)
		if strings.Contains(out, "2 windows of 2 requests") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the monitor of the imported deployment:\n%s", out)
		}
	}

	// Stop: the applied service is deleted, the imported one only forgotten.
	for _, name := range []string{"m-remote", "iris"} {
		if code, _, errs := kl(append([]string{"deployments", "stop", name}, srv...)...); code != 0 {
			t.Fatalf("stop %s: %s", name, errs)
		}
	}
	if _, err := isvcs.Namespace(ns["serving"]).Get(ctx, "m-remote", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("m-remote is still on cluster serving: %v", err)
	}
	if _, err := isvcs.Namespace(ns["dev"]).Get(ctx, "sklearn-iris", metav1.GetOptions{}); err != nil {
		t.Errorf("the imported service was deleted: %v", err)
	}
}

// uploadThrough uploads content as a new version through the API (multipart).
func uploadThrough(c *apiClient, method, path, content string) error {
	var body strings.Builder
	body.WriteString("--b\r\nContent-Disposition: form-data; name=\"uploadfile\"; filename=\"model\"\r\nContent-Type: application/octet-stream\r\n\r\n")
	body.WriteString(content)
	body.WriteString("\r\n--b--\r\n")
	req, _ := http.NewRequest(method, c.server+"/apis/kubeline/v1"+path, strings.NewReader(body.String()))
	req.Header.Set("Content-Type", "multipart/form-data; boundary=b")
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		return fmt.Errorf("%s %s: %s %s", method, path, res.Status, b)
	}
	return nil
}
