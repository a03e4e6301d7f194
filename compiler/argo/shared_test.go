package argo

import (
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	corev1 "k8s.io/api/core/v1"
)

// TestAddShared: templates with the same JSON share one name whatever
// order they come in and however their Go values differ (nil or empty
// lists, invalid UTF-8 that JSON writes as U+FFFD); templates that differ
// anywhere (also outside the print) get names of their own.
func TestAddShared(t *testing.T) {
	ctr := func(args ...string) *corev1.Container {
		return &corev1.Container{Image: "img", Command: []string{"run"}, Args: args}
	}
	withEnv := ctr("a")
	withEnv.Env = []corev1.EnvVar{{Name: "E", Value: "1"}}
	in := func(names ...string) wfv1.Inputs {
		var in wfv1.Inputs
		for _, n := range names {
			in.Parameters = append(in.Parameters, wfv1.Parameter{Name: n})
		}
		return in
	}
	adds := []struct {
		base string
		tmpl wfv1.Template
		want string
	}{
		{"a", wfv1.Template{Container: ctr("a")}, "a"},
		{"b", wfv1.Template{Container: ctr("b")}, "b"},
		{"a", wfv1.Template{Container: ctr("a")}, "a"},                                       // same as the first
		{"a", wfv1.Template{Container: withEnv}, "a-2"},                                      // same print, other env
		{"a", wfv1.Template{Container: withEnv, Inputs: in()}, "a-2"},                        // empty list, same JSON
		{"x", wfv1.Template{Container: ctr("\xff")}, "x"},                                    // both are "\ufffd" in JSON
		{"y", wfv1.Template{Container: ctr("\xfe")}, "x"},                                    //
		{"c", wfv1.Template{Container: ctr("c"), Inputs: in("p")}, "c"},                      //
		{"c", wfv1.Template{Container: ctr("c"), Inputs: in("p"), Daemon: ptr(true)}, "c-2"}, // outside the print
		{"d", wfv1.Template{DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{{Name: "t", Template: "a"}}}}, "d"},
		{"e", wfv1.Template{DAG: &wfv1.DAGTemplate{Tasks: []wfv1.DAGTask{{Name: "t", Template: "a"}}}}, "d"},
		{"c", wfv1.Template{Container: ctr("c"), Inputs: in("p"), Daemon: ptr(true)}, "c-2"},
	}
	c := &compiler{wf: &wfv1.Workflow{}, tmplKeys: map[string]string{}, names: map[string]bool{},
		unkeyed: map[uint64][]int{}, keyed: map[uint64]bool{}}
	for i, a := range adds {
		if got := c.addShared(a.base, a.tmpl); got != a.want {
			t.Errorf("add %d (%s): got template %q, want %q", i, a.base, got, a.want)
		}
	}
	var names []string
	for _, tmpl := range c.wf.Spec.Templates {
		names = append(names, tmpl.Name)
	}
	if len(names) != 7 {
		t.Errorf("templates %v, want 7", names)
	}
}
