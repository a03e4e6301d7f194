package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/kubeline/kubeline/runtime/store"
)

// apiError is an error with its HTTP status.
type apiError struct {
	code int
	msg  string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(format string, args ...any) error {
	return &apiError{http.StatusBadRequest, fmt.Sprintf(format, args...)}
}

func notFoundErr(format string, args ...any) error {
	return &apiError{http.StatusNotFound, fmt.Sprintf(format, args...)}
}

// status maps an error to its HTTP status: store sentinels to 404/409/400,
// apiErrors to theirs, anything else 500.
func status(err error) int {
	var ae *apiError
	switch {
	case errors.As(err, &ae):
		return ae.code
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound
	case errors.Is(err, store.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, store.ErrInvalid):
		return http.StatusBadRequest
	}
	return http.StatusInternalServerError
}

// grpcCode is the google.rpc code KFP puts in its error bodies.
func grpcCode(httpCode int) int {
	switch httpCode {
	case http.StatusBadRequest:
		return 3 // INVALID_ARGUMENT
	case http.StatusNotFound:
		return 5 // NOT_FOUND
	case http.StatusConflict:
		return 6 // ALREADY_EXISTS
	case http.StatusUnauthorized:
		return 16 // UNAUTHENTICATED
	case http.StatusForbidden:
		return 7 // PERMISSION_DENIED
	}
	return 13 // INTERNAL
}

// writeError answers with KFP's error body.
func writeError(w http.ResponseWriter, err error) {
	code := status(err)
	msg := err.Error()
	if code == http.StatusInternalServerError {
		msg = "internal error: " + msg
	}
	g := grpcCode(code)
	writeJSON(w, code, map[string]any{"code": g, "message": msg,
		"details": []any{map[string]any{"@type": "type.googleapis.com/google.rpc.Status", "code": g, "message": msg}}})
}

// rawBody is an answer that is not JSON (a DOT or SVG rendering).
type rawBody struct {
	contentType string
	body        []byte
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	if raw, ok := v.(rawBody); ok {
		w.Header().Set("Content-Type", raw.contentType)
		w.WriteHeader(code)
		_, _ = w.Write(raw.body)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

// decode reads a JSON request body strictly: unknown fields are a 400.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return badRequest("invalid request body: %v", err)
	}
	return nil
}

// timestamp renders a time as KFP does (RFC3339, UTC), the epoch when zero.
func timestamp(t time.Time) string {
	if t.IsZero() {
		return "1970-01-01T00:00:00Z"
	}
	return t.UTC().Format(time.RFC3339)
}

// int64s accepts an int64 sent as a JSON number or a string.
type int64s int64

func (i *int64s) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(b), `"`)
	if s == "" {
		*i = 0
		return nil
	}
	var n int64
	if _, err := fmt.Sscan(s, &n); err != nil {
		return fmt.Errorf("want an integer, got %s", b)
	}
	*i = int64s(n)
	return nil
}

// listOptions reads KFP list parameters: empty values mean unset.
func listOptions(r *http.Request) (store.ListOptions, error) {
	q := r.URL.Query()
	var opts store.ListOptions
	if ps := q.Get("page_size"); ps != "" {
		if _, err := fmt.Sscan(ps, &opts.PageSize); err != nil {
			return opts, badRequest("page_size: want an integer, got %q", ps)
		}
	}
	opts.PageToken = q.Get("page_token")
	opts.SortBy = q.Get("sort_by")
	f, err := store.ParseFilter(q.Get("filter"))
	if err != nil {
		return opts, err
	}
	opts.Filter = f
	return opts, nil
}

// listResponse renders a list page under key.
func listResponse(key string, items any, page store.Page) map[string]any {
	out := map[string]any{"total_size": page.TotalSize}
	if page.NextPageToken != "" {
		out["next_page_token"] = page.NextPageToken
	}
	if v, ok := items.([]map[string]any); !ok || len(v) > 0 {
		out[key] = items
	}
	return out
}

// listed renders a store list page under key, each item through render.
func listed[T any](key string, items []T, page store.Page, err error, render func(T) map[string]any) (any, error) {
	if err != nil {
		return nil, err
	}
	out := make([]map[string]any, len(items))
	for i, it := range items {
		out[i] = render(it)
	}
	return listResponse(key, out, page), nil
}
