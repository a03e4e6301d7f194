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

// apiClient sends kubeline's API requests (under /apis/kubeline/v1 unless
// a path says otherwise) to its backend (backend.go): a server over HTTP
// with an optional bearer token, or the local store in this process.
type apiClient struct {
	server, token string
	from          string // where the server's address came from, for errors
	http          *http.Client
	backend       backend
	// local: the backend is the local store (no server is configured).
	local bool
}

func newAPIClient(e endpoint) *apiClient {
	be := remote{http.DefaultTransport}
	return &apiClient{server: e.server, token: e.token, from: e.from, http: &http.Client{Timeout: 60 * time.Second, Transport: be}, backend: be}
}

// Close releases the backend (the local store).
func (c *apiClient) Close() error { return c.backend.Close() }

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
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	raw, err := c.send(c.http, method, path, "application/json", r)
	if err != nil || out == nil {
		return err
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return fmt.Errorf("%s %s: the answer is not JSON: %w", method, path, err)
	}
	return nil
}

// get returns the body of a GET answer as it is (a DOT or SVG drawing).
func (c *apiClient) get(path string) ([]byte, error) {
	return c.send(c.http, http.MethodGet, path, "", nil)
}

// send sends one request and returns the body of a 200 answer; another
// answer becomes an error carrying the server's message.
func (c *apiClient) send(hc *http.Client, method, path, contentType string, body io.Reader) ([]byte, error) {
	if !strings.HasPrefix(path, "/apis/") {
		path = "/apis/kubeline/v1" + path
	}
	req, err := http.NewRequest(method, c.server+path, body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, c.unreachable(fmt.Errorf("%s %s: %w", method, path, err))
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("%s %s: %w", method, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		var e struct {
			Message string `json:"message"`
		}
		if json.Unmarshal(raw, &e) == nil && e.Message != "" {
			return nil, fmt.Errorf("%s (%s)", e.Message, resp.Status)
		}
		return nil, fmt.Errorf("%s %s: %s: %s", method, path, resp.Status, strings.TrimSpace(string(raw)))
	}
	return raw, nil
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
