package apiserver_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/accessibility"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/console"
)

// The console in Debian's headless Chromium against a multi-user server
// (real HTTP, SQLite, the embedded engine running real processes, local
// deployments) with two groups. Screenshots of every page go to
// test-output/console/ at the repository's root.
const consoleShots = "../../test-output/console"

// tab is one signed-in browser tab (session storage, hence the token, is
// per tab) and the API calls it made, read from Chromium's network events.
type tab struct {
	t     *testing.T
	ctx   context.Context
	root  string
	mu    sync.Mutex
	calls []string
}

func newBrowser(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath("/usr/bin/chromium"); err != nil {
		t.Fatalf("the console test needs Debian's chromium (.ci/run installs it): %v", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath("/usr/bin/chromium"), chromedp.Headless, chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.NoFirstRun, chromedp.NoDefaultBrowserCheck, chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-quic", true), chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.WindowSize(1300, 900),
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// signIn opens a new tab and signs in with token on the sign-in page.
func signIn(t *testing.T, browser context.Context, root, token string) *tab {
	t.Helper()
	tb := openSignIn(t, browser, root)
	tb.run("sign in", chromedp.SendKeys(chromedp.CSS("#token"), token), chromedp.Click(chromedp.CSS("#signin button")))
	tb.ready("#/projects")
	return tb
}

// openSignIn opens the sign-in page in a new tab.
func openSignIn(t *testing.T, browser context.Context, root string) *tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(browser)
	t.Cleanup(cancel)
	tb := &tab{t: t, ctx: ctx, root: root}
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("open a tab: %v", err)
	}
	err := chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*network.EventRequestWillBeSent); ok && strings.Contains(e.Request.URL, "/apis/") {
			tb.mu.Lock()
			tb.calls = append(tb.calls, e.Request.Method+" "+strings.TrimPrefix(e.Request.URL, root))
			tb.mu.Unlock()
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	tb.run("open the sign-in page", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := chromedp.Call(ctx, network.Enable, network.EnableParams{})
		return err
	}), chromedp.Navigate(root+console.Path+"#/signin"), chromedp.WaitVisible(chromedp.CSS("#token")))
	tb.ready("#/signin")
	return tb
}

func (tb *tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 40*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		tb.t.Fatalf("%s: %v", what, err)
	}
}

// evalAs evaluates js in the tab's page.
func evalAs[T any](tb *tab, js string) T {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 40*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		tb.t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func (tb *tab) exec(js string) { tb.t.Helper(); evalAs[chromedp.Void](tb, js) }

// ready waits until the page for hash has rendered.
func (tb *tab) ready(hash string) {
	tb.t.Helper()
	tb.waitFor("render "+hash, fmt.Sprintf("document.body.dataset.ready === %q", hash), 30*time.Second)
}

// visit navigates to hash in the page (as a link would) and returns the
// API calls the page made to render.
func (tb *tab) visit(hash string) []string {
	tb.t.Helper()
	// The page left stops polling; a call it had sent is not the next
	// page's.
	tb.exec(`S.serial++; S.timers.forEach(clearTimeout); S.timers = []; S.streams.forEach(c => c.abort()); S.streams = []`)
	time.Sleep(100 * time.Millisecond)
	tb.mu.Lock()
	tb.calls = nil
	tb.mu.Unlock()
	// The same hash again is no hashchange: the page is drawn again.
	tb.exec(fmt.Sprintf(`(() => { if (location.hash === %q) { route() } else { location.hash = %q } })()`, hash, hash))
	tb.ready(hash)
	time.Sleep(50 * time.Millisecond) // network events arrive after the page used the answers
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return slices.Clone(tb.calls)
}

// noErrorBanner fails the test when the page shows its error banner.
func (tb *tab) noErrorBanner(page string) {
	tb.t.Helper()
	banner := evalAs[string](tb, `(() => { const b = document.getElementById('error-banner'); return b.hidden ? '' : b.textContent || 'shown' })()`)
	if banner != "" {
		tb.t.Errorf("%s shows an error banner: %s", page, banner)
	}
}

func (tb *tab) text(sel string) string {
	tb.t.Helper()
	return evalAs[string](tb, fmt.Sprintf(`(() => { const e = document.querySelector(%q); return e ? e.textContent : '' })()`, sel))
}

func (tb *tab) shot(name string) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, 40*time.Second)
	defer cancel()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("screenshot %s: %v", name, err)
	}
	if err := os.MkdirAll(consoleShots, 0o755); err != nil {
		tb.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(consoleShots, name+".png"), png, 0o644); err != nil {
		tb.t.Fatal(err)
	}
}

