package apiserver_test

import (
	"fmt"
	"os"
	"strings"
	"testing"
)

// codeFeatureWorld is group a's code app (v1) and featureset fs (declared,
// v1 from an upload), in the hostile world of issue 15.
func codeFeatureWorld(t *testing.T, h *hostile) {
	t.Helper()
	if r := uploadVersionAs(t, h.k, "code", "app", "echo train\n", h.tok["a-ds"]); r.code != 200 {
		t.Fatalf("a's code: %d %s", r.code, r.raw)
	}
	if r := h.as("a-ds", "POST", h.k.kl()+"/featuresets", featureSetDoc("fs", "a")); r.code != 200 {
		t.Fatalf("a's featureset: %d %s", r.code, r.raw)
	}
	if r := uploadVersionAs(t, h.k, "featureset", "fs", "w\nx\n", h.tok["a-ds"]); r.code != 200 {
		t.Fatalf("a's featureset version: %d %s", r.code, r.raw)
	}
	spec, err := os.ReadFile("../../examples/train-model/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	if err := yamlToJSON(spec, &h.train); err != nil {
		t.Fatal(err)
	}
}

// codeSnapshot is what group b must not change of a's code and featuresets.
func codeSnapshot(h *hostile) string {
	var b strings.Builder
	for _, u := range []string{"/code/app/versions/latest", "/featuresets/fs/versions/latest"} {
		r := h.as("a-ds", "GET", h.k.kl()+u, nil)
		fmt.Fprintf(&b, "%s: %d v%v %v\n", u, r.code, r.body["version"], r.body["sha256"])
	}
	r := h.as("a-ds", "GET", h.k.kl()+"/featuresets/fs", nil)
	fmt.Fprintf(&b, "fs: %d %v %v\n", r.code, r.body["features"], r.body["owner"])
	return b.String()
}

