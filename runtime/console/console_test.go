package console

import (
	"io"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestHandler: the console's files under Path, each with a policy that
// allows nothing but the server itself (no CDN, no inline script).
func TestHandler(t *testing.T) {
	h := Handler()
	for _, c := range []struct {
		path, contains, ctype string
		code                  int
	}{
		{Path, `<script src="console.js"></script>`, "text/html", 200},
		{Path + "console.js", "async function route()", "text/javascript", 200},
		{Path + "console.css", ".error-banner", "text/css", 200},
		{Path + "operator.js", "async function pageUsers(", "text/javascript", 200},
		{Path + "nope.js", "", "", 404},
	} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", c.path, nil))
		body, _ := io.ReadAll(rec.Result().Body)
		if rec.Code != c.code || !strings.Contains(string(body), c.contains) || !strings.HasPrefix(rec.Header().Get("Content-Type"), c.ctype) {
			t.Errorf("GET %s: %d %q %.80s", c.path, rec.Code, rec.Header().Get("Content-Type"), body)
		}
		if csp := rec.Header().Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") || !strings.Contains(csp, "script-src 'self'") {
			t.Errorf("GET %s: Content-Security-Policy %q", c.path, csp)
		}
	}
}

// TestNoThirdParty: the files name no other origin (the machines have no
// internet, and the console needs none).
func TestNoThirdParty(t *testing.T) {
	for _, f := range []string{"static/index.html", "static/console.js", "static/operator.js", "static/console.css"} {
		b, err := static.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range regexp.MustCompile(`(?:src|href)=["']?(https?:)?//[^"' >]+`).FindAllString(string(b), -1) {
			t.Errorf("%s loads %s", f, m)
		}
	}
}

// TestPages: every page makes at most MaxCalls calls, each under an API
// root; the routes are the ones console.js knows.
func TestPages(t *testing.T) {
	js, err := static.ReadFile("static/console.js")
	if err != nil {
		t.Fatal(err)
	}
	routes := regexp.MustCompile(`(?s)const ROUTES = \[(.*?)\n\];`).FindSubmatch(js)
	if routes == nil {
		t.Fatal("console.js has no ROUTES")
	}
	for _, p := range Pages {
		calls := len(p.Calls)
		if _, live := Streams[p.Route]; live {
			calls++ // the stream is opened while the page renders
		}
		if len(p.Calls) == 0 || calls > MaxCalls {
			t.Errorf("%s: %d calls", p.Route, calls)
		}
		for _, c := range p.Calls {
			if !strings.HasPrefix(c, "/apis/kubeline/v1/") && !strings.HasPrefix(c, "/apis/v2beta1/") {
				t.Errorf("%s calls %s, outside the API", p.Route, c)
			}
		}
		if _, ok := map[string]bool{"view": true, "catalog": true, "operate": true}[p.Need]; !ok {
			t.Errorf("%s needs %q", p.Route, p.Need)
		}
		word := strings.Split(strings.TrimPrefix(p.Route, "#/"), "/")[0]
		if !strings.HasPrefix(word, "{") && !regexp.MustCompile(`[/(|]`+word+`[)$|(\\/]`).Match(routes[1]) {
			t.Errorf("%s: console.js has no route for %s", p.Route, word)
		}
	}
}

// TestStreams: every stream is a page's, under the API's change stream.
func TestStreams(t *testing.T) {
	for route, s := range Streams {
		if !slices.ContainsFunc(Pages, func(p Page) bool { return p.Route == route }) {
			t.Errorf("stream %s: no page %s", s, route)
		}
		if !strings.HasPrefix(s, kl+"/events?kinds=") {
			t.Errorf("%s follows %s, not the change stream", route, s)
		}
	}
}
