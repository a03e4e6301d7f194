package main

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sigs.k8s.io/yaml"
)

// TestPublishDeployPredict is issue 8's workflow on a multi-user server:
// an ML Engineer trains m@v1 and publishes it (a Data Scientist may not);
// a Production Engineer may not train but deploys m@v1 locally with a
// transformer, and a predict request returns the postprocessed answer.
func TestPublishDeployPredict(t *testing.T) {
	t.Setenv("KUBELINE_HOME", t.TempDir())
	t.Setenv("KUBELINE_TOKEN", "")
	u, log, _ := startServer(t, accessFlags{multiUser: true})
	m := regexp.MustCompile(`KUBELINE_TOKEN=(\S+)`).FindStringSubmatch(log.String())
	if m == nil {
		t.Fatalf("no bootstrap token:\n%s", log)
	}
	token := map[string]string{}
	for name, roles := range map[string]string{"ml": "ml", "pe": "pe", "ds": "ds"} {
		if code, _, errs := kl("users", "create", name, "--roles", roles, "--server", u, "--token", m[1]); code != 0 {
			t.Fatalf("create %s: %s", name, errs)
		}
		code, tok, errs := kl("users", "create-token", name, "--server", u, "--token", m[1])
		if code != 0 {
			t.Fatalf("token of %s: %s", name, errs)
		}
		token[name] = strings.TrimSpace(tok)
	}
	as := func(user string) []string { return []string{"--server", u, "--token", token[user]} }
	ml := &apiClient{server: u, token: token["ml"], http: http.DefaultClient}
	// The ML Engineer trains m@v1 on dataset d@v1.
	if code, out, errs := kl("datasets", "create", "d", "--from", writeFile(t, "a\nb\nc\nd\n")); code != 0 || !strings.Contains(out, "d@v1 created") {
		t.Fatalf("dataset: %s %s", out, errs)
	}
	spec, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var pipeline map[string]any
	if err := yamlToJSON(spec, &pipeline); err != nil {
		t.Fatal(err)
	}
	var run map[string]any
	if err := ml.call("POST", "/apis/v2beta1/runs", map[string]any{"display_name": "train", "pipeline_spec": pipeline}, &run); err != nil {
		t.Fatal(err)
	}
	waitState(t, ml, run["run_id"].(string), "SUCCEEDED")
	// A Production Engineer may not train.
	pe := &apiClient{server: u, token: token["pe"], http: http.DefaultClient}
	if err := pe.call("POST", "/apis/v2beta1/runs", map[string]any{"display_name": "x", "pipeline_spec": pipeline}, nil); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("a Production Engineer's training run: %v", err)
	}
	// Publishing: the Data Scientist is refused, the ML Engineer is not.
	if code, _, errs := kl(append([]string{"models", "publish", "m@v1"}, as("ds")...)...); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("a Data Scientist's publish: %d %s", code, errs)
	}
	if code, _, errs := kl(append([]string{"catalog"}, as("ds")...)...); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("a Data Scientist's catalog: %d %s", code, errs)
	}
	if code, out, errs := kl(append([]string{"models", "publish", "m@v1"}, as("ml")...)...); code != 0 || !strings.Contains(out, "published model m@v1") {
		t.Fatalf("publish: %d %s %s", code, out, errs)
	}
	if code, out, _ := kl(append([]string{"catalog"}, as("pe")...)...); code != 0 || !strings.Contains(out, "model://m@v1 ml d@v1") || !strings.Contains(out, "accuracy=") {
		t.Fatalf("catalog:\n%s", out)
	}
	// The Production Engineer deploys with the transformer and predicts.
	if code, _, errs := kl(append([]string{"deploy", "../../examples/serve-model/deployment.yaml"}, as("ml")...)...); code != 1 || !strings.Contains(errs, "403") {
		t.Fatalf("an ML Engineer's deploy: %d %s", code, errs)
	}
	if code, out, errs := kl(append([]string{"deploy", "../../examples/serve-model/deployment.yaml"}, as("pe")...)...); code != 0 || !strings.Contains(out, "deployment m-serve Ready") {
		t.Fatalf("deploy: %d %s %s", code, out, errs)
	}
	code, out, errs := kl(append([]string{"predict", "m-serve", "-d", `{"instances": [0.1, 2]}`}, as("pe")...)...)
	if code != 0 {
		t.Fatalf("predict: %s", errs)
	}
	var answer struct {
		Predictions []float64
		Labels      []string
	}
	if err := json.Unmarshal([]byte(out), &answer); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	// 4 rows × lr 0.1: weights 0.4; preprocess ×10, then 0.4·x, then labels.
	if len(answer.Predictions) != 2 || answer.Predictions[0] != 0.4 || answer.Predictions[1] != 8 ||
		strings.Join(answer.Labels, ",") != "low,high" {
		t.Fatalf("answer %s", out)
	}
	// KServe's V2 protocol through the same transformer (it answered 404).
	code, out, errs = kl(append([]string{"predict", "m-serve", "--v2", "-d",
		`{"inputs": [{"name": "x", "shape": [2], "datatype": "FP64", "data": [0.1, 2]}]}`}, as("pe")...)...)
	if code != 0 {
		t.Fatalf("predict --v2: %s", errs)
	}
	var v2 struct {
		Outputs []struct {
			Name string
			Data []any
		}
	}
	if err := json.Unmarshal([]byte(out), &v2); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	if len(v2.Outputs) != 2 || fmt.Sprint(v2.Outputs[0].Data) != "[0.4 8]" || fmt.Sprint(v2.Outputs[1].Data) != "[low high]" {
		t.Fatalf("V2 answer %s", out)
	}
	if code, out, _ := kl(append([]string{"deployments", "list"}, as("pe")...)...); code != 0 || !strings.Contains(out, "m-serve Ready m@v1 - true - 2") {
		t.Fatalf("list:\n%s", out)
	}
	if code, _, errs := kl(append([]string{"deployments", "stop", "m-serve"}, as("pe")...)...); code != 0 {
		t.Fatalf("stop: %s", errs)
	}
	if code, _, _ := kl(append([]string{"predict", "m-serve", "-d", `{"instances": [1]}`}, as("pe")...)...); code != 1 {
		t.Fatal("a stopped deployment answered")
	}
	// An unpublished version cannot be deployed.
	bad := filepath.Join(t.TempDir(), "d.yaml")
	src, _ := os.ReadFile("../../examples/serve-model/deployment.yaml")
	os.WriteFile(bad, []byte(strings.Replace(string(src), "model: m@v1", "model: m@v7", 1)), 0o644)
	if code, _, errs := kl(append([]string{"deploy", bad}, as("pe")...)...); code != 1 || !strings.Contains(errs, "spec.model") {
		t.Fatalf("deploy of m@v7: %d %s", code, errs)
	}
}

func writeFile(t *testing.T, content string) string {
	p := filepath.Join(t.TempDir(), "data.txt")
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func waitState(t *testing.T, c *apiClient, id, want string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		var r map[string]any
		if err := c.call("GET", "/apis/v2beta1/runs/"+id, nil, &r); err != nil {
			t.Fatal(err)
		}
		switch r["state"] {
		case want:
			return
		case "SUCCEEDED", "FAILED", "CANCELED":
			t.Fatalf("run %s ended %s: %v", id, r["state"], r["error"])
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("run %s not %s in time", id, want)
}

func yamlToJSON(b []byte, v any) error { return yaml.Unmarshal(b, v) }
