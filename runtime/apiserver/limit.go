package apiserver

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/kubeline/kubeline/runtime/store"
)

// Limits bound what one request may cost the server. The zero value of a
// field means its DefaultLimits value. Pipeline uploads have their own
// limit (maxUpload).
type Limits struct {
	// JSONBody is the most bytes of a JSON request body; SpecBody of one
	// that may carry a pipeline spec (runs, recurring runs, pipelines and
	// their versions). Larger bodies are answered 413.
	JSONBody, SpecBody int64
	// Filter bounds a list's filter: predicates and IN values.
	Filter store.FilterLimits
	// VersionUpload is the most bytes of a dataset or model version
	// uploaded (a file, or a directory's files in all).
	VersionUpload int64
}

// DefaultLimits: a megabyte of JSON, four of pipeline spec, a gigabyte of
// version upload.
var DefaultLimits = Limits{JSONBody: 1 << 20, SpecBody: 4 << 20, Filter: store.DefaultFilterLimits, VersionUpload: 1 << 30}

func (l Limits) withDefaults() Limits {
	d := DefaultLimits
	if l.JSONBody > 0 {
		d.JSONBody = l.JSONBody
	}
	if l.SpecBody > 0 {
		d.SpecBody = l.SpecBody
	}
	if l.Filter.Predicates > 0 {
		d.Filter.Predicates = l.Filter.Predicates
	}
	if l.Filter.Values > 0 {
		d.Filter.Values = l.Filter.Values
	}
	if l.VersionUpload > 0 {
		d.VersionUpload = l.VersionUpload
	}
	return d
}

// WithLimits sets the request limits.
func (s *Server) WithLimits(l Limits) *Server {
	s.limits = l.withDefaults()
	return s
}

// specRoutes are the routes whose JSON body may carry a pipeline spec.
var specRoutes = map[string]bool{
	"POST " + v2 + "/runs":                    true,
	"POST " + v2 + "/recurringruns":           true,
	"POST " + v2 + "/pipelines/create":        true,
	"POST " + v2 + "/pipelines/{id}/versions": true,
}

// uploadRoutes read multipart bodies under their own limits.
var uploadRoutes = map[string]bool{
	"POST " + v2 + "/pipelines/upload":         true,
	"POST /apis/v1beta1/pipelines/upload":      true,
	"POST " + v2 + "/pipelines/upload_version": true,
}

// limitedBody is a request body under a route's limit; flag names the limit.
type limitedBody struct {
	io.ReadCloser
	flag string
}

type limitsKey struct{}

// limitRequest puts the route's body limit on r's body and the server's
// limits in its context (listOptions reads the filter limits there).
func (s *Server) limitRequest(w http.ResponseWriter, r *http.Request, pattern string) *http.Request {
	l := s.limits
	if l == (Limits{}) {
		l = DefaultLimits
	}
	if r.Body != nil && !uploadRoutes[pattern] && !strings.HasSuffix(pattern, "/versions:upload") {
		n, flag := l.JSONBody, "--max-json-body"
		if specRoutes[pattern] {
			n, flag = l.SpecBody, "--max-spec-body"
		}
		r.Body = &limitedBody{http.MaxBytesReader(w, r.Body, n), flag}
	}
	return r.WithContext(context.WithValue(r.Context(), limitsKey{}, l))
}

func limitsOf(ctx context.Context) Limits {
	if l, ok := ctx.Value(limitsKey{}).(Limits); ok {
		return l
	}
	return DefaultLimits
}

// bodyError is the answer to a body that could not be read: 413 naming the
// limit when it was too large.
func bodyError(r *http.Request, err error) error {
	if serr := shutdownError(err); serr != nil {
		return serr
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		flag := "--max-json-body"
		if lb, ok := r.Body.(*limitedBody); ok {
			flag = lb.flag
		}
		return &apiError{http.StatusRequestEntityTooLarge,
			fmt.Sprintf("request body is larger than %d bytes (limit %s)", tooBig.Limit, flag)}
	}
	return badRequest("invalid request body: %v", err)
}

// parseInt reads a decimal integer, nothing else: no fraction, exponent,
// base prefix, spaces or trailing text.
func parseInt(s string) (int64, error) {
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, fmt.Errorf("%q is out of range", s)
		}
		return 0, fmt.Errorf("want a decimal integer, got %q", s)
	}
	return n, nil
}

// checkName refuses a name or display name that is not valid UTF-8 or
// holds control characters (NUL, newlines, escapes).
func checkName(field, v string) error {
	if !utf8.ValidString(v) {
		return badRequest("%s: not valid UTF-8", field)
	}
	for i, r := range v {
		if unicode.IsControl(r) {
			return badRequest("%s: control character %U at byte %d", field, r, i)
		}
	}
	return nil
}

// checkNames applies checkName to each field/value pair.
func checkNames(pairs ...string) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		if err := checkName(pairs[i], pairs[i+1]); err != nil {
			return err
		}
	}
	return nil
}

// maxConcurrency checks a recurring run's max_concurrency against KFP's
// range, 1 to 10 (0: unset, which means 1).
func maxConcurrency(n int64) error {
	if n != 0 && (n < 1 || n > 10) {
		return badRequest("recurring_run.max_concurrency: %d is outside KFP's range 1 to 10", n)
	}
	return nil
}