// TestHostileCodeAndFeatureSets: group b tries group a's code and
// featuresets the ways issue 15 tried datasets: lists, every read route,
// version URIs in its runs, new versions, declaring in a's group, deleting;
// each refusal reads as if a's did not exist (or, for a name a holds, as
// taken), and nothing of a's changes. A multi-user server clones no host
// path and uses no ssh key of its own for anyone.
func TestHostileCodeAndFeatureSets(t *testing.T) {
	h := newHostile(t, serverOptions{})
	codeFeatureWorld(t, h)
	before := codeSnapshot(h)

	for kind, name := range map[string]string{"code": `"name":"app"`, "featuresets": `"name":"fs"`} {
		if r := h.as("b-ml", "GET", h.k.kl()+"/"+kind, nil); r.code != 200 || strings.Contains(r.raw, name) {
			t.Errorf("b lists %s: %d %s", kind, r.code, r.raw)
		}
		if r := h.as("op", "GET", h.k.kl()+"/"+kind, nil); !strings.Contains(r.raw, name) {
			t.Errorf("the operator does not list a's %s: %s", kind, r.raw)
		}
	}
	for _, c := range []struct{ name, method, path string }{
		{"app", "GET", "/code/%s/versions"}, {"app", "GET", "/code/%s/versions/v1"}, {"app", "GET", "/code/%s/versions/v1/usage"},
		{"app", "GET", "/code/%s/versions/latest/lineage?format=svg"},
		{"fs", "GET", "/featuresets/%s"}, {"fs", "GET", "/featuresets/%s/versions"}, {"fs", "GET", "/featuresets/%s/versions/v1"},
		{"fs", "GET", "/featuresets/%s/versions/v1/usage"}, {"fs", "GET", "/featuresets/%s/versions/v1/lineage"},
		{"fs", "DELETE", "/featuresets/%s"},
	} {
		hiddenLike(t, c.method+" "+c.path, h.as("b-ml", c.method, h.k.kl()+fmt.Sprintf(c.path, c.name), nil),
			h.as("b-ml", c.method, h.k.kl()+fmt.Sprintf(c.path, "zz"), nil), `\"`+c.name+`\"`, `\"zz\"`)
	}
	// Content through version URIs: a's versions are none b's run resolves.
	for _, c := range []struct{ uri, fake, real, missing string }{
		{"code://app@v1", "code://zz@v1", "code app@", "code zz@"},
		{"featureset://fs@latest", "featureset://zz@latest", "featureset fs@", "featureset zz@"},
	} {
		run := func(uri string) resp {
			return h.as("b-ml", "POST", h.k.kfp()+"/runs", map[string]any{"display_name": "x", "pipeline_spec": h.train,
				"runtime_config": map[string]any{"parameters": map[string]any{"data": uri}}})
		}
		hiddenLike(t, c.uri+" in b's run", run(c.uri), run(c.fake), c.real, c.missing)
	}
	// New versions: a's code name is taken; a's featureset does not exist
	// for b (its data could not be checked against features b cannot see).
	if r := uploadVersionAs(t, h.k, "code", "app", "echo poison\n", h.tok["b-ds"]); r.code != 409 {
		t.Errorf("b uploads into a's code: %d %s, want 409", r.code, r.raw)
	}
	if r := h.as("b-ds", "POST", h.k.kl()+"/code/app/versions", map[string]any{"git_url": "https://127.0.0.1:1/x.git"}); r.code != 409 {
		t.Errorf("b clones into a's code: %d %s, want 409", r.code, r.raw)
	}
	hiddenLike(t, "b uploads into a's featureset", uploadVersionAs(t, h.k, "featureset", "fs", "w\npoison\n", h.tok["b-ds"]),
		uploadVersionAs(t, h.k, "featureset", "zz", "w\npoison\n", h.tok["b-ds"]), `\"fs\"`, `\"zz\"`)
	// Declaring in a's group, or under a's name.
	hiddenLike(t, "b declares in group a", h.as("b-ds", "POST", h.k.kl()+"/featuresets", featureSetDoc("b-fs", "a")),
		h.as("b-ds", "POST", h.k.kl()+"/featuresets", featureSetDoc("b-fs", "zz")), `\"a\"`, `\"zz\"`)
	if r := h.as("b-ds", "POST", h.k.kl()+"/featuresets", featureSetDoc("fs", "b")); r.code != 409 {
		t.Errorf("b declares a featureset named like a's: %d %s, want 409", r.code, r.raw)
	}
	// The server reads no host path for anyone, nor clones with its keys.
	for _, src := range []string{h.k.home, "file://" + h.k.home, "/etc", "git@example.com:a/b.git", "ssh://example.com/a/b.git"} {
		r := h.as("b-ds", "POST", h.k.kl()+"/code/b-app/versions", map[string]any{"git_url": src})
		if r.code != 400 || !strings.Contains(r.raw, "clones only http://, https:// and git://") {
			t.Errorf("b clones %s: %d %s, want 400", src, r.code, r.raw)
		}
	}
	// b's own: declared in b's group, data checked against its features.
	if r := h.as("b-ds", "POST", h.k.kl()+"/featuresets", featureSetDoc("b-fs", "b")); r.code != 200 || r.body["group"] != "b" {
		t.Errorf("b declares its featureset: %d %s", r.code, r.raw)
	}
	if r := uploadVersionAs(t, h.k, "featureset", "b-fs", "v\n1\n", h.tok["b-ds"]); r.code != 400 || !strings.Contains(r.raw, `column \"v\": not a declared feature`) {
		t.Errorf("b's mismatched data: %d %s, want 400 naming the column", r.code, r.raw)
	}
	if r := h.as("a-ml", "DELETE", h.k.kl()+"/featuresets/fs", nil); r.code != 403 {
		t.Errorf("a member who does not own fs deletes it: %d %s, want 403", r.code, r.raw)
	}
	if after := codeSnapshot(h); after != before {
		t.Errorf("group a's code or featuresets changed:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}
