package local_test

import (
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"sigs.k8s.io/yaml"
)

// TestParityListCoversPythonCorpus: runtime/engine/argo's TestParity (e2e,
// real pods) runs the python list of its testdata/parity.yaml; that list
// must be pyCorpus, file for file and with the same parameters, so that
// every Python pipeline run here is also run on Argo.
func TestParityListCoversPythonCorpus(t *testing.T) {
	b, err := os.ReadFile("../argo/testdata/parity.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var groups map[string][]struct {
		Name    string            `json:"name"`
		File    string            `json:"file"`
		Params  map[string]string `json:"params"`
		Shell   string            `json:"shell"`
		Differs string            `json:"differs"`
		CI      bool              `json:"ci"`
		// Unschedulable cases check their pod instead of a run on Argo.
		Unschedulable *struct {
			Reason string            `json:"reason"`
			Limits map[string]string `json:"limits"`
		} `json:"unschedulable"`
	}
	if err := yaml.UnmarshalStrict(b, &groups); err != nil {
		t.Fatal(err)
	}
	got := map[string]map[string]string{}
	for _, c := range groups["python"] {
		got[strings.TrimPrefix(c.File, "CORPUS/valid/")] = c.Params
	}
	want := map[string]map[string]string{}
	for name, c := range pyCorpus {
		want[name] = c.params
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("parity.yaml's python list differs from pyCorpus (-pyCorpus +parity.yaml):\n%s", d)
	}
}
