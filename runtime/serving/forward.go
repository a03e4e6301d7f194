package serving

import (
	"net/http"
	"net/http/httputil"
	"net/url"
	"strings"
)

// forwarder proxies inference requests to a deployment's process, whose
// command its deployer chose: it gets the request's path, body and content
// headers only — never the caller's Authorization, cookies or anything
// else of the caller's or kubeline's — and its answer sets no cookie.
func forwarder(target *url.URL) *httputil.ReverseProxy {
	return &httputil.ReverseProxy{
		BufferPool: &buffers,
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(target)
			pr.Out.Header = contentHeaders(pr.In.Header)
		},
		ModifyResponse: func(r *http.Response) error {
			r.Header.Del("Set-Cookie")
			return nil
		},
	}
}

// contentHeaders keeps the headers that describe the body and what answer
// the caller accepts.
func contentHeaders(in http.Header) http.Header {
	out := http.Header{}
	for k, v := range in {
		if c := http.CanonicalHeaderKey(k); strings.HasPrefix(c, "Content-") || strings.HasPrefix(c, "Accept") {
			out[c] = append([]string(nil), v...)
		}
	}
	return out
}
