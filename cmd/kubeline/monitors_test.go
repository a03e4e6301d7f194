package main

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMonitorsCLI: kubeline monitors create (a bad document's every error
// at its path), status after a window of predictions, list, get, delete;
// deploy --cluster and deployments import refuse what cannot work with a
// clear error.
func TestMonitorsCLI(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	t.Setenv("KUBELINE_TOKEN", "")
	u, _, _ := startServer(t, accessFlags{})
	srv := []string{"--server", u}
	var csv strings.Builder
	csv.WriteString("x\n")
	for i := 0; i < 100; i++ {
		fmt.Fprintf(&csv, "%d\n", i%10)
	}
	if code, out, errs := kl("datasets", "create", "d", "--from", writeFile(t, csv.String())); code != 0 {
		t.Fatalf("dataset: %s %s", out, errs)
	}
	if code, out, errs := kl("models", "create", "m", "--from", writeFile(t, "weights 2\n")); code != 0 {
		t.Fatalf("model: %s %s", out, errs)
	}
	if code, _, errs := kl(append([]string{"models", "publish", "m@v1"}, srv...)...); code != 0 {
		t.Fatalf("publish: %s", errs)
	}
	predictor, _ := filepath.Abs("../../examples/serve-model/predictor.py")
	dep := writeFile(t, fmt.Sprintf("apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: m-serve}\nspec:\n  model: m@v1\n  predictor: {command: [python3, %s]}\n", predictor))
	if code, out, errs := kl(append([]string{"deploy", dep}, srv...)...); code != 0 || !strings.Contains(out, "deployment m-serve Ready") {
		t.Fatalf("deploy: %s %s", out, errs)
	}
	bad := writeFile(t, "apiVersion: kubeline.io/v1alpha1\nkind: Monitor\nmetadata: {name: m-watch}\nspec:\n  deployment: m-serve\n  window: {requests: 0}\n  baseline: {}\n  features: [{name: x, type: number}]\n  drift: [{metric: psi, tolerance: 0.2}]\n")
	code, _, errs := kl(append([]string{"monitors", "create", bad}, srv...)...)
	for _, want := range []string{"spec.window.requests: want 1..100000", "spec.baseline: want exactly one of", "spec.features[0].type: want numeric or categorical"} {
		if code == 0 || !strings.Contains(errs, want) {
			t.Errorf("a bad monitor: exit %d, stderr lacks %q:\n%s", code, want, errs)
		}
	}
	good := writeFile(t, "apiVersion: kubeline.io/v1alpha1\nkind: Monitor\nmetadata: {name: m-watch}\nspec:\n  deployment: m-serve\n  window: {requests: 20}\n  baseline: {dataset: d@v1}\n  features: [{name: x, type: numeric}]\n  predictions: [{name: y, type: numeric}]\n  drift: [{metric: psi, tolerance: 0.2, features: [x]}, {metric: ks, tolerance: 0.2, features: [x]}]\n  errorRate: {goal: 0, tolerance: 0.1}\n")
	if code, out, errs := kl(append([]string{"monitors", "create", good}, srv...)...); code != 0 || !strings.Contains(out, "monitor m-watch watches deployment m-serve") {
		t.Fatalf("create: %d %s %s", code, out, errs)
	}
	for i := 0; i < 20; i++ { // far above the baseline's 0..9: drift
		res, err := http.Post(u+"/v1/models/m-serve:predict", "application/json", strings.NewReader(fmt.Sprintf(`{"instances":[%d]}`, 100+i)))
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
	}
	var out string
	for deadline := time.Now().Add(30 * time.Second); ; {
		_, out, errs = kl(append([]string{"monitors", "status", "m-watch"}, srv...)...)
		if strings.Contains(out, "window 1 against dataset d@v1") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"1 windows of 20 requests", "psi x", "VIOLATED", "error_rate", "active alerts: 2", "ks x: 1 > 0.2 since window 1", "0 dropped (queue full)"} {
		if !strings.Contains(out, want) {
			t.Errorf("status lacks %q:\n%s%s", want, out, errs)
		}
	}
	if _, out, _ := kl(append([]string{"monitors", "list"}, srv...)...); !strings.Contains(out, "m-watch m-serve 1 2 -") {
		t.Errorf("list:\n%s", out)
	}
	if _, out, _ := kl(append([]string{"monitors", "get", "m-watch"}, srv...)...); !strings.Contains(out, "deployment: m-serve") {
		t.Errorf("get:\n%s", out)
	}
	if code, out, errs := kl(append([]string{"monitors", "delete", "m-watch"}, srv...)...); code != 0 || !strings.Contains(out, "monitor m-watch deleted") {
		t.Errorf("delete: %s %s", out, errs)
	}
	if code, _, errs := kl(append([]string{"monitors", "status", "m-watch"}, srv...)...); code == 0 || !strings.Contains(errs, "404") {
		t.Errorf("status of a deleted monitor: %d %s", code, errs)
	}
	if code, _, errs := kl(append([]string{"deploy", dep, "--cluster", "nope"}, srv...)...); code == 0 || !strings.Contains(errs, "want target kserve") {
		t.Errorf("deploy --cluster of a local Deployment: %d %s", code, errs)
	}
	kserve := writeFile(t, "apiVersion: kubeline.io/v1alpha1\nkind: Deployment\nmetadata: {name: m-remote}\nspec:\n  model: m@v1\n  target: kserve\n  predictor: {image: python:3.12}\n")
	if code, _, errs := kl(append([]string{"deploy", kserve, "--cluster", "nope"}, srv...)...); code == 0 || !strings.Contains(errs, `cluster "nope" not found`) {
		t.Errorf("deploy --cluster to an unknown cluster: %d %s", code, errs)
	}
	if code, _, errs := kl(append([]string{"deployments", "import", "x", "--cluster", "nope", "--inference-service", "y"}, srv...)...); code == 0 || !strings.Contains(errs, `cluster "nope" not found`) {
		t.Errorf("import from an unknown cluster: %d %s", code, errs)
	}
	if code, _, errs := kl(append([]string{"deployments", "import", "x"}, srv...)...); code == 0 || !strings.Contains(errs, "--cluster and --inference-service are required") {
		t.Errorf("import without flags: %d %s", code, errs)
	}
}