// waitFor polls a JavaScript condition while the page updates itself.
func (tb *tab) waitFor(what, js string, d time.Duration) {
	tb.t.Helper()
	ctx, cancel := context.WithTimeout(tb.ctx, d+5*time.Second)
	defer cancel()
	if _, err := chromedp.Run(ctx, chromedp.Poll[any](js, chromedp.WithPollingTimeout(d), chromedp.WithPollingInterval(100*time.Millisecond))); err != nil {
		body, _ := chromedp.Run(tb.ctx, chromedp.Evaluate[string](`document.querySelector('main') ? document.querySelector('main').innerText : ''`))
		tb.t.Fatalf("%s: %v\nthe page says:\n%s", what, err, body)
	}
}

// callPattern turns a page's declared call into a pattern of the calls a
// browser sends.
func callPattern(call string) *regexp.Regexp {
	q := regexp.QuoteMeta(call)
	q = regexp.MustCompile(`\\\{[a-z_]+\\\}`).ReplaceAllString(q, `[^/?&]+`)
	return regexp.MustCompile("^GET " + q + "$")
}

// checkCalls holds a page to MaxCalls API calls, each one its declared.
func checkCalls(t *testing.T, page console.Page, hash string, calls []string) {
	t.Helper()
	if len(calls) > console.MaxCalls {
		t.Errorf("%s made %d API calls (at most %d): %v", hash, len(calls), console.MaxCalls, calls)
	}
	if len(calls) == 0 {
		t.Errorf("%s made no API call: its data came from nowhere?", hash)
	}
	for _, c := range calls {
		ok := strings.HasPrefix(c, "GET /apis/kubeline/v1/whoami") // once per sign-in
		if stream, live := console.Streams[page.Route]; live {
			ok = ok || callPattern(stream).MatchString(c)
		}
		for _, want := range page.Calls {
			ok = ok || callPattern(want).MatchString(c)
		}
		if !ok {
			t.Errorf("%s made %s, which console.Pages does not list for %s (%v)", hash, c, page.Route, page.Calls)
		}
	}
}

func pageOf(t *testing.T, route string) console.Page {
	for _, p := range console.Pages {
		if p.Route == route {
			return p
		}
	}
	t.Fatalf("no console page %s", route)
	return console.Page{}
}

