package deploy

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kubeline/kubeline/compiler/spec"
)

func loadMonitor(t *testing.T, file string) (*Monitor, error) {
	t.Helper()
	src, err := os.ReadFile(filepath.Join("testdata", file))
	if err != nil {
		t.Fatal(err)
	}
	docs, err := spec.Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if docs[0].Kind != spec.KindMonitor {
		t.Fatalf("kind %q", docs[0].Kind)
	}
	m, err := DecodeMonitor(docs[0].Node)
	if err != nil {
		return nil, err
	}
	return m, m.Validate()
}

func TestMonitorValid(t *testing.T) {
	m, err := loadMonitor(t, "monitor.yaml")
	if err != nil {
		t.Fatal(err)
	}
	min := 0.9
	want := &Retrain{Pipeline: "train-model", Parameters: map[string]string{"lr": "0.1"}, Metric: MetricCheck{Name: "accuracy", Min: &min}, CanaryPercent: 20}
	if d := cmp.Diff(want, m.Spec.Action.Retrain); d != "" {
		t.Errorf("retrain (-want +got)\n%s", d)
	}
	if m.Spec.Rate() != 0.5 || m.Spec.Baseline.Lineage == nil || m.Spec.Drift[1].Features[1] != "y" {
		t.Errorf("spec %+v", m.Spec)
	}
	if !want.Metric.Passes(0.9) || want.Metric.Passes(0.89) {
		t.Error("min 0.9 must pass 0.9 and refuse 0.89")
	}
}

// TestMonitorErrors: every problem of a bad Monitor at once, each at its
// spec path (golden file).
func TestMonitorErrors(t *testing.T) {
	_, err := loadMonitor(t, "monitor-bad.yaml")
	if err == nil {
		t.Fatal("a bad Monitor validated")
	}
	golden(t, "testdata/monitor-bad.errors.golden", []byte(err.Error()+"\n"))
	docs, _ := spec.Parse([]byte("apiVersion: kubeline.io/v1alpha1\nkind: Monitor\nmetadata: {name: m}\nspec: {deployment: d, windw: {}}\n"))
	if _, err := DecodeMonitor(docs[0].Node); err == nil {
		t.Fatal("an unknown field decoded")
	}
}
