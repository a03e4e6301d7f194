package main

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfigContexts: --server/--token come from flags, the environment,
// or the config file's current context (like kubectl's); a context's token
// goes only to its own server; the file is private to its owner.
func TestConfigContexts(t *testing.T) {
	home := t.TempDir()
	t.Setenv("KUBELINE_HOME", home)
	t.Setenv("KUBELINE_TOKEN", "")
	u, log, _ := startServer(t, accessFlags{multiUser: true})
	m := regexp.MustCompile(`KUBELINE_TOKEN=(\S+)`).FindStringSubmatch(log.String())
	require.NotNil(t, m, "no operator token in %s", log.String())
	admin := m[1]

	// A recorder of the Authorization header each request carried.
	var mu sync.Mutex
	var auth []string
	rec := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		auth = append(auth, r.Header.Get("Authorization"))
		mu.Unlock()
		json.NewEncoder(w).Encode(map[string]any{"name": "recorder", "roles": []string{}})
	}))
	defer rec.Close()
	lastAuth := func() string {
		mu.Lock()
		defer mu.Unlock()
		require.NotEmpty(t, auth)
		return auth[len(auth)-1]
	}

	env := []string{"KUBELINE_HOME=" + home, "KUBELINE_SERVER=", "KUBELINE_TOKEN=", "KUBELINE_CONTEXT=", "KUBELINE_CONFIG="}
	kl := func(extra []string, args ...string) result {
		return kubelineIn(t, t.TempDir(), append(append([]string{}, env...), extra...), args...)
	}
	// No context, no server: the local default, which does not answer.
	r := kl(nil, "users", "whoami")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "http://127.0.0.1:8888 (from the default)")

	r = kl(nil, "config", "set-context", "team", "--server", u, "--token", admin)
	require.Equal(t, 0, r.code, r.stderr)
	fi, err := os.Stat(filepath.Join(home, "config"))
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the config file holds tokens")

	r = kl(nil, "users", "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `name:\s+admin`, r.stdout)

	r = kl(nil, "config", "get-contexts", "-o", "json")
	require.Equal(t, 0, r.code, r.stderr)
	assert.JSONEq(t, `{"contexts": [{"name": "team", "server": "`+u+`", "token_set": true, "current": true}]}`, r.stdout)
	assert.NotContains(t, r.stdout, admin)

	// --server elsewhere: the context's token stays home.
	r = kl(nil, "users", "whoami", "--server", rec.URL)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Empty(t, lastAuth(), "the context's token went to another server")
	// $KUBELINE_TOKEN and --token are sent wherever asked.
	r = kl([]string{"KUBELINE_TOKEN=envtoken"}, "users", "whoami", "--server", rec.URL)
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Bearer envtoken", lastAuth())
	r = kl([]string{"KUBELINE_TOKEN=envtoken"}, "users", "whoami", "--server", rec.URL, "--token", "flagtoken")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Equal(t, "Bearer flagtoken", lastAuth())

	// A second context becomes current; $KUBELINE_CONTEXT picks another.
	require.Equal(t, 0, kl(nil, "config", "set-context", "rec", "--server", rec.URL, "--use").code)
	r = kl(nil, "config", "current-context")
	assert.Equal(t, "rec\n", r.stdout)
	r = kl(nil, "users", "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `name:\s+recorder`, r.stdout)
	r = kl([]string{"KUBELINE_CONTEXT=team"}, "users", "whoami")
	require.Equal(t, 0, r.code, r.stderr)
	assert.Regexp(t, `name:\s+admin`, r.stdout)
	// $KUBELINE_SERVER beats the context.
	r = kl([]string{"KUBELINE_SERVER=" + u, "KUBELINE_TOKEN=" + admin}, "users", "whoami")
	assert.Regexp(t, `name:\s+admin`, r.stdout)

	r = kl(nil, "config", "use-context", "nope")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `no context "nope"`)
	r = kl([]string{"KUBELINE_CONTEXT=nope"}, "users", "whoami")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, `context "nope" is not in`)
	require.Equal(t, 0, kl(nil, "config", "delete-context", "rec").code)
	r = kl(nil, "config", "get-contexts")
	assert.Regexp(t, `(?m)^\s+team\s+`+regexp.QuoteMeta(u)+`\s+set$`, r.stdout)

	// A broken file is an error naming it, never ignored.
	bad := filepath.Join(t.TempDir(), "config")
	require.NoError(t, os.WriteFile(bad, []byte("contexts: [{name: x, sever: y}]\n"), 0o600))
	r = kl([]string{"KUBELINE_CONFIG=" + bad}, "users", "whoami")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stderr, "config file "+bad)
	assert.Contains(t, r.stderr, `unknown field "sever"`)
}
