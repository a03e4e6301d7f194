package apiserver_test

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/google/go-cmp/cmp"
)

// consoleDeployForm: a Production Engineer deploys m@v1 from the catalog
// page's Deploy form with replicas 2..3, a CPU request of 500m, 1Gi of
// memory (request and limit), protocol v2 and env A=1: the deployment's
// page and the API's GET show them. Its edit page is prefilled with them;
// memory "lots" is refused with the API's 400 shown at the memory field
// (and nothing is replaced); a fixed value is saved. An ML Engineer of
// group b does not see the deployment, on any page or in the API.
func consoleDeployForm(t *testing.T, w *consoleWorld, browser context.Context) {
	k := w.k
	bea := k.user(t, "bea", []string{"ml-engineer"}, []string{"b"})
	predictor, err := filepath.Abs("../../examples/serve-model/predictor.py")
	if err != nil {
		t.Fatal(err)
	}
	pat := signIn(t, browser, k.root, w.pat)
	pat.visit("#/catalog")
	pat.run("fill the deploy form", chromedp.SetValue(css("#deploy-model"), "m@v1"), chromedp.SendKeys(css("#deploy-name"), "m-res"),
		chromedp.SendKeys(css("#deploy-command"), "python3 "+predictor), chromedp.SetValue(css("#deploy-protocol"), "v2"),
		chromedp.SendKeys(css("#deploy-env"), "A=1"),
		chromedp.SendKeys(css("#deploy-min-replicas"), "2"), chromedp.SendKeys(css("#deploy-max-replicas"), "3"),
		chromedp.SendKeys(css("#deploy-cpu-request"), "500m"),
		chromedp.SendKeys(css("#deploy-memory-request"), "1Gi"), chromedp.SendKeys(css("#deploy-memory-limit"), "1Gi"))
	pat.shot("catalog-deploy-resources")
	pat.run("deploy", chromedp.Click(css("#deploy-form button[type=submit]")))
	pat.ready("#/deployments/m-res")
	pat.noErrorBanner("the deployment with resources")
	wantPage := map[string]string{"Replicas": "2 to 3", "CPU": "request 500m, no limit", "Memory": "1Gi (request and limit)",
		"GPUs": "not set", "Protocol": "v2", "Environment": "A=1"}
	const servingJS = `Object.fromEntries(Array.from(document.querySelectorAll('#deployment-spec dt')).map(dt => [dt.textContent, dt.nextElementSibling.textContent]))`
	if diff := cmp.Diff(wantPage, evalAs[map[string]string](pat, servingJS)); diff != "" {
		t.Errorf("the deployment's page (-want +got):\n%s", diff)
	}
	if n := pat.text("#deployment-spec-note"); !strings.Contains(n, "one process of each") {
		t.Errorf("the page does not say a local deployment runs one process: %q", n)
	}
	pat.checkA11y("the deployment with resources")
	pat.shot("deployment-resources")
	wantSpec := deploySpecSubset{MinReplicas: 2, MaxReplicas: 3, Protocol: "v2", Env: "A=1",
		Requests: map[string]any{"cpu": "500m", "memory": "1Gi"}, Limits: map[string]any{"memory": "1Gi"}}
	if diff := cmp.Diff(wantSpec, deploySpecOf(t, w, "m-res", w.pat)); diff != "" {
		t.Errorf("the API's GET of the deployment the form made (-want +got):\n%s", diff)
	}

	// The edit page is the form, prefilled.
	pat.run("change it", chromedp.Click(css("#edit-deployment")))
	pat.ready("#/deployments/m-res/edit")
	pat.noErrorBanner("the edit page")
	const formJS = `Object.fromEntries(Array.from(document.querySelectorAll('#deploy-form input, #deploy-form select, #deploy-form textarea')).filter(e => e.value).map(e => [e.id, e.value]))`
	wantForm := map[string]string{"deploy-model": "m@v1", "deploy-name": "m-res", "deploy-command": "python3 " + predictor, "deploy-image": "python:3.12-slim",
		"deploy-protocol": "v2", "deploy-env": "A=1", "deploy-min-replicas": "2", "deploy-max-replicas": "3", "deploy-cpu-request": "500m",
		"deploy-memory-request": "1Gi", "deploy-memory-limit": "1Gi", "deploy-transformer-image": "python:3.12-slim", "deploy-canary-percent": "10"}
	if diff := cmp.Diff(wantForm, evalAs[map[string]string](pat, formJS)); diff != "" {
		t.Errorf("the edit form (-want +got):\n%s", diff)
	}
	pat.checkA11y("the edit page")

	// Memory "lots": the API's 400 at the memory field, nothing replaced.
	pat.run("memory lots", chromedp.SetValue(css("#deploy-memory-request"), "lots"), chromedp.SetValue(css("#deploy-max-replicas"), "4"),
		chromedp.Click(css("#deploy-form button[type=submit]")))
	pat.waitFor("the refusal at the field", `!document.getElementById('deploy-memory-request-error').hidden`, 15*time.Second)
	if e := pat.text("#deploy-memory-request-error"); e != `spec.resources.requests.memory: want a positive quantity such as 512Mi or 1Gi, got "lots"` {
		t.Errorf("the memory field says %q, want the API's 400 naming spec.resources.requests.memory", e)
	}
	if !evalAs[bool](pat, `document.getElementById('deploy-memory-request').getAttribute('aria-invalid') === 'true' && document.getElementById('deploy-memory-request').getAttribute('aria-describedby') === 'deploy-memory-request-error'`) {
		t.Errorf("the memory field is not marked invalid and described by the API's message")
	}
	if s := pat.text("#deploy-errors"); !strings.HasPrefix(s, "Not deployed (HTTP 400): spec.resources.requests.memory") {
		t.Errorf("the form's summary says %q", s)
	}
	if n := evalAs[int](pat, `document.querySelectorAll('.field-error:not([hidden])').length`); n != 1 {
		t.Errorf("%d fields show an error, want only the memory field", n)
	}
	pat.noErrorBanner("the refused edit")
	pat.checkA11y("the refused edit")
	pat.shot("deployment-edit-refused")
	if got := deploySpecOf(t, w, "m-res", w.pat); got.MaxReplicas != 3 || got.Requests["memory"] != "1Gi" {
		t.Errorf("the refused edit changed the deployment: %+v", got)
	}

	// Fixed, it is saved: the page shows the new range.
	pat.run("memory 1Gi", chromedp.SetValue(css("#deploy-memory-request"), "1Gi"), chromedp.Click(css("#deploy-form button[type=submit]")))
	pat.ready("#/deployments/m-res")
	pat.noErrorBanner("the saved edit")
	if got := evalAs[map[string]string](pat, servingJS)["Replicas"]; got != "2 to 4" {
		t.Errorf("after saving maxReplicas 4 the page says replicas %q", got)
	}
	if got := deploySpecOf(t, w, "m-res", w.pat); got.MaxReplicas != 4 || got.Requests["memory"] != "1Gi" {
		t.Errorf("the saved edit: %+v", got)
	}

	// Group b's ML Engineer: not in the list, not found on its pages or in the API.
	b := signIn(t, browser, k.root, bea)
	b.visit("#/deployments")
	if rows := b.text("main tbody"); strings.Contains(rows, "m-res") {
		t.Errorf("group b's deployments page lists a's m-res: %q", rows)
	}
	for _, hash := range []string{"#/deployments/m-res", "#/deployments/m-res/edit"} {
		b.visit(hash)
		if h := b.text("main h1"); h != "Not found" || strings.Contains(b.text("main"), "500m") {
			t.Errorf("group b's %s reads %q: %q", hash, h, b.text("main"))
		}
		b.noErrorBanner("group b's " + hash)
	}
	if r := do(t, "GET", k.kl()+"/deployments/m-res", bea, nil); r.code != 404 {
		t.Errorf("group b's GET of m-res: %d %s", r.code, r.raw)
	}
	if r := do(t, "POST", k.kl()+"/deployments/m-res:stop", w.pat, map[string]any{}); r.code != 200 {
		t.Fatalf("stop m-res: %d %s", r.code, r.raw)
	}
}

