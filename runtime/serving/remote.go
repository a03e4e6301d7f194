package serving

import (
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
	"time"
)

// Remote is a deployment served elsewhere — a KServe InferenceService on
// a registered cluster — that kubeline's endpoint routes to, so its
// predictions are recorded like a local one's.
type Remote struct {
	Cluster, Namespace, InferenceService string
	// URL is the InferenceService's address (its status.url); empty while
	// KServe reports none, and requests are then answered 503.
	URL string
	// Imported: it was deployed by someone else and registered here.
	Imported bool
}

// StartRemote registers a deployment served at r.URL under name, serving
// model (NAME@vN, "" when unknown); one of the same name is replaced.
func (m *Manager) StartRemote(name, model string, r Remote) (Status, error) {
	d := &deployment{spec: Spec{Name: name, Stable: Revision{Model: model}}, started: time.Now(), remote: &r}
	b := &backend{}
	if r.URL != "" {
		target, err := url.Parse(r.URL)
		if err != nil || (target.Scheme != "http" && target.Scheme != "https") || target.Host == "" {
			return Status{}, fmt.Errorf("deployment %s: the InferenceService's URL %q is not an http(s) URL", name, r.URL)
		}
		b.proxy = remoteProxy(m, name, r.InferenceService, target)
	}
	d.stable = &revision{rev: d.spec.Stable, predictor: b}
	m.mu.Lock()
	old := m.deps[name]
	m.deps[name] = d
	m.mu.Unlock()
	if old != nil {
		old.stop()
	}
	return d.status(), nil
}

// remoteProxy forwards /v1/models/NAME... and /v2/models/NAME/... to the
// InferenceService, under its own name and host.
func remoteProxy(m *Manager, name, isvc string, target *url.URL) *httputil.ReverseProxy {
	p := &httputil.ReverseProxy{Transport: m.transport, BufferPool: &buffers}
	p.Rewrite = func(pr *httputil.ProxyRequest) {
		pr.SetURL(target)
		path := pr.Out.URL.Path
		for _, prefix := range []string{"/v1/models/", "/v2/models/"} {
			if i := strings.Index(path, prefix+name); i >= 0 {
				path = path[:i] + prefix + isvc + path[i+len(prefix)+len(name):]
			}
		}
		pr.Out.URL.Path, pr.Out.URL.RawPath = path, ""
		pr.Out.Host = target.Host
	}
	p.ErrorHandler = func(w http.ResponseWriter, r *http.Request, err error) {
		writeError(w, http.StatusBadGateway, fmt.Sprintf("deployment %s: InferenceService %s: %v", name, isvc, err))
	}
	return p
}