// checkA11y reads the page's accessibility tree: every control and link
// has a name, there is one main landmark, a navigation landmark and one
// level-1 heading. Then it walks the page with the Tab key: the skip link
// comes first and every focusable element is reached, none placed out of
// order by a positive tabindex.
func (tb *tab) checkA11y(page string) {
	t := tb.t
	t.Helper()
	ax, err := chromedp.Call(tb.ctx, accessibility.GetFullAXTree, accessibility.GetFullAXTreeParams{})
	if err != nil {
		t.Fatalf("accessibility tree of %s: %v", page, err)
	}
	nodes := ax.Nodes
	str := func(v *accessibility.Value) string {
		if v == nil {
			return ""
		}
		var s string
		_ = json.Unmarshal([]byte(v.Value), &s)
		return strings.TrimSpace(s)
	}
	interactive := map[string]bool{"button": true, "link": true, "textbox": true, "combobox": true, "checkbox": true, "spinbutton": true,
		"searchbox": true, "radio": true, "slider": true, "menuitem": true, "tab": true, "listbox": true}
	roles := map[string]int{}
	var h1 int
	for _, n := range nodes {
		if n.Ignored {
			continue
		}
		role := str(n.Role)
		roles[role]++
		if interactive[role] && str(n.Name) == "" {
			t.Errorf("%s: a %s has no accessible name (AX node %s)", page, role, n.NodeID)
		}
		if role == "heading" {
			for _, p := range n.Properties {
				if p.Name == accessibility.PropertyNameLevel && string(p.Value.Value) == "1" {
					h1++
				}
			}
		}
	}
	if roles["main"] != 1 || roles["navigation"] < 1 || h1 != 1 {
		t.Errorf("%s: %d main landmarks, %d navigation landmarks, %d level-1 headings; want 1, 1 or more, 1", page, roles["main"], roles["navigation"], h1)
	}
	// The keyboard: every focusable element, by what it is and says.
	const describe = `(e) => [e.tagName.toLowerCase(), e.id, e.getAttribute('href') || '', e.getAttribute('aria-label') || '', (e.textContent || '').trim().slice(0, 40)].join('|')`
	focusable := evalAs[[]string](tb, `(() => { const d = `+describe+`; return Array.from(document.querySelectorAll('a[href], button, input, select, textarea, [tabindex]'))
		.filter(e => !e.disabled && e.getAttribute('tabindex') !== '-1' && e.getClientRects().length > 0 || e.id === 'skip').map(d) })()`)
	positive := evalAs[int](tb, `Array.from(document.querySelectorAll('[tabindex]')).filter(e => e.tabIndex > 0).length`)
	if positive > 0 {
		t.Errorf("%s: %d elements with a positive tabindex", page, positive)
	}
	if len(focusable) == 0 || !strings.HasPrefix(focusable[0], "a|skip|") {
		t.Errorf("%s: the first focusable element is not the skip link: %v", page, focusable[:min(len(focusable), 1)])
	}
	// From the skip link (the top), Tab through the page.
	reached := map[string]bool{}
	active := `(() => { const d = ` + describe + `; return document.activeElement ? d(document.activeElement) : '' })()`
	tb.exec(`window.scrollTo(0, 0); document.getElementById('skip').focus()`)
	reached[evalAs[string](tb, active)] = true
	for range len(focusable) + 2 {
		tb.run("tab", chromedp.KeyEvent(kb.Tab))
		reached[evalAs[string](tb, active)] = true
	}
	for _, f := range focusable {
		if !reached[f] {
			t.Errorf("%s: the keyboard never reaches %s (Tab from the top, %d presses)", page, f, len(focusable)+3)
		}
	}
}

// consoleWorld is the server and what the test made on it.
type consoleWorld struct {
	k                        *kserver
	op, dana, mel, pat, bert string // tokens: operator; data scientist, ML and production engineers of a; data scientist of b
	trainRun, experiment     string
}

func newConsoleWorld(t *testing.T) *consoleWorld {
	k := startKubeline(t, serverOptions{multiUser: true, cluster: []admission.ClusterNode{{Name: "n1", GPUType: "t4", GPUs: 2}}})
	w := &consoleWorld{k: k}
	makeGroups(t, k, "a", "b")
	w.op = k.user(t, "olga", []string{"operator"}, []string{"a"})
	ok := func(r resp, what string) resp {
		t.Helper()
		if r.code != 200 {
			t.Fatalf("%s: %d %s", what, r.code, r.raw)
		}
		return r
	}
	ok(do(t, "POST", k.kl()+"/pools", w.op, map[string]any{"name": "train", "nodes": []map[string]any{{"name": "n1", "gpus": 1}}}), "pool train")
	ok(do(t, "PATCH", k.kl()+"/groups/a", w.op, map[string]any{"pool": "train"}), "group a on pool train")
	w.dana = k.user(t, "dana", []string{"data-scientist"}, []string{"a"})
	w.mel = k.user(t, "mel", []string{"ml-engineer"}, []string{"a"})
	w.pat = k.user(t, "pat", []string{"production-engineer"}, []string{"a"})
	w.bert = k.user(t, "bert", []string{"data-scientist"}, []string{"b"})
	ok(uploadVersionAs(t, k, "dataset", "d", "1\n2\n3\n4\n", w.dana), "upload d")
	ok(uploadVersionAs(t, k, "dataset", "bdata", "9\n", w.bert), "upload bdata")
	p := ok(do(t, "POST", k.kl()+"/projects", w.dana, map[string]any{"name": "churn", "group": "a", "metric": "accuracy"}), "project")
	r := ok(do(t, "POST", k.kfp()+"/runs", w.dana, map[string]any{"display_name": "train lr 0.1", "experiment_id": p.body["experiment_id"],
		"pipeline_spec": trainSpec(t), "runtime_config": map[string]any{"parameters": map[string]any{"lr": "0.1", "data": "dataset://d@v1"}}}), "train")
	w.trainRun = r.body["run_id"].(string)
	waitStatus(t, k, w.dana, w.trainRun, "Complete")
	return w
}

