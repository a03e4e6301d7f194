package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kubeline/kubeline/runtime/admission"
)

// sseStream is one open change stream over real HTTP: every event read.
type sseStream struct {
	mu     sync.Mutex
	raw    strings.Builder
	events []sseEvent
	ended  chan struct{}
	cancel context.CancelFunc
}

type sseEvent struct {
	name    string
	changes []struct{ Kind, ID string }
}

// openStream opens GET /events?kinds=... as token and reads it in the
// background; it fails the test unless the stream answers 200 and "ready".
func openStream(t *testing.T, k *kserver, token, kinds string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", k.kl()+"/events?kinds="+kinds, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "text/event-stream" {
		cancel()
		t.Fatalf("GET /events?kinds=%s: %d %s", kinds, res.StatusCode, res.Header.Get("Content-Type"))
	}
	s := &sseStream{ended: make(chan struct{}), cancel: cancel}
	t.Cleanup(func() { cancel(); res.Body.Close(); <-s.ended })
	go func() {
		defer close(s.ended)
		sc := bufio.NewScanner(res.Body)
		var ev sseEvent
		for sc.Scan() {
			line := sc.Text()
			s.mu.Lock()
			s.raw.WriteString(line + "\n")
			switch {
			case strings.HasPrefix(line, "event: "):
				ev.name = strings.TrimPrefix(line, "event: ")
			case strings.HasPrefix(line, "data: ") && ev.name == "change":
				_ = json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.changes)
			case line == "" && ev.name != "":
				s.events = append(s.events, ev)
				ev = sseEvent{}
			}
			s.mu.Unlock()
		}
	}()
	s.waitFor(t, "the ready event", func(e sseEvent) bool { return e.name == "ready" })
	return s
}

// waitFor waits until an event read so far satisfies ok.
func (s *sseStream) waitFor(t *testing.T, what string, ok func(sseEvent) bool) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		s.mu.Lock()
		for _, e := range s.events {
			if ok(e) {
				s.mu.Unlock()
				return
			}
		}
		s.mu.Unlock()
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("no %s on the stream; it read:\n%s", what, s.text())
}

func (s *sseStream) text() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.raw.String()
}

// changes is every change read, as KIND/ID.
func (s *sseStream) changes() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, e := range s.events {
		for _, c := range e.changes {
			out = append(out, c.Kind+"/"+c.ID)
		}
	}
	return out
}

func hasChange(kind, id string) func(sseEvent) bool {
	return func(e sseEvent) bool {
		for _, c := range e.changes {
			if c.Kind == kind && c.ID == id {
				return true
			}
		}
		return false
	}
}

// TestChangeStream: over real HTTP, two users of groups a and b follow
// runs and pools while each runs a GPU run: each is told of their own
// run and its pool, never of the other group's — not even its id — while
// an operator is told of both; an operator's new pool is everyone's news.
// A stream is refused kinds the caller may not see (deployments for a
// Data Scientist), unknown kinds and callers without a token; Drain (the
// server shutting down) ends every stream.
func TestChangeStream(t *testing.T) {
	k := startKubeline(t, serverOptions{multiUser: true, cluster: []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 2}}})
	makeGroups(t, k, "a", "b")
	op := k.user(t, "olga", []string{"operator"}, []string{"a"})
	dana := k.user(t, "dana", []string{"data-scientist"}, []string{"a"})
	bert := k.user(t, "bert", []string{"data-scientist"}, []string{"b"})
	if r := do(t, "POST", k.kl()+"/pools", op, map[string]any{"name": "bpool", "nodes": []map[string]any{{"name": "n1", "gpus": 1}}}); r.code != 200 {
		t.Fatalf("pool bpool: %d %s", r.code, r.raw)
	}
	if r := do(t, "PATCH", k.kl()+"/groups/b", op, map[string]any{"pool": "bpool"}); r.code != 200 {
		t.Fatalf("group b on bpool: %d %s", r.code, r.raw)
	}

	for _, c := range []struct {
		token, kinds string
		want         int
	}{
		{dana, "deployment", 403}, {dana, "run,bogus", 400}, {dana, "", 400}, {"", "run", 401},
	} {
		req, _ := http.NewRequest("GET", k.kl()+"/events?kinds="+c.kinds, nil)
		if c.token != "" {
			req.Header.Set("Authorization", "Bearer "+c.token)
		}
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != c.want {
			t.Errorf("GET /events?kinds=%s: %d, want %d", c.kinds, res.StatusCode, c.want)
		}
	}

	as := openStream(t, k, dana, "run,pool")
	bs := openStream(t, k, bert, "run,pool")
	ops := openStream(t, k, op, "run,pool")
	run := func(token, name string) string {
		r := do(t, "POST", k.kfp()+"/runs", token, map[string]any{"display_name": name, "pipeline_spec": gpuSpec(t, 1, "0.2")})
		if r.code != 200 {
			t.Fatalf("run %s: %d %s", name, r.code, r.raw)
		}
		return r.body["run_id"].(string)
	}
	bRun := run(bert, "b-train")
	aRun := run(dana, "a-train")
	waitStatus(t, k, bert, bRun, "Complete")
	waitStatus(t, k, dana, aRun, "Complete")
	as.waitFor(t, "dana's run", hasChange("run", aRun))
	as.waitFor(t, "dana's run's pool", hasChange("pool", "default"))
	bs.waitFor(t, "bert's run", hasChange("run", bRun))
	bs.waitFor(t, "bert's run's pool", hasChange("pool", "bpool"))
	ops.waitFor(t, "a's run, to the operator", hasChange("run", aRun))
	ops.waitFor(t, "b's run, to the operator", hasChange("run", bRun))

	// An operator's new pool: everyone's to know.
	if r := do(t, "POST", k.kl()+"/pools", op, map[string]any{"name": "spare", "nodes": []map[string]any{{"name": "n1", "gpus": 1}}}); r.code != 200 {
		t.Fatalf("pool spare: %d %s", r.code, r.raw)
	}
	as.waitFor(t, "the new pool", hasChange("pool", "spare"))
	bs.waitFor(t, "the new pool", hasChange("pool", "spare"))

	// Nothing of the other group: no id of its run, nor of its pool.
	for _, c := range []struct {
		who     string
		s       *sseStream
		mine    []string
		foreign []string
	}{
		{"dana (group a)", as, []string{"run/" + aRun, "pool/default", "pool/spare"}, []string{bRun, "bpool"}},
		{"bert (group b)", bs, []string{"run/" + bRun, "pool/bpool", "pool/spare"}, []string{aRun, "default"}},
	} {
		for _, ch := range c.s.changes() {
			if !slices.Contains(c.mine, ch) {
				t.Errorf("%s was sent %s, which is not of their group (want only %v)", c.who, ch, c.mine)
			}
		}
		for _, f := range c.foreign {
			if strings.Contains(c.s.text(), f) {
				t.Errorf("%s's stream names %s, the other group's:\n%s", c.who, f, c.s.text())
			}
		}
	}

	// The server shutting down ends the streams.
	k.api.Drain(time.Second)
	for _, s := range []*sseStream{as, bs, ops} {
		select {
		case <-s.ended:
		case <-time.After(10 * time.Second):
			t.Fatal("a change stream is still open after Drain")
		}
	}
}