// deploySpecSubset is what the Deploy form sets, as the API's GET shows it.
type deploySpecSubset struct {
	MinReplicas, MaxReplicas int
	Protocol, Env            string
	Requests, Limits         map[string]any
}

func deploySpecOf(t *testing.T, w *consoleWorld, name, token string) deploySpecSubset {
	t.Helper()
	r := do(t, "GET", w.k.kl()+"/deployments/"+name, token, nil)
	if r.code != 200 {
		t.Fatalf("GET deployment %s: %d %s", name, r.code, r.raw)
	}
	var d struct {
		Spec struct {
			MinReplicas, MaxReplicas int
			Predictor                struct {
				Protocol string
				Env      []struct{ Name, Value string }
			}
			Resources struct{ Requests, Limits map[string]any }
		}
	}
	if err := json.Unmarshal([]byte(r.raw), &d); err != nil {
		t.Fatal(err)
	}
	out := deploySpecSubset{MinReplicas: d.Spec.MinReplicas, MaxReplicas: d.Spec.MaxReplicas, Protocol: d.Spec.Predictor.Protocol,
		Requests: d.Spec.Resources.Requests, Limits: d.Spec.Resources.Limits}
	for _, e := range d.Spec.Predictor.Env {
		out.Env += e.Name + "=" + e.Value
	}
	return out
}