// TestConsole is the console's acceptance test (#23): what each role sees
// and does in a browser, and every page held to its API calls, the
// error banner and the accessibility checks.
func TestConsole(t *testing.T) {
	w := newConsoleWorld(t)
	k := w.k
	browser := newBrowser(t)

	// The sign-in page; a token that is not valid signs nobody in.
	anon := openSignIn(t, browser, k.root)
	anon.checkA11y("sign-in")
	anon.shot("sign-in")
	anon.run("sign in with a bad token", chromedp.SendKeys(chromedp.CSS("#token"), "kl_nope"), chromedp.Click(chromedp.CSS("#signin button")))
	anon.waitFor("the refusal", `document.getElementById('signin-result').textContent.includes('not valid')`, 10*time.Second)
	stored := evalAs[string](anon, `sessionStorage.getItem('kubeline.token') || ''`)
	if stored != "" {
		t.Errorf("a refused token is kept in the session: %q", stored)
	}

	// A Data Scientist of group a: a's datasets and not b's; no catalog.
	dana := signIn(t, browser, k.root, w.dana)
	if who := dana.text("#who"); !strings.Contains(who, "dana (data-scientist; a)") || !strings.Contains(who, "Sign out") || strings.Contains(who, "<") {
		t.Errorf("the signed-in user reads %q", who)
	}
	dana.visit("#/datasets")
	names := evalAs[[]string](dana, `Array.from(document.querySelectorAll('main tbody a')).map(a => a.textContent)`)
	if !slices.Contains(names, "d") || slices.Contains(names, "bdata") {
		t.Errorf("dana's datasets page links %v: want d, not group b's bdata", names)
	}
	dana.noErrorBanner("dana's datasets")
	dana.shot("datasets-data-scientist")
	if evalAs[bool](dana, `!!document.querySelector('nav a[href="#/catalog"]')`) {
		t.Errorf("a Data Scientist's navigation links the catalog")
	}
	dana.visit("#/catalog")
	if n := dana.text("#notice"); !strings.Contains(n, "catalog") {
		t.Errorf("a Data Scientist opening the catalog: notice %q, want the API's refusal", n)
	}
	dana.noErrorBanner("dana's catalog")
	dana.shot("catalog-data-scientist")

	// The lineage of m@v1 links to its training run and dataset version.
	dana.visit("#/models/m/v1")
	links := evalAs[[]string](dana, `Array.from(document.querySelectorAll('#lineage svg a')).map(a => a.getAttribute('href'))`)
	if !slices.Contains(links, "#/datasets/d/v1") || !slices.Contains(links, "/#/runs/details/"+w.trainRun) {
		t.Errorf("lineage of m@v1 links %v: want #/datasets/d/v1 and the training run %s", links, w.trainRun)
	}
	dana.shot("lineage-model")
	dana.run("click d@v1 in the lineage", chromedp.Click(chromedp.CSS(`#lineage svg a[href="#/datasets/d/v1"]`)))
	dana.ready("#/datasets/d/v1")
	if h := dana.text("main h1"); h != "dataset://d@v1" {
		t.Errorf("the lineage's dataset link opens %q", h)
	}
	if u := dana.text("main table tbody"); !strings.Contains(u, "SUCCEEDED") {
		t.Errorf("d@v1's usage does not show the training run: %q", u)
	}
	dana.noErrorBanner("d@v1")

	// An ML Engineer publishes m@v1 from the catalog page.
	mel := signIn(t, browser, k.root, w.mel)
	mel.visit("#/catalog")
	mel.shot("catalog-before-publish")
	mel.run("publish m@v1", chromedp.Click(chromedp.CSS(`button.publish[data-name="m"]`)))
	mel.waitFor("m@v1 in the catalog", `(document.querySelector('main table tbody') || {}).textContent.includes('m@v1')`, 10*time.Second)
	mel.noErrorBanner("catalog after publishing")
	mel.shot("catalog-published")
	if r := do(t, "GET", k.kl()+"/catalog", w.mel, nil); !strings.Contains(r.raw, `"published_by":"mel"`) {
		t.Fatalf("the catalog after the console's publish: %s", r.raw)
	}

	// A Production Engineer deploys it and sees the deployment's chart.
	pat := signIn(t, browser, k.root, w.pat)
	pat.visit("#/catalog")
	predictor, err := filepath.Abs("../../examples/serve-model/predictor.py")
	if err != nil {
		t.Fatal(err)
	}
	pat.run("fill the deploy form", chromedp.SendKeys(chromedp.CSS("#deploy-name"), "m-serve"),
		chromedp.SendKeys(chromedp.CSS("#deploy-command"), "python3 "+predictor))
	pat.shot("catalog-deploy")
	pat.run("deploy", chromedp.Click(chromedp.CSS("#deploy-form button")))
	pat.ready("#/deployments/m-serve")
	pat.noErrorBanner("the new deployment")
	pat.followsStream("the deployment's page", "/traffic") // console_live_browser_test.go
	for i := range 6 {
		if r := do(t, "POST", k.root+"/v1/models/m-serve:predict", w.pat, map[string]any{"instances": []any{0.5 * float64(i), 2}}); r.code != 200 {
			t.Fatalf("predict: %d %s", r.code, r.raw)
		}
	}
	pat.waitFor("the chart counts the 6 requests", `Number(document.getElementById('traffic').dataset.totalRequests) >= 6`, 10*time.Second)
	if evalAs[int](pat, `document.querySelectorAll('#traffic svg rect.bar').length`) == 0 {
		t.Errorf("the deployment's chart draws no request bars")
	}
	pat.shot("deployment-chart")

	// An operator gives pool train the node's second GPU: dana's 2-GPU run
	// waiting in the queue starts, and the queue page shows it.
	waiting := do(t, "POST", k.kfp()+"/runs", w.dana, map[string]any{"display_name": "big-train", "pipeline_spec": gpuSpec(t, 2, "6")}).body["run_id"].(string)
	after := do(t, "POST", k.kfp()+"/runs", w.mel, map[string]any{"display_name": "mels-train", "pipeline_spec": gpuSpec(t, 2, "0.1")}).body["run_id"].(string)
	waitStatus(t, k, w.dana, waiting, "Queued")
	dana.visit("#/queue")
	startButtons := evalAs[[]string](dana, `Array.from(document.querySelectorAll('button.start')).map(b => b.dataset.run)`)
	if !slices.Equal(startButtons, []string{waiting}) {
		t.Errorf("dana may start anyway %v, want only her own run %s (not mel's %s)", startButtons, waiting, after)
	}
	if q := dana.text("main tbody"); !strings.Contains(q, "needs 2 × t4") {
		t.Errorf("the queue does not say why big-train waits: %q", q)
	}
	dana.shot("queue-waiting")
	dana.followsStream("dana's queue", "/apis/kubeline/v1/queue")
	dana.visit("#/pools")
	dana.followsStream("dana's pools page", "/apis/kubeline/v1/pools")
	dana.exec(`window.kubelineMark = 2`)
	op := signIn(t, browser, k.root, w.op)
	op.visit("#/queue")
	op.visit("#/pools")
	op.shot("pools-before")
	op.run("give pool train 2 GPUs", chromedp.SetValue(chromedp.CSS("#gpus-train-n1"), "2"), chromedp.Click(chromedp.CSS(`form.pool-form[data-pool="train"] button`)))
	op.waitFor("pool train holds 2 GPUs", `document.querySelector('#pool-train').parentNode.textContent.includes('of 2 GPUs')`, 10*time.Second)
	op.noErrorBanner("pools after the change")
	// The default pool's GPUs are all pool train's now: its card says so
	// (the default pool holds every GPU no other pool was given).
	if got, want := op.text("#default-pool-empty"), "No GPUs left for the default pool: all 2 of the cluster's GPUs are in pool train. "+
		"It gets GPUs back when an operator takes them from another pool; until then, runs of groups b, default that need GPUs wait (0 now)."; got != want {
		t.Errorf("the default pool's card says %q, want %q", got, want)
	}
	if strings.Contains(op.text("main"), "0 of 0") {
		t.Errorf("the pools page still reads 0 of 0 GPUs: %q", op.text("main"))
	}
	// dana's pools page, open meanwhile, shows it without a reload.
	dana.waitFor("dana's pools page shows train's 2 GPUs", `(document.querySelector('.pool-live[data-pool="train"]') || {}).textContent.includes('of 2 GPUs')`, 15*time.Second)
	if evalAs[int](dana, `window.kubelineMark || 0`) != 2 {
		t.Errorf("dana's pools page reloaded instead of updating")
	}
	dana.noErrorBanner("dana's live pools page")
	op.visit("#/queue")
	op.waitFor("big-train runs", `Array.from(document.querySelectorAll('main tbody tr')).some(r => r.textContent.includes('big-train') && /Starting|Running/.test(r.textContent))`, 20*time.Second)
	op.shot("queue-started")
	op.visit("#/pools")
	op.shot("pools-after")

	// An HPO experiment's page updates while it runs.
	exp := do(t, "POST", k.kfp()+"/runs", w.dana, map[string]any{"display_name": "tune", "pipeline_spec": experimentSpec(t, 5, 1, "0.4")})
	if exp.code != 200 {
		t.Fatalf("experiment: %d %s", exp.code, exp.raw)
	}
	w.experiment = exp.body["run_id"].(string)
	dana.visit("#/hpo/" + w.experiment)
	dana.exec(`window.kubelineMark = 1`)
	dana.waitFor("the HPO page follows the change stream", `document.body.dataset.live === 'stream'`, 15*time.Second)
	first := evalAs[int](dana, `Number(document.getElementById('main').dataset.trials)`)
	dana.waitFor("more trials on the page", fmt.Sprintf(`Number(document.getElementById('main').dataset.trials) > %d && Number(document.getElementById('main').dataset.trials) < 5`, first), 60*time.Second)
	dana.shot("hpo-running")
	dana.waitFor("all 5 trials on the page", `Number(document.getElementById('main').dataset.trials) === 5 && document.querySelector('main').textContent.includes('SUCCEEDED')`, 90*time.Second)
	if evalAs[int](dana, `window.kubelineMark || 0`) != 1 {
		t.Errorf("the HPO page reloaded instead of updating")
	}
	dana.shot("hpo-done")
	waitStatus(t, k, w.op, after, "Complete")

	// The operators' forms, and a canary deployed from the catalog page
	// (console_forms_browser_test.go).
	consoleOperatorForms(t, w, browser)
	consoleCanary(t, w, browser)
	consoleDeployForm(t, w, browser) // console_deploy_browser_test.go

	// Every page as the operator: calls, no error banner, accessibility.
	for _, c := range []struct{ route, hash string }{
		{"#/projects", "#/projects"}, {"#/projects/{name}", "#/projects/churn"}, {"#/runs", "#/runs"},
		{"#/datasets", "#/datasets"}, {"#/featuresets", "#/featuresets"}, {"#/code", "#/code"}, {"#/models", "#/models"},
		{"#/{kind}/{name}", "#/models/m"}, {"#/{kind}/{name}/v{version}", "#/models/m/v1"}, {"#/{kind}/{name}/v{version}", "#/datasets/d/v1"},
		{"#/catalog", "#/catalog"}, {"#/deployments", "#/deployments"}, {"#/deployments/{name}", "#/deployments/m-serve"}, {"#/deployments/{name}/edit", "#/deployments/m-serve/edit"},
		{"#/pools", "#/pools"}, {"#/queue", "#/queue"}, {"#/hpo", "#/hpo"}, {"#/hpo/{id}", "#/hpo/" + w.experiment},
		{"#/compare", "#/compare?run_id=" + w.trainRun}, {"#/ides", "#/ides"}, {"#/users", "#/users"}, {"#/groups", "#/groups"}, {"#/images", "#/images"},
	} {
		calls := op.visit(c.hash)
		checkCalls(t, pageOf(t, c.route), c.hash, calls)
		op.noErrorBanner(c.hash)
		op.checkA11y(c.hash)
		name := strings.NewReplacer("#/", "", "/", "-", "?", "-", "=", "-", "{", "", "}", "").Replace(c.hash)
		op.shot("operator-" + name[:min(len(name), 40)])
		t.Logf("%s: %d API calls", c.hash, len(calls))
	}
	// Without the change stream, a live page polls.
	mel.fallsBackToPolling("#/queue", "/apis/kubeline/v1/queue")
	// The sign-in page and a Data Scientist's pages are checked too.
	for _, hash := range []string{"#/projects/churn", "#/models/m/v1", "#/queue", "#/hpo/" + w.experiment} {
		dana.visit(hash)
		dana.noErrorBanner("dana's " + hash)
		dana.checkA11y("dana's " + hash)
	}
}
