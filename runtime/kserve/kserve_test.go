package kserve

import (
	"testing"

	"github.com/google/go-cmp/cmp"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

func TestStatusOf(t *testing.T) {
	cases := map[string]struct {
		obj  string
		want Status
	}{
		"kubeline's, ready": {`
metadata: {name: m-serve, namespace: prod, labels: {kubeline.io/model: m, kubeline.io/model-version: "2"}}
status:
  url: http://m-serve.prod.example.com
  conditions: [{type: PredictorReady, status: "True"}, {type: Ready, status: "True"}]`,
			Status{Namespace: "prod", Name: "m-serve", URL: "http://m-serve.prod.example.com", Ready: true, Model: "m@v2"}},
		"a canary": {`
metadata: {name: m-serve, namespace: prod, labels: {kubeline.io/model: m, kubeline.io/model-version: "3"}, annotations: {kubeline.io/canary-model: m@v3}}`,
			Status{Namespace: "prod", Name: "m-serve", Model: "m@v3"}},
		"someone else's, failing": {`
metadata: {name: sklearn-iris, namespace: team}
status:
  conditions: [{type: Ready, status: "False", message: "Revision failed"}]`,
			Status{Namespace: "team", Name: "sklearn-iris", Message: "Revision failed"}},
	}
	for name, c := range cases {
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(c.obj), &obj); err != nil {
			t.Fatal(err)
		}
		if d := cmp.Diff(c.want, StatusOf(&unstructured.Unstructured{Object: obj})); d != "" {
			t.Errorf("%s (-want +got)\n%s", name, d)
		}
	}
}
