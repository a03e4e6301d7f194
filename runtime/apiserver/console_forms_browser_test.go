package apiserver_test

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// The operators' forms and the Deploy form's canary and transformer, in
// the browser (TestConsole calls these on its server, before it checks
// every page's calls and accessibility with what they made).

// css is a chromedp selector by CSS.
func css(sel string) chromedp.CSS { return chromedp.CSS(sel) }

// resultSays waits until the page's action result includes want.
func (tb *tab) resultSays(what, want string) {
	tb.t.Helper()
	tb.waitFor(what, fmt.Sprintf(`((document.getElementById('action-result') || {}).textContent || '').includes(%q)`, want), 15*time.Second)
	tb.noErrorBanner(what)
}

// consoleOperatorForms: an operator adds a user to a group on the users
// page and makes their token (which signs them in), creates a group and
// gives it a pool, creates and deletes a pool, registers and removes
// images; the API's refusals of bad input show in its words. Non-operators get no such
// forms (a Data Scientist only her own group's image form); a tab whose
// roles were taken away since it drew its forms gets the API's 403 in the
// banner and stays a working page.
func consoleOperatorForms(t *testing.T, w *consoleWorld, browser context.Context) {
	k := w.k
	op := signIn(t, browser, k.root, w.op)

	// Users: ivan, an operator in group a, and his token.
	checkCalls(t, pageOf(t, "#/users"), "#/users", op.visit("#/users"))
	op.run("fill the add-user form", chromedp.SendKeys(css("#user-name"), "ivan"),
		chromedp.Click(css("#user-role-operator")), chromedp.Click(css("#user-group-a")))
	op.shot("users-add")
	op.run("add ivan", chromedp.Click(css("#user-form button[type=submit]")))
	op.resultSays("ivan added", "User ivan added")
	if r := do(t, "GET", k.kl()+"/users/ivan", w.op, nil); r.code != 200 || !strings.Contains(r.raw, `"roles":["operator"]`) || !strings.Contains(r.raw, `"groups":["a"]`) {
		t.Fatalf("ivan after the console's add-user form: %d %s", r.code, r.raw)
	}
	op.run("make ivan a token", chromedp.Click(css(`button.token-user[data-user="ivan"]`)))
	op.waitFor("the token shown", `!!document.getElementById('new-token')`, 10*time.Second)
	op.noErrorBanner("ivan's token")
	op.shot("users-token")
	ivan := signIn(t, browser, k.root, strings.TrimSpace(op.text("#new-token")))
	if who := ivan.text("#who"); !strings.Contains(who, "ivan (operator; a)") {
		t.Errorf("the token the users page made signs in %q, want ivan (operator; a)", who)
	}

	// Groups: c made on the default pool, then given pool train.
	checkCalls(t, pageOf(t, "#/groups"), "#/groups", op.visit("#/groups"))
	op.run("create group c", chromedp.SendKeys(css("#group-name"), "c"), chromedp.Click(css("#group-form button[type=submit]")))
	op.resultSays("group c created", "Group c created on pool default")
	op.run("give c pool train", chromedp.SetValue(css("#assign-group"), "c"), chromedp.SetValue(css("#assign-pool"), "train"),
		chromedp.Click(css("#group-pool-form button[type=submit]")))
	op.resultSays("c on pool train", "Group c now runs on pool train")
	if r := do(t, "GET", k.kl()+"/groups/c", w.op, nil); r.code != 200 || r.body["pool"] != "train" {
		t.Fatalf("group c after the console's forms: %d %s", r.code, r.raw)
	}
	if row := evalAs[string](op, `Array.from(document.querySelectorAll('main tbody tr')).map(r => r.textContent).find(t => t.startsWith('c')) || ''`); !strings.Contains(row, "train") {
		t.Errorf("the groups page shows c as %q, want pool train", row)
	}
	op.shot("groups-assigned")

	// Pools: the node's 2 GPUs are pool train's, so a new pool is refused
	// in the API's words; with one of them back it is made, then deleted.
	// Pool train, which groups use, is not.
	op.visit("#/pools")
	op.run("create pool spare", chromedp.SendKeys(css("#pool-name"), "spare"), chromedp.SetValue(css("#pool-gpus-n1"), "1"),
		chromedp.Click(css("#pool-form button[type=submit]")))
	op.waitFor("the refusal", `!document.getElementById('error-banner').hidden`, 10*time.Second)
	if b := op.text("#error-banner"); !strings.Contains(b, "Not done (HTTP 400): pool") {
		t.Errorf("a pool of GPUs another pool holds: the page says %q, want the API's 400", b)
	}
	op.shot("pools-refused")
	op.run("give pool train 1 GPU", chromedp.SetValue(css("#gpus-train-n1"), "1"), chromedp.Click(css(`form.pool-form[data-pool="train"] button[type=submit]`)))
	op.resultSays("train saved", "Pool train saved")
	op.run("create pool spare", chromedp.SendKeys(css("#pool-name"), "spare"), chromedp.SetValue(css("#pool-gpus-n1"), "1"),
		chromedp.Click(css("#pool-form button[type=submit]")))
	op.resultSays("spare created", "Pool spare created with 1 GPU of type t4")
	if got := op.text("#default-pool-empty"); !strings.HasPrefix(got, "No GPUs left for the default pool: all 2 of the cluster's GPUs are in pools spare, train.") {
		t.Errorf("with pools spare and train holding every GPU the default pool's card says %q", got)
	}
	if r := do(t, "GET", k.kl()+"/pools/spare", w.op, nil); r.code != 200 || r.body["total_gpus"] != 1.0 {
		t.Fatalf("pool spare after the console's form: %d %s", r.code, r.raw)
	}
	op.shot("pools-created")
	op.run("delete pool train", chromedp.Click(css(`button.delete-pool[data-pool="train"]`)))
	op.waitFor("the refusal", `(document.getElementById('error-banner').textContent || '').includes('409')`, 10*time.Second)
	if b := op.text("#error-banner"); !strings.Contains(b, "pool train is used by groups a, c") {
		t.Errorf("deleting pool train, which groups use: the page says %q", b)
	}
	op.run("delete pool spare", chromedp.Click(css(`button.delete-pool[data-pool="spare"]`)))
	op.resultSays("spare deleted", "Pool spare deleted")
	if r := do(t, "GET", k.kl()+"/pools/spare", w.op, nil); r.code != 404 {
		t.Errorf("pool spare after the console deleted it: %d %s", r.code, r.raw)
	}

	// Images: group a's trainer, a standard image, which is then removed.
	checkCalls(t, pageOf(t, "#/images"), "#/images", op.visit("#/images"))
	op.run("register trainer in a", chromedp.SendKeys(css("#image-name"), "trainer"), chromedp.SendKeys(css("#image-ref"), "registry.example/a/trainer:1.0"),
		chromedp.SendKeys(css("#image-framework"), "pytorch"), chromedp.SetValue(css("#image-catalog"), "a"), chromedp.Click(css("#image-gpu")))
	op.shot("images-register")
	op.run("register", chromedp.Click(css("#image-form button[type=submit]")))
	op.resultSays("trainer registered", "Image trainer (registry.example/a/trainer:1.0) registered in a")
	if r := do(t, "GET", k.kl()+"/images/a/trainer", w.dana, nil); r.code != 200 || r.body["gpu"] != true || r.body["owner"] != "olga" || r.body["framework"] != "pytorch" {
		t.Fatalf("image a/trainer after the console's form: %d %s", r.code, r.raw)
	}
	op.run("register a standard image", chromedp.SendKeys(css("#image-name"), "base"), chromedp.SendKeys(css("#image-ref"), "python:3.12-slim"),
		chromedp.SetValue(css("#image-catalog"), ":standard"), chromedp.Click(css("#image-form button[type=submit]")))
	op.resultSays("base registered", "registered in the standard images")
	if r := do(t, "GET", k.kl()+"/images/standard/base", w.bert, nil); r.code != 200 {
		t.Fatalf("the standard image base, as group b's bert: %d %s", r.code, r.raw)
	}
	op.shot("images-registered")
	op.run("remove base", chromedp.Click(css(`button.remove-image[data-name="base"]`)))
	op.resultSays("base removed", "Image base removed from standard")
	if r := do(t, "GET", k.kl()+"/images/standard/base", w.op, nil); r.code != 404 {
		t.Errorf("the standard image base after the console removed it: %d %s", r.code, r.raw)
	}

	// Non-operators: the users page is refused in the API's words; the
	// groups page has no forms; a Data Scientist registers only in her
	// group and removes only her own; a Production Engineer registers none.
	dana := signIn(t, browser, k.root, w.dana)
	dana.visit("#/users")
	if n := dana.text("#notice"); !strings.Contains(n, "needs the operate permission") || evalAs[bool](dana, `!!document.querySelector('main form')`) {
		t.Errorf("a Data Scientist on the users page: notice %q (want the API's refusal) and no form", n)
	}
	dana.noErrorBanner("dana's users page")
	dana.shot("users-data-scientist")
	checkCalls(t, pageOf(t, "#/groups"), "dana's #/groups", dana.visit("#/groups"))
	if n := evalAs[int](dana, `document.querySelectorAll('main form, main button').length`); n != 0 {
		t.Errorf("a Data Scientist's groups page has %d forms and buttons, want none", n)
	}
	if rows := evalAs[[]string](dana, `Array.from(document.querySelectorAll('main tbody tr td:first-child')).map(td => td.textContent)`); !slices.Equal(rows, []string{"a"}) {
		t.Errorf("a Data Scientist of a sees groups %v, want [a]", rows)
	}
	dana.checkA11y("dana's #/groups")
	checkCalls(t, pageOf(t, "#/images"), "dana's #/images", dana.visit("#/images"))
	if cats := evalAs[[]string](dana, `Array.from(document.querySelectorAll('#image-catalog option')).map(o => o.value)`); !slices.Equal(cats, []string{"a"}) {
		t.Errorf("a Data Scientist may register images in %v, want only her group a", cats)
	}
	if n := evalAs[int](dana, `document.querySelectorAll('button.remove-image').length`); n != 0 {
		t.Errorf("a Data Scientist may remove %d images she does not own", n)
	}
	dana.checkA11y("dana's #/images")
	dana.shot("images-data-scientist")
	pat := signIn(t, browser, k.root, w.pat)
	pat.visit("#/images")
	if evalAs[bool](pat, `!!document.querySelector('#image-form')`) {
		t.Errorf("a Production Engineer (who does not develop) has the register-image form")
	}
	pat.noErrorBanner("pat's images")

	// ivan's tab drew the operators' forms; an operator makes him a Data
	// Scientist; his next action is refused with the API's 403.
	ivan.visit("#/groups")
	op.visit("#/users")
	op.run("make ivan a Data Scientist", chromedp.Click(css(`button.edit-user[data-user="ivan"]`)),
		chromedp.Click(css("#edit-role-operator")), chromedp.Click(css("#edit-role-data-scientist")), chromedp.Click(css("#user-edit-form button[type=submit]")))
	op.resultSays("ivan saved", "User ivan saved")
	if r := do(t, "GET", k.kl()+"/users/ivan", w.op, nil); !strings.Contains(r.raw, `"roles":["data-scientist"]`) {
		t.Fatalf("ivan after the console's change form: %s", r.raw)
	}
	ivan.run("create group x", chromedp.SendKeys(css("#group-name"), "x"), chromedp.Click(css("#group-form button[type=submit]")))
	ivan.waitFor("the refusal", `!document.getElementById('error-banner').hidden`, 10*time.Second)
	if b := ivan.text("#error-banner"); !strings.Contains(b, "Not allowed (HTTP 403)") || !strings.Contains(b, "needs the operate permission") {
		t.Errorf("ivan's refused action says %q, want the API's 403", b)
	}
	if h := ivan.text("main h1"); h != "Groups" {
		t.Errorf("after the refusal the page reads %q, want the groups page still", h)
	}
	ivan.waitFor("the navigation without Users", `!document.querySelector('nav a[href="#/users"]')`, 10*time.Second)
	ivan.shot("groups-refused")
	if r := do(t, "GET", k.kl()+"/groups/x", w.op, nil); r.code != 404 {
		t.Errorf("group x after the refused form: %d %s", r.code, r.raw)
	}

	// More groups than the API's default page of 20: the operator's
	// pages offer every one (then they go, leaving the other pages as
	// they were).
	var many []string
	for i := range 24 {
		many = append(many, fmt.Sprintf("g%02d", i))
		if r := do(t, "POST", k.kl()+"/groups", w.op, map[string]any{"name": many[i]}); r.code != 200 {
			t.Fatalf("group %s: %d %s", many[i], r.code, r.raw)
		}
	}
	total := int(do(t, "GET", k.kl()+"/groups?page_size=1", w.op, nil).body["total_size"].(float64))
	op.visit("#/users")
	if n := evalAs[int](op, `document.querySelectorAll('#user-form input[name="group"]').length`); n != total || total < 28 {
		t.Errorf("the add-user form offers %d groups of %d", n, total)
	}
	op.visit("#/groups")
	if n := evalAs[int](op, `document.querySelectorAll('#assign-group option').length`); n != total {
		t.Errorf("the assign-pool form offers %d groups of %d", n, total)
	}
	for _, g := range many {
		if r := do(t, "DELETE", k.kl()+"/groups/"+g, w.op, nil); r.code != 200 {
			t.Fatalf("delete group %s: %d %s", g, r.code, r.raw)
		}
	}
}

