package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"
)

// apiClient talks to a kubeline server's /apis/kubeline/v1 API over HTTP
// with an optional bearer token.
type apiClient struct {
	server, token string
	http          *http.Client
}

// clientFlags are the flags of every command that talks to a server.
type clientFlags struct {
	server, token, output string
}

func (c *clientFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.server, "server", envOr("KUBELINE_SERVER", "http://127.0.0.1:8888"), "kubeline server `URL` ($KUBELINE_SERVER)")
	fs.StringVar(&c.token, "token", os.Getenv("KUBELINE_TOKEN"), "bearer `TOKEN` of a multi-user server ($KUBELINE_TOKEN)")
	fs.StringVar(&c.output, "o", "", "output: json for the server's answer as it is")
}

func (c *clientFlags) client() *apiClient {
	return &apiClient{server: strings.TrimSuffix(c.server, "/"), token: c.token, http: &http.Client{Timeout: 60 * time.Second}}
}

// call sends a JSON request to path (under /apis/kubeline/v1 unless it
// starts with /apis/) and decodes the answer into out; an error answer
// becomes an error carrying the server's message.
func (c *apiClient) call(method, path string, body, out any) error {
	if !strings.HasPrefix(path, "/apis/") {
		path = "/apis/kubeline/v1" + path
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.server+path, r)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return fmt.Errorf("%s (%s)", e.Message, resp.Status)
		}
		return fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not JSON: %w", method, path, err)
	}
	return nil
}

// splitList splits a comma-separated flag value; empty gives nil.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// str renders a JSON value for a table cell.
func str(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return fmt.Sprint(x)
	case []any:
		parts := make([]string, len(x))
		for i, e := range x {
			parts[i] = str(e)
		}
		return strings.Join(parts, ",")
	}
	b, _ := json.Marshal(v)
	return string(b)
}

func printIndented(w io.Writer, v any) int {
	b, _ := json.MarshalIndent(v, "", "  ")
	fmt.Fprintln(w, string(b))
	return 0
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
