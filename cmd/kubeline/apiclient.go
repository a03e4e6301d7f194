package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"syscall"
	"time"
)

// apiClient talks to a kubeline server's /apis/kubeline/v1 API over HTTP
// with an optional bearer token.
type apiClient struct {
	server, token string
	from          string // where the server's address came from, for errors
	http          *http.Client
}

func newAPIClient(e endpoint) *apiClient {
	return &apiClient{server: e.server, token: e.token, from: e.from, http: &http.Client{Timeout: 60 * time.Second}}
}

// unreachable explains a connection error: which server was tried, and
// how to start one or name another.
func (c *apiClient) unreachable(err error) error {
	if !errors.Is(err, syscall.ECONNREFUSED) && !isNoHost(err) {
		return err
	}
	return fmt.Errorf("%w\nno kubeline server answers at %s (from %s): start one with `kubeline server`, "+
		"or name yours with --server URL, $KUBELINE_SERVER or a context (kubeline config set-context NAME --server URL)", err, c.server, c.from)
}

func isNoHost(err error) bool {
	var dns *net.DNSError
	return errors.As(err, &dns)
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
		return c.unreachable(fmt.Errorf("%s %s: %w", method, path, err))
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