// consoleCanary: a Production Engineer deploys m@v1 with m@v2 as a 30%
// canary and the example's transformer from the catalog page's Deploy
// form, sees the canary on the deployment's page, and stops it there.
func consoleCanary(t *testing.T, w *consoleWorld, browser context.Context) {
	k := w.k
	if r := uploadVersionAs(t, k, "model", "m", "weights 3\nrows 4\n", w.mel); r.code != 200 {
		t.Fatalf("upload m@v2: %d %s", r.code, r.raw)
	}
	if r := do(t, "POST", k.kl()+"/models/m/versions/v2:publish", w.mel, map[string]any{}); r.code != 200 {
		t.Fatalf("publish m@v2: %d %s", r.code, r.raw)
	}
	dir, err := filepath.Abs("../../examples/serve-model")
	if err != nil {
		t.Fatal(err)
	}
	pat := signIn(t, browser, k.root, w.pat)
	checkCalls(t, pageOf(t, "#/catalog"), "pat's #/catalog", pat.visit("#/catalog"))
	pat.checkA11y("pat's #/catalog")
	if c := pat.text("main table tbody"); !strings.Contains(c, "accuracy=0.") || strings.Contains(c, "{") {
		t.Errorf("the catalog shows m@v1's metrics as %q, want accuracy=VALUE", c)
	}
	pat.run("fill the deploy form", chromedp.SetValue(css("#deploy-model"), "m@v1"), chromedp.SendKeys(css("#deploy-name"), "m-canary"),
		chromedp.SendKeys(css("#deploy-command"), "python3 "+filepath.Join(dir, "predictor.py")),
		chromedp.SendKeys(css("#deploy-transformer-command"), "python3 "+filepath.Join(dir, "transformer.py")),
		chromedp.SetValue(css("#deploy-canary"), "m@v2"), chromedp.SetValue(css("#deploy-canary-percent"), "30"))
	pat.shot("catalog-deploy-canary")
	pat.run("deploy", chromedp.Click(css("#deploy-form button[type=submit]")))
	pat.ready("#/deployments/m-canary")
	pat.noErrorBanner("the canary deployment")
	fields := pat.text("main dl.fields")
	for _, want := range []string{"modelm@v1", "canarym@v2", "canary traffic percent30", "transformertrue"} {
		if !strings.Contains(fields, want) {
			t.Errorf("the deployment page says %q, want %q", fields, want)
		}
	}
	if r := do(t, "GET", k.kl()+"/deployments/m-canary", w.pat, nil); r.body["canary"] != "m@v2" || r.body["canary_traffic_percent"] != 30.0 || r.body["transformer"] != true {
		t.Fatalf("the deployment the form made: %s", r.raw)
	}
	// The first 30 of every 100 requests go to the canary: m@v2 (weights
	// 3) behind the transformer (inputs × 10, labels).
	r := do(t, "POST", k.root+"/v1/models/m-canary:predict", w.pat, map[string]any{"instances": []any{1}})
	if r.code != 200 || fmt.Sprint(r.body["predictions"], r.body["labels"]) != "[30] [high]" {
		t.Errorf("predict on m-canary: %d %s, want m@v2's 30.0 through the transformer", r.code, r.raw)
	}
	pat.waitFor("the chart counts the request", `Number(document.getElementById('traffic').dataset.totalRequests) >= 1`, 10*time.Second)
	pat.checkA11y("the canary deployment")
	pat.shot("deployment-canary")
	pat.visit("#/deployments")
	if row := pat.text("main tbody"); !strings.Contains(row, "m@v2 (30%)") {
		t.Errorf("the deployments page does not show the canary: %q", row)
	}

	// An ML Engineer sees the deployment but has no Stop; its owner stops it.
	mel := signIn(t, browser, k.root, w.mel)
	mel.visit("#/deployments/m-canary")
	if evalAs[bool](mel, `!!document.getElementById('stop-deployment')`) {
		t.Errorf("an ML Engineer (who does not deploy) may stop a deployment")
	}
	pat.visit("#/deployments/m-canary")
	pat.run("stop m-canary", chromedp.Click(css("#stop-deployment")))
	pat.resultSays("m-canary stopped", "Deployment m-canary stopped")
	if h := pat.text("main h1"); h != "Deployments" || strings.Contains(pat.text("main tbody"), "m-canary") {
		t.Errorf("after stopping m-canary the page reads %q with %q", h, pat.text("main tbody"))
	}
	if r := do(t, "GET", k.kl()+"/deployments/m-canary", w.pat, nil); r.code != 404 {
		t.Errorf("m-canary after the console stopped it: %d %s", r.code, r.raw)
	}
}
