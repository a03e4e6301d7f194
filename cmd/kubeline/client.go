package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"sigs.k8s.io/yaml"
)

// pipelineVersionFrom fetches stored pipeline versions from a kubeline (or
// Kubeflow Pipelines) server's v2beta1 API, for Experiments whose trial is a
// pipelineVersionReference, with the endpoint's token. No server gives nil:
// such references are refused with the reason.
func pipelineVersionFrom(e endpoint) func(pipelineID, versionID string) ([]byte, error) {
	if e.server == "" {
		return nil
	}
	c := newAPIClient(e)
	c.http.Timeout = 30 * time.Second
	return func(pipelineID, versionID string) ([]byte, error) {
		u := c.server + "/apis/v2beta1/pipelines/" + url.PathEscape(pipelineID) + "/versions/" + url.PathEscape(versionID)
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return nil, fmt.Errorf("fetch pipeline version: %w", err)
		}
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		resp, err := c.http.Do(req)
		if err != nil {
			return nil, c.unreachable(fmt.Errorf("fetch pipeline version: %w", err))
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
		if err != nil {
			return nil, fmt.Errorf("fetch pipeline version %s: %w", u, err)
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetch pipeline version %s: %s: %s", u, resp.Status, strings.TrimSpace(string(body)))
		}
		var v struct {
			PipelineSpec map[string]any `json:"pipeline_spec"`
		}
		if err := json.Unmarshal(body, &v); err != nil || v.PipelineSpec == nil {
			return nil, fmt.Errorf("fetch pipeline version %s: the answer has no pipeline_spec", u)
		}
		docs := []any{v.PipelineSpec}
		if inner, ok := v.PipelineSpec["pipeline_spec"]; ok {
			docs = []any{inner, v.PipelineSpec["platform_spec"]}
		}
		var out []byte
		for i, d := range docs {
			b, err := yaml.Marshal(d)
			if err != nil {
				return nil, err
			}
			if i > 0 {
				out = append(out, "---\n"...)
			}
			out = append(out, b...)
		}
		return out, nil
	}
}
