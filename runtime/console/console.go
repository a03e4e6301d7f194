package console

import (
	"embed"
	"io/fs"
	"net/http"
	"strings"
)

//go:embed static
var static embed.FS

// Path is where the console is served.
const Path = "/console/"

// MaxCalls is the most API calls a page makes to render.
const MaxCalls = 5

// Page is one console page: its hash route (placeholders in braces), the
// permission its data needs (the API's policy table decides; the console
// only hides what the caller cannot open), and the API calls it makes to
// render, with the same placeholders ({name}, {version}, {id}, {run},
// {experiment_id}) and query strings as the page sends them.
type Page struct {
	Route, Title, Need string
	Calls              []string
}

const kl = "/apis/kubeline/v1"

// Pages is every page of the console.
var Pages = []Page{
	{"#/projects", "Projects", "view", []string{kl + "/projects"}},
	{"#/projects/{name}", "Project", "view", []string{kl + "/projects/{name}", "/apis/v2beta1/runs?experiment_id={experiment_id}&page_size=20&sort_by=created_at%20desc",
		kl + "/projects/{name}/leaderboard", kl + "/projects/{name}/versions?page_size=20"}},
	{"#/runs", "Runs", "view", []string{"/apis/v2beta1/runs?page_size=50&sort_by=created_at%20desc"}},
	{"#/datasets", "Datasets", "view", []string{kl + "/datasets"}},
	{"#/featuresets", "Featuresets", "view", []string{kl + "/featuresets"}},
	{"#/code", "Code", "view", []string{kl + "/code"}},
	{"#/models", "Models", "view", []string{kl + "/models"}},
	{"#/{kind}/{name}", "Versions", "view", []string{kl + "/{kind}/{name}/versions"}},
	{"#/{kind}/{name}/v{version}", "Version", "view", []string{kl + "/{kind}/{name}/versions/v{version}", kl + "/{kind}/{name}/versions/v{version}/usage?limit=50",
		kl + "/{kind}/{name}/versions/v{version}/lineage?format=svg"}},
	{"#/catalog", "Catalog", "catalog", []string{kl + "/catalog", kl + "/models"}},
	{"#/deployments", "Deployments", "catalog", []string{kl + "/deployments"}},
	{"#/deployments/{name}", "Deployment", "catalog", []string{kl + "/deployments/{name}", kl + "/deployments/{name}/traffic?seconds=300&step=5"}},
	{"#/deployments/{name}/edit", "Change deployment", "catalog", []string{kl + "/deployments/{name}", kl + "/catalog"}},
	{"#/pools", "GPU pools", "view", []string{kl + "/pools?history_seconds=3600"}},
	{"#/queue", "Queue", "view", []string{kl + "/queue"}},
	{"#/hpo", "HPO experiments", "view", []string{kl + "/hpo/experiments"}},
	{"#/hpo/{id}", "HPO experiment", "view", []string{kl + "/hpo/experiments/{id}"}},
	{"#/compare", "Compare", "view", []string{kl + "/compare?run_id={run}"}},
	{"#/ides", "IDEs", "view", []string{kl + "/ides"}},
	{"#/users", "Users", "operate", []string{kl + "/users?page_size=200", kl + "/groups?page_size=200"}},
	{"#/groups", "Groups", "view", []string{kl + "/groups?page_size=200", kl + "/pools"}},  // pools: an operator's forms
	{"#/images", "Images", "view", []string{kl + "/images", kl + "/groups?page_size=200"}}, // groups: an operator's form
}

// Streams are the change streams pages follow to stay live (GET
// /events?kinds=..., Server-Sent Events; a page polls its calls when the
// stream fails). A stream is opened while the page renders, so it counts
// among the page's calls.
var Streams = map[string]string{
	"#/deployments/{name}": kl + "/events?kinds=deployment",
	"#/pools":              kl + "/events?kinds=pool",
	"#/queue":              kl + "/events?kinds=run,ide",
	"#/hpo/{id}":           kl + "/events?kinds=run",
}

// Handler serves the console's files under Path. They are the same for
// every caller and hold no data: the pages ask the API for it.
func Handler() http.Handler {
	sub, err := fs.Sub(static, "static")
	if err != nil {
		panic(err) // the embedded tree is fixed at build time
	}
	files := http.StripPrefix(Path, http.FileServer(http.FS(sub)))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		// Nothing but the server itself: no CDN, no inline script.
		h.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "no-referrer")
		if r.URL.Path == Path || strings.HasSuffix(r.URL.Path, ".html") {
			h.Set("Cache-Control", "no-cache")
		}
		files.ServeHTTP(w, r)
	})
}
