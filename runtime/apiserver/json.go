package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"reflect"
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
	case store.Unavailable(err):
		return http.StatusServiceUnavailable
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
	case http.StatusServiceUnavailable:
		return 14 // UNAVAILABLE
	}
	return 13 // INTERNAL
}

// retryAfter is the Retry-After of a 503: seconds until a retry may work.
const retryAfter = "5"

// writeError answers with KFP's error body.
func writeError(w http.ResponseWriter, err error) {
	code := status(err)
	msg := err.Error()
	switch code {
	case http.StatusInternalServerError:
		msg = "internal error: " + msg
	case http.StatusServiceUnavailable:
		// A storage fault: the request may succeed later.
		w.Header().Set("Retry-After", retryAfter)
		if reason := store.FaultReason(err); reason != "" && !strings.Contains(msg, reason) {
			msg = reason + ": " + msg
		}
		msg = "storage unavailable, try again later: " + msg
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

// decode reads a JSON request body strictly: unknown fields and anything
// after the JSON value are a 400, a body over the route's limit a 413.
func decode(r *http.Request, v any) error {
	dec := json.NewDecoder(r.Body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return bodyError(r, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) || shutdownError(err) != nil {
			return bodyError(r, err)
		}
		return badRequest("invalid request body: data after the JSON value")
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
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	if s == "" || s == "null" {
		*i = 0
		return nil
	}
	n, err := parseInt(s)
	if err != nil {
		// encoding/json names the field of an UnmarshalTypeError.
		return &json.UnmarshalTypeError{Value: "non-integer " + string(b), Type: reflect.TypeOf(int64(0))}
	}
	*i = int64s(n)
	return nil
}

// listOptions reads KFP list parameters: empty values mean unset.
func listOptions(r *http.Request) (store.ListOptions, error) {
	q := r.URL.Query()
	var opts store.ListOptions
	if ps := q.Get("page_size"); ps != "" {
		n, err := parseInt(ps)
		if err != nil || int64(int(n)) != n {
			return opts, badRequest("page_size: want a decimal integer, got %q", ps)
		}
		opts.PageSize = int(n)
	}
	opts.PageToken = q.Get("page_token")
	opts.SortBy = q.Get("sort_by")
	f, err := store.ParseFilterLimited(q.Get("filter"), limitsOf(r.Context()).Filter)
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
