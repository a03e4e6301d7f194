package apiserver_test

import (
	"encoding/json"

	"sigs.k8s.io/yaml"
)

func yamlToJSON(data []byte, out any) error {
	b, err := yaml.YAMLToJSON(data)
	if err != nil {
		return err
	}
	return json.Unmarshal(b, out)
}
