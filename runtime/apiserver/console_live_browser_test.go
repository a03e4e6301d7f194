package apiserver_test

import (
	"slices"
	"strings"
	"time"
)

// The console's live pages in the browser: they follow the API's change
// stream and read their data again only when it says something changed;
// without the stream they poll (TestConsole calls these; the stream's
// scoping to the caller's groups is TestChangeStream's, over real HTTP).

// callsOver is the API calls the tab's page makes over d, and how many
// pushed changes made it read again meanwhile.
func (tb *tab) callsOver(d time.Duration) ([]string, int) {
	tb.t.Helper()
	before := evalAs[int](tb, `Number(document.body.dataset.pushes || 0)`)
	tb.mu.Lock()
	tb.calls = nil
	tb.mu.Unlock()
	time.Sleep(d)
	after := evalAs[int](tb, `Number(document.body.dataset.pushes || 0)`)
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.calls), after - before
}

func countCalls(calls []string, what string) int {
	n := 0
	for _, c := range calls {
		if strings.Contains(c, what) {
			n++
		}
	}
	return n
}

// followsStream checks that the tab's page is live on the change stream
// and does not poll: over 4.5 s (two polls' time), every read of what
// came after a pushed change.
func (tb *tab) followsStream(page, what string) {
	tb.t.Helper()
	tb.waitFor(page+" follows the change stream", `document.body.dataset.live === 'stream'`, 15*time.Second)
	calls, pushes := tb.callsOver(4500 * time.Millisecond)
	if n := countCalls(calls, what); n > pushes {
		tb.t.Errorf("%s read %s %d times in 4.5 s with %d changes pushed: it polls (%v)", page, what, n, pushes, calls)
	}
}

// fallsBackToPolling: with the change stream failing (the page's fetch of
// it refused), the page at hash polls what every 2 s, with no error shown.
func (tb *tab) fallsBackToPolling(hash, what string) {
	tb.t.Helper()
	tb.exec(`window.kubelineFetch = window.kubelineFetch || window.fetch;
		window.fetch = (u, o) => String(u).includes('/events?') ? Promise.reject(new TypeError('the test refuses the change stream')) : window.kubelineFetch(u, o)`)
	defer tb.exec(`window.fetch = window.kubelineFetch`)
	tb.visit(hash)
	tb.waitFor(hash+" polls without the stream", `document.body.dataset.live === 'polling'`, 10*time.Second)
	calls, _ := tb.callsOver(4500 * time.Millisecond)
	if n := countCalls(calls, what); n < 1 {
		tb.t.Errorf("%s without the change stream read %s %d times in 4.5 s: it does not poll (%v)", hash, what, n, calls)
	}
	tb.noErrorBanner(hash + " without the change stream")
}
