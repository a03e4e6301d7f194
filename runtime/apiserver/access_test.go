package apiserver_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/store"
)

// Access classes of the matrix, with the role sets written out here rather
// than taken from the server's table. Classes from inGroup down act on a
// resource of the fixtures' group: outside it the resource does not exist.
const (
	public    = "public"  // everyone, without a token too
	anyone    = "any"     // every signed-in user
	operate   = "operate" // operators
	catalog   = "catalog" // ML Engineer, Production Engineer, Operator
	deploys   = "deploy"  // Production Engineer, Operator
	inGroup   = "view"    // every role, in the resource's group
	anyIn     = "any-in"  // every signed-in user, in the resource's group
	develop   = "develop" // Data Scientist, ML Engineer, Operator, in the group
	claim     = "claim"   // develop; outside the group the name is taken (409)
	publishIn = "publish" // ML Engineer, Operator, in the group
	catalogIn = "catalog-in"
	manage    = "manage"   // Data Scientist, ML Engineer, Operator in the group; only the owner or an operator
	undeploy  = "undeploy" // Production Engineer, Operator in the group; only the owner or an operator
	opRole    = "operator"
	dsRole    = "data-scientist"
	mlRole    = "ml-engineer"
	peRole    = "production-engineer"
	fixtures  = "team"
)

type cell struct {
	name, token string
	roles       []string
	anon        bool
	owner       bool
	outsider    bool // a user of another group
}

func (c cell) has(roles ...string) bool {
	for _, r := range roles {
		if slices.Contains(c.roles, r) {
			return true
		}
	}
	return false
}

// permitted reports whether a signed-in caller's roles allow the class.
func permitted(class string, c cell) bool {
	switch class {
	case anyone, anyIn, inGroup:
		return true
	case operate:
		return c.has(opRole)
	case catalog, catalogIn:
		return c.has(opRole, mlRole, peRole)
	case deploys, undeploy:
		return c.has(opRole, peRole)
	case develop, claim, manage:
		return c.has(opRole, dsRole, mlRole)
	case publishIn:
		return c.has(opRole, mlRole)
	}
	panic("unknown class " + class)
}

// grouped reports whether the class acts on a resource of the fixtures'
// group.
func grouped(class string) bool {
	return !slices.Contains([]string{public, anyone, operate, catalog, deploys}, class)
}

// expected is the answer of one cell: 0 when allowed (anything but 401,
// 403, 404 and 5xx), else the refusal's code: 401 without a token, 403 for
// missing roles or a non-owner, 404 outside the group (the resource does
// not exist there), 409 for a name another group holds.
func expected(class string, c cell) int {
	switch {
	case class == public:
		return 0
	case c.anon:
		return 401
	case !permitted(class, c):
		return 403
	case grouped(class) && c.outsider && !c.has(opRole) && class == claim:
		return 409
	case grouped(class) && c.outsider && !c.has(opRole):
		return 404
	case (class == manage || class == undeploy) && !c.owner && !c.has(opRole):
		return 403
	}
	return 0
}

// route is one matrix row: how to call the route on the fixtures
// ({P} pipeline, {V} its version, {E} experiment, {R} run, {RR} recurring
// run, {PR} project, {user}, {group}, {pool} spare ones), and which fixture
// an allowed call may destroy, to make again.
type route struct {
	class, path string
	body        any
	upload      bool
	destroys    string
}

func matrixRoutes(t *testing.T) map[string]route {
	spec := gpuSpec(t, 0, "0")
	run := map[string]any{"display_name": "m-run", "experiment_id": "{E}", "pipeline_spec": spec}
	rr := map[string]any{"display_name": "m-rr", "experiment_id": "{E}", "pipeline_spec": spec, "mode": "DISABLE",
		"trigger": map[string]any{"periodic_schedule": map[string]any{"interval_second": "3600"}}}
	const v2, v1, kl = "/apis/v2beta1", "/apis/v1beta1", "/apis/kubeline/v1"
	return map[string]route{
		"GET " + v2 + "/healthz":                                     {class: public, path: v2 + "/healthz"},
		"GET " + v1 + "/healthz":                                     {class: public, path: v1 + "/healthz"},
		"GET /metrics":                                               {class: public, path: "/metrics"},
		"GET /livez":                                                 {class: public, path: "/livez"},
		"GET /readyz":                                                {class: public, path: "/readyz"},
		"GET /console/":                                              {class: public, path: "/console/"},
		"GET " + v2 + "/auth":                                        {class: anyone, path: v2 + "/auth"},
		"GET " + v2 + "/filters":                                     {class: anyone, path: v2 + "/filters"},
		"POST " + v2 + "/pipelines":                                  {class: develop, path: v2 + "/pipelines", body: map[string]any{"display_name": "m-p", "namespace": fixtures}},
		"POST " + v2 + "/pipelines/create":                           {class: develop, path: v2 + "/pipelines/create", body: map[string]any{"pipeline": map[string]any{"display_name": "m-pc", "namespace": fixtures}, "pipeline_version": map[string]any{"display_name": "v", "pipeline_spec": spec}}},
		"POST " + v2 + "/pipelines/upload":                           {class: develop, path: v2 + "/pipelines/upload?name=m-up&namespace=" + fixtures, upload: true},
		"POST " + v1 + "/pipelines/upload":                           {class: develop, path: v1 + "/pipelines/upload?name=m-up1&namespace=" + fixtures, upload: true},
		"GET " + v2 + "/pipelines":                                   {class: inGroup, path: v2 + "/pipelines?namespace=" + fixtures},
		"GET " + v2 + "/pipelines/{id}":                              {class: inGroup, path: v2 + "/pipelines/{P}"},
		"GET " + v1 + "/pipelines/{id}":                              {class: inGroup, path: v1 + "/pipelines/{P}"},
		"DELETE " + v2 + "/pipelines/{id}":                           {class: manage, path: v2 + "/pipelines/{P}"}, // 409 for the owner: it has versions
		"PATCH " + v2 + "/pipelines/{id}":                            {class: manage, path: v2 + "/pipelines/{P}", body: map[string]any{"description": "changed"}},
		"POST " + v2 + "/pipelines/upload_version":                   {class: develop, path: v2 + "/pipelines/upload_version?name=m-v&pipelineid={P}", upload: true},
		"POST " + v2 + "/pipelines/{id}/versions":                    {class: develop, path: v2 + "/pipelines/{P}/versions", body: map[string]any{"display_name": "m-v2", "pipeline_spec": spec}},
		"GET " + v2 + "/pipelines/{id}/{sub}":                        {class: inGroup, path: v2 + "/pipelines/{P}/versions"},
		"GET " + v2 + "/pipelines/{id}/versions/{vid}":               {class: inGroup, path: v2 + "/pipelines/{P}/versions/{V}"},
		"DELETE " + v2 + "/pipelines/{id}/versions/{vid}":            {class: manage, path: v2 + "/pipelines/{P}/versions/{V}", destroys: "version"},
		"PATCH " + v2 + "/pipelines/{id}/versions/{vid}":             {class: manage, path: v2 + "/pipelines/{P}/versions/{V}", body: map[string]any{"description": "changed"}},
		"GET " + v1 + "/pipeline_versions":                           {class: inGroup, path: v1 + "/pipeline_versions?resource_key.type=PIPELINE&resource_key.id={P}"},
		"GET " + v1 + "/pipeline_versions/{vid}":                     {class: inGroup, path: v1 + "/pipeline_versions/{V}"},
		"GET " + v1 + "/pipeline_versions/{vid}/templates":           {class: inGroup, path: v1 + "/pipeline_versions/{V}/templates"},
		"POST " + v2 + "/experiments":                                {class: develop, path: v2 + "/experiments", body: map[string]any{"display_name": "m-e", "namespace": fixtures}},
		"GET " + v2 + "/experiments":                                 {class: inGroup, path: v2 + "/experiments?namespace=" + fixtures},
		"GET " + v2 + "/experiments/{id}":                            {class: inGroup, path: v2 + "/experiments/{E}"},
		"POST " + v2 + "/experiments/{action}":                       {class: manage, path: v2 + "/experiments/{E}:unarchive"},
		"DELETE " + v2 + "/experiments/{id}":                         {class: manage, path: v2 + "/experiments/{E}", destroys: "experiment"},
		"GET " + v2 + "/runs/{id}/nodes/{node}/artifacts/{artifact}": {class: inGroup, path: v2 + "/runs/{R}/nodes/x/artifacts/y:read"},
		"POST " + v2 + "/workflows":                                  {class: operate, path: v2 + "/workflows", body: map[string]any{}},
		"POST " + v2 + "/scheduledworkflows":                         {class: operate, path: v2 + "/scheduledworkflows", body: map[string]any{}},
		"POST " + v2 + "/visualizations/{namespace}":                 {class: anyone, path: v2 + "/visualizations/" + fixtures, body: map[string]any{}},
		"POST " + v2 + "/runs":                                       {class: develop, path: v2 + "/runs", body: run},
		"GET " + v2 + "/runs":                                        {class: inGroup, path: v2 + "/runs?namespace=" + fixtures},
		"GET " + v2 + "/runs/{id}":                                   {class: inGroup, path: v2 + "/runs/{R}"},
		"GET /apis/v1beta1/runs/{id}":                                {class: inGroup, path: "/apis/v1beta1/runs/{R}"},
		"POST /ml_metadata.MetadataStoreService/{method}": {class: inGroup, path: "/ml_metadata.MetadataStoreService/GetContextByTypeAndName",
			body: map[string]any{"type_name": "system.PipelineRun", "context_name": "{R}"}},
		"DELETE " + v2 + "/runs/{id}":            {class: manage, path: v2 + "/runs/{R}", destroys: "run"},
		"POST " + v2 + "/runs/{action}":          {class: manage, path: v2 + "/runs/{R}:unarchive"},
		"POST " + v2 + "/recurringruns":          {class: develop, path: v2 + "/recurringruns", body: rr},
		"GET " + v2 + "/recurringruns":           {class: inGroup, path: v2 + "/recurringruns?namespace=" + fixtures},
		"GET " + v2 + "/recurringruns/{id}":      {class: inGroup, path: v2 + "/recurringruns/{RR}"},
		"DELETE " + v2 + "/recurringruns/{id}":   {class: manage, path: v2 + "/recurringruns/{RR}", destroys: "recurring"},
		"POST " + v2 + "/recurringruns/{action}": {class: manage, path: v2 + "/recurringruns/{RR}:disable"},

		"GET " + kl + "/whoami":                      {class: anyone, path: kl + "/whoami"},
		"GET " + kl + "/users":                       {class: operate, path: kl + "/users"},
		"POST " + kl + "/users":                      {class: operate, path: kl + "/users", body: map[string]any{"name": "m-user", "roles": []string{"ds"}}},
		"GET " + kl + "/users/{name}":                {class: operate, path: kl + "/users/{user}"},
		"PATCH " + kl + "/users/{name}":              {class: operate, path: kl + "/users/{user}", body: map[string]any{"roles": []string{"ml"}}},
		"DELETE " + kl + "/users/{name}":             {class: operate, path: kl + "/users/{user}", destroys: "user"},
		"POST " + kl + "/users/{name}/tokens":        {class: operate, path: kl + "/users/{user}/tokens"},
		"GET " + kl + "/groups":                      {class: anyone, path: kl + "/groups"},
		"POST " + kl + "/groups":                     {class: operate, path: kl + "/groups", body: map[string]any{"name": "m-group"}},
		"GET " + kl + "/groups/{name}":               {class: inGroup, path: kl + "/groups/" + fixtures},
		"PATCH " + kl + "/groups/{name}":             {class: operate, path: kl + "/groups/{group}", body: map[string]any{"pool": "default"}},
		"DELETE " + kl + "/groups/{name}":            {class: operate, path: kl + "/groups/{group}", destroys: "group"},
		"GET " + kl + "/pools":                       {class: anyone, path: kl + "/pools"},
		"GET " + kl + "/events":                      {class: anyone, path: kl + "/events?kinds=nothing"}, // a 400 past the gate: the stream itself is TestChangeStream's
		"POST " + kl + "/pools":                      {class: operate, path: kl + "/pools", body: map[string]any{"name": "m-pool", "nodes": []any{map[string]any{"name": "n1", "gpus": 1}}}},
		"GET " + kl + "/pools/{name}":                {class: anyone, path: kl + "/pools/{pool}"},
		"PATCH " + kl + "/pools/{name}":              {class: operate, path: kl + "/pools/{pool}", body: map[string]any{"nodes": []any{map[string]any{"name": "n1", "gpus": 1}}}},
		"DELETE " + kl + "/pools/{name}":             {class: operate, path: kl + "/pools/{pool}", destroys: "pool"},
		"GET " + kl + "/projects":                    {class: inGroup, path: kl + "/projects?namespace=" + fixtures},
		"POST " + kl + "/projects":                   {class: develop, path: kl + "/projects", body: map[string]any{"name": "m-proj", "group": fixtures, "metric": "acc"}},
		"GET " + kl + "/projects/{name}":             {class: inGroup, path: kl + "/projects/{PR}"},
		"DELETE " + kl + "/projects/{name}":          {class: manage, path: kl + "/projects/{PR}", destroys: "project"},
		"POST " + kl + "/projects/{action}":          {class: manage, path: kl + "/projects/{PR}:unarchive"},
		"GET " + kl + "/projects/{name}/leaderboard": {class: inGroup, path: kl + "/projects/{PR}/leaderboard"},
		"GET " + kl + "/runs/{id}":                   {class: inGroup, path: kl + "/runs/{R}"},
		"POST " + kl + "/runs/{action}":              {class: manage, path: kl + "/runs/{R}:start_anyway"},
		"GET " + kl + "/compare":                     {class: inGroup, path: kl + "/compare?run_id={R}"},
		"GET " + kl + "/queue":                       {class: inGroup, path: kl + "/queue?group=" + fixtures},
		"GET " + kl + "/hpo/experiments":             {class: inGroup, path: kl + "/hpo/experiments?group=" + fixtures},
		"GET " + kl + "/hpo/experiments/{id}":        {class: inGroup, path: kl + "/hpo/experiments/{R}"},
		"GET " + kl + "/projects/{name}/versions":    {class: inGroup, path: kl + "/projects/{PR}/versions"},
		"GET " + kl + "/runs/{id}/metrics":           {class: inGroup, path: kl + "/runs/{R}/metrics"},
		"GET " + kl + "/clusters":                    {class: anyone, path: kl + "/clusters"},
		"POST " + kl + "/clusters":                   {class: operate, path: kl + "/clusters", body: map[string]any{"name": "m-cluster", "group": fixtures}},
		"GET " + kl + "/clusters/{name}":             {class: inGroup, path: kl + "/clusters/{C}"},
		"DELETE " + kl + "/clusters/{name}":          {class: operate, path: kl + "/clusters/{C}", destroys: "cluster"},

		"GET " + kl + "/datasets":                                   {class: anyone, path: kl + "/datasets"},
		"GET " + kl + "/datasets/{name}/versions":                   {class: inGroup, path: kl + "/datasets/{D}/versions"},
		"GET " + kl + "/datasets/{name}/versions/{version}":         {class: inGroup, path: kl + "/datasets/{D}/versions/v1"},
		"GET " + kl + "/datasets/{name}/versions/{version}/usage":   {class: inGroup, path: kl + "/datasets/{D}/versions/v1/usage"},
		"GET " + kl + "/datasets/{name}/versions/{version}/lineage": {class: inGroup, path: kl + "/datasets/{D}/versions/v1/lineage"},
		"POST " + kl + "/datasets/{name}/versions:upload":           {class: claim, path: kl + "/datasets/{D}/versions:upload", upload: true},
		"GET " + kl + "/models":                                     {class: anyone, path: kl + "/models"},
		"GET " + kl + "/models/{name}/versions":                     {class: inGroup, path: kl + "/models/{M}/versions"},
		"GET " + kl + "/models/{name}/versions/{version}":           {class: inGroup, path: kl + "/models/{M}/versions/v1"},
		"GET " + kl + "/models/{name}/versions/{version}/usage":     {class: inGroup, path: kl + "/models/{M}/versions/v1/usage"},
		"GET " + kl + "/models/{name}/versions/{version}/lineage":   {class: inGroup, path: kl + "/models/{M}/versions/v1/lineage"},
		"POST " + kl + "/models/{name}/versions:upload":             {class: claim, path: kl + "/models/{M}/versions:upload", upload: true},
		"GET " + kl + "/code":                                       {class: anyone, path: kl + "/code"},
		"GET " + kl + "/code/{name}/versions":                       {class: inGroup, path: kl + "/code/{CODE}/versions"},
		"GET " + kl + "/code/{name}/versions/{version}":             {class: inGroup, path: kl + "/code/{CODE}/versions/v1"},
		"GET " + kl + "/code/{name}/versions/{version}/usage":       {class: inGroup, path: kl + "/code/{CODE}/versions/v1/usage"},
		"GET " + kl + "/code/{name}/versions/{version}/lineage":     {class: inGroup, path: kl + "/code/{CODE}/versions/v1/lineage"},
		"POST " + kl + "/code/{name}/versions:upload":               {class: claim, path: kl + "/code/{CODE}/versions:upload", upload: true},
		// A clone of a repository nobody serves: 400 when allowed.
		"POST " + kl + "/code/{name}/versions":                         {class: claim, path: kl + "/code/{CODE}/versions", body: map[string]any{"git_url": "http://127.0.0.1:1/none.git"}},
		"GET " + kl + "/featuresets":                                   {class: anyone, path: kl + "/featuresets"},
		"POST " + kl + "/featuresets":                                  {class: develop, path: kl + "/featuresets", body: featureSetDoc("m-fs", fixtures)},
		"GET " + kl + "/featuresets/{name}":                            {class: inGroup, path: kl + "/featuresets/{FS}"},
		"DELETE " + kl + "/featuresets/{name}":                         {class: manage, path: kl + "/featuresets/{FS}"}, // 409 for the owner: it has a version
		"GET " + kl + "/featuresets/{name}/versions":                   {class: inGroup, path: kl + "/featuresets/{FS}/versions"},
		"GET " + kl + "/featuresets/{name}/versions/{version}":         {class: inGroup, path: kl + "/featuresets/{FS}/versions/v1"},
		"GET " + kl + "/featuresets/{name}/versions/{version}/usage":   {class: inGroup, path: kl + "/featuresets/{FS}/versions/v1/usage"},
		"GET " + kl + "/featuresets/{name}/versions/{version}/lineage": {class: inGroup, path: kl + "/featuresets/{FS}/versions/v1/lineage"},
		// The upload's data (a pipeline file) does not match: 400 when allowed.
		"POST " + kl + "/featuresets/{name}/versions:upload": {class: develop, path: kl + "/featuresets/{FS}/versions:upload", upload: true},

		"POST " + kl + "/models/{name}/versions/{action}": {class: publishIn, path: kl + "/models/{M}/versions/v1:publish"},
		"GET " + kl + "/catalog":                          {class: catalog, path: kl + "/catalog"},
		"POST " + kl + "/deployments":                     {class: deploys, path: kl + "/deployments", body: map[string]any{"kind": "Deployment"}},
		"GET " + kl + "/deployments":                      {class: catalog, path: kl + "/deployments"},
		"GET " + kl + "/deployments/{name}":               {class: catalogIn, path: kl + "/deployments/{X}"},
		"GET " + kl + "/deployments/{name}/traffic":       {class: catalogIn, path: kl + "/deployments/{X}/traffic"},
		"POST " + kl + "/deployments/{action}":            {class: undeploy, path: kl + "/deployments/{X}:stop", destroys: "deployment"},
		"POST /v1/models/{action}":                        {class: anyIn, path: "/v1/models/{X}:predict", body: map[string]any{"instances": []any{1}}},
		"GET /v1/models/{name}":                           {class: anyIn, path: "/v1/models/{X}"},
		"POST /v2/models/{name}/infer":                    {class: anyIn, path: "/v2/models/{X}/infer", body: map[string]any{"inputs": []any{map[string]any{"name": "x", "shape": []int{1}, "datatype": "FP64", "data": []int{1}}}}},
		"GET /v2/models/{name}/ready":                     {class: anyIn, path: "/v2/models/{X}/ready"},
		"GET /v2/models/{name}":                           {class: anyIn, path: "/v2/models/{X}"},
		"GET " + kl + "/images":                           {class: inGroup, path: kl + "/images?group=" + fixtures},
		"POST " + kl + "/images":                          {class: develop, path: kl + "/images", body: map[string]any{"name": "m-img", "image": "x:1", "group": fixtures}},
		"GET " + kl + "/images/standard/{name}":           {class: anyone, path: kl + "/images/standard/python"},
		"DELETE " + kl + "/images/standard/{name}":        {class: operate, path: kl + "/images/standard/{STD}", destroys: "stdimage"},
		"GET " + kl + "/images/{group}/{name}":            {class: inGroup, path: kl + "/images/" + fixtures + "/{IMG}"},
		"DELETE " + kl + "/images/{group}/{name}":         {class: manage, path: kl + "/images/" + fixtures + "/{IMG}", destroys: "image"},
		"GET " + kl + "/ides":                             {class: inGroup, path: kl + "/ides?group=" + fixtures},
		"POST " + kl + "/ides":                            {class: develop, path: kl + "/ides", body: map[string]any{"name": "m-ide", "image": "python", "group": fixtures, "command": []string{"sleep", "600"}}},
		"GET " + kl + "/ides/{name}":                      {class: inGroup, path: kl + "/ides/{I}"},
		"DELETE " + kl + "/ides/{name}":                   {class: manage, path: kl + "/ides/{I}"},              // 409 while it runs
		"POST " + kl + "/ides/{action}":                   {class: manage, path: kl + "/ides/{I}:start_anyway"}, // 409: it is not queued
		"GET /v2/health/live":                             {class: public, path: "/v2/health/live"},
		"POST " + kl + "/deployments:import": {class: deploys, path: kl + "/deployments:import",
			body: map[string]any{"name": "m-imp", "cluster": "nowhere", "inference_service": "x"}},
		"POST " + kl + "/monitors":                 {class: deploys, path: kl + "/monitors", body: monitorDoc("m-mon", "{X}", "{D}")},
		"GET " + kl + "/monitors":                  {class: catalog, path: kl + "/monitors"},
		"GET " + kl + "/monitors/{name}":           {class: catalogIn, path: kl + "/monitors/{MON}"},
		"GET " + kl + "/monitors/{name}/status":    {class: catalogIn, path: kl + "/monitors/{MON}/status"},
		"GET " + kl + "/monitors/{name}/alerts":    {class: catalogIn, path: kl + "/monitors/{MON}/alerts"},
		"GET " + kl + "/monitors/{name}/drilldown": {class: catalogIn, path: kl + "/monitors/{MON}/drilldown?format=svg"},
		"DELETE " + kl + "/monitors/{name}":        {class: undeploy, path: kl + "/monitors/{MON}", destroys: "monitor"},
		"GET /v2/health/ready":                     {class: public, path: "/v2/health/ready"},
	}
}

// call sends a matrix request: JSON, or a multipart upload of a pipeline.
func (r route) call(t *testing.T, method, root, path, token string) resp {
	t.Helper()
	if !r.upload {
		return do(t, method, root+path, token, r.body)
	}
	data, err := os.ReadFile("../../examples/hello-params/pipeline.yaml")
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "pipeline.yaml")
	fw.Write(data)
	mw.Close()
	req, _ := http.NewRequest("POST", root+path, &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}

// matrix is the fixture world of the role × route test.
type matrix struct {
	k     *kserver
	owner cell
	ids   map[string]string // {P}, {V}, ... -> id
	n     int
}

func (m *matrix) expand(path string) string {
	var pairs []string
	for k, v := range m.ids {
		pairs = append(pairs, "{"+k+"}", v)
	}
	return strings.NewReplacer(pairs...).Replace(path)
}

// expandBody fills the fixture ids into a JSON body.
func (m *matrix) expandBody(body any) any {
	if body == nil {
		return nil
	}
	b, _ := json.Marshal(body)
	var out any
	_ = json.Unmarshal([]byte(m.expand(string(b))), &out)
	return out
}

// ok calls as the fixtures' owner and wants 200.
func (m *matrix) ok(t *testing.T, method, path string, body any) map[string]any {
	t.Helper()
	r := do(t, method, m.k.root+m.expand(path), m.owner.token, m.expandBody(body))
	if r.code != 200 {
		t.Fatalf("fixture %s %s: %d %s", method, path, r.code, r.raw)
	}
	return r.body
}

// make (re)creates one fixture.
func (m *matrix) make(t *testing.T, kind string) {
	t.Helper()
	m.n++
	n := fmt.Sprintf("x%d", m.n) // unique, and short whatever the number of fixtures
	ctx := context.Background()
	spec := gpuSpec(t, 0, "0")
	switch kind {
	case "pipeline":
		r := route{upload: true}.call(t, "POST", m.k.root, "/apis/v2beta1/pipelines/upload?name=fixture-"+n+"&namespace="+fixtures, m.owner.token)
		if r.code != 200 {
			t.Fatalf("fixture pipeline: %d %s", r.code, r.raw)
		}
		m.ids["P"] = r.body["pipeline_id"].(string)
		m.make(t, "version")
	case "version":
		r := route{upload: true}.call(t, "POST", m.k.root, m.expand("/apis/v2beta1/pipelines/upload_version?name=fv-"+n+"&pipelineid={P}"), m.owner.token)
		if r.code != 200 {
			t.Fatalf("fixture version: %d %s", r.code, r.raw)
		}
		m.ids["V"] = r.body["pipeline_version_id"].(string)
	case "experiment":
		m.ids["E"] = m.ok(t, "POST", "/apis/v2beta1/experiments", map[string]any{"display_name": "fe-" + n, "namespace": fixtures})["experiment_id"].(string)
	case "run":
		id := m.ok(t, "POST", "/apis/v2beta1/runs", map[string]any{"display_name": "fr", "experiment_id": "{E}", "pipeline_spec": spec})["run_id"].(string)
		waitStatus(t, m.k, m.owner.token, id, "Complete")
		m.ids["R"] = id
	case "recurring":
		m.ids["RR"] = m.ok(t, "POST", "/apis/v2beta1/recurringruns", map[string]any{"display_name": "frr", "experiment_id": "{E}",
			"pipeline_spec": spec, "mode": "DISABLE", "trigger": map[string]any{"periodic_schedule": map[string]any{"interval_second": "3600"}}})["recurring_run_id"].(string)
	case "project":
		m.ids["PR"] = m.ok(t, "POST", "/apis/kubeline/v1/projects", map[string]any{"name": "fp-" + n, "group": fixtures, "metric": "acc"})["name"].(string)
	case "user":
		m.ids["user"] = "subject-" + n
		if err := m.k.st.CreateUser(ctx, &store.User{Name: m.ids["user"], Roles: []string{mlRole}, Groups: []string{fixtures}}); err != nil {
			t.Fatal(err)
		}
	case "group":
		m.ids["group"] = "spare-" + n
		if err := m.k.st.CreateGroup(ctx, &store.Group{Name: m.ids["group"], Pool: "default"}); err != nil {
			t.Fatal(err)
		}
	case "dataset", "model":
		id := map[string]string{"dataset": "D", "model": "M"}[kind]
		m.ids[id] = fmt.Sprintf("f%s-%d", kind, m.n)
		r := uploadVersionAs(t, m.k, kind, m.ids[id], "weights 2\n", m.owner.token)
		if r.code != 200 {
			t.Fatalf("fixture %s: %d %s", kind, r.code, r.raw)
		}
		if kind == "model" {
			if _, err := m.k.st.PublishModel(ctx, m.ids[id], 1, "fixture"); err != nil {
				t.Fatal(err)
			}
		}
	case "code":
		m.ids["CODE"] = fmt.Sprintf("fcode-%d", m.n)
		if r := uploadVersionAs(t, m.k, kind, m.ids["CODE"], "echo train\n", m.owner.token); r.code != 200 {
			t.Fatalf("fixture code: %d %s", r.code, r.raw)
		}
	case "featureset":
		m.ids["FS"] = fmt.Sprintf("ffs-%d", m.n)
		if r := do(t, "POST", m.k.kl()+"/featuresets", m.owner.token, featureSetDoc(m.ids["FS"], fixtures)); r.code != 200 {
			t.Fatalf("fixture featureset: %d %s", r.code, r.raw)
		}
		if r := uploadVersionAs(t, m.k, kind, m.ids["FS"], "w\n2\n", m.owner.token); r.code != 200 {
			t.Fatalf("fixture featureset version: %d %s", r.code, r.raw)
		}
	case "deployment":
		m.ids["X"] = fmt.Sprintf("fx-%d", m.n)
		predictor, _ := filepath.Abs("../../examples/serve-model/predictor.py")
		doc := fmt.Sprintf("kind: Deployment\napiVersion: kubeline.io/v1alpha1\nmetadata: {name: %s}\nspec:\n  model: %s@v1\n  target: local\n"+
			"  predictor: {image: python, command: [python3, %s]}\n", m.ids["X"], m.ids["M"], predictor)
		if r := postYAML(t, m.k.kl()+"/deployments", m.owner.token, doc); r.code != 200 {
			t.Fatalf("fixture deployment: %d %s", r.code, r.raw)
		}
	case "cluster":
		m.ids["C"] = "fc-" + n
		if err := m.k.st.AddCluster(ctx, &store.Cluster{Name: m.ids["C"], Group: fixtures, Owner: m.owner.name}); err != nil {
			t.Fatal(err)
		}
	case "image":
		m.ids["IMG"] = "fimg-" + n
		m.ok(t, "POST", "/apis/kubeline/v1/images", map[string]any{"name": m.ids["IMG"], "image": "ghcr.io/team/x:1", "group": fixtures})
	case "stdimage":
		m.ids["STD"] = "fstd-" + n
		if err := m.k.st.PutImage(ctx, &store.Image{Name: m.ids["STD"], Image: "x:1"}, false); err != nil {
			t.Fatal(err)
		}
	case "ide":
		m.ids["I"] = "fide-" + n
		m.ok(t, "POST", "/apis/kubeline/v1/ides", map[string]any{"name": m.ids["I"], "image": "python", "group": fixtures, "command": []string{"sleep", "600"}})
		waitIDE(t, m.k, m.owner.token, m.ids["I"], "Running", "Starting")
	case "monitor":
		m.ids["MON"] = fmt.Sprintf("fmon-%d", m.n)
		m.ok(t, "POST", "/apis/kubeline/v1/monitors", monitorDoc(m.ids["MON"], "{X}", "{D}"))
	case "pool":
		m.ids["pool"] = "spare-pool-" + n
		if err := m.k.st.CreatePool(ctx, &store.GPUPool{Name: m.ids["pool"], GPUType: "a100", Nodes: []store.PoolNode{{Name: "n2", GPUs: 1}}}); err != nil {
			t.Fatal(err)
		}
	default:
		t.Fatalf("no fixture %q", kind)
	}
}

// TestRoleRouteMatrix calls every route the server serves (listed from its
// router: a route without a row here fails the test) as every combination
// of roles in the fixtures' group, as their owner, as a Data Scientist and
// as a user with every role but Operator of another group, and without a
// token, and checks each answer: 401 without a token, 403 for missing roles
// or a non-owner, 404 for a resource of another group (409 for its name on
// an upload), and when allowed none of those nor a 5xx.
func TestRoleRouteMatrix(t *testing.T) {
	k := newKubeline(t, true, []admission.ClusterNode{{Name: "n1", GPUType: "a100", GPUs: 4}, {Name: "n2", GPUType: "a100", GPUs: 4}})
	ctx := context.Background()
	for _, g := range []string{fixtures, "other"} {
		if err := k.st.CreateGroup(ctx, &store.Group{Name: g, Pool: "default"}); err != nil {
			t.Fatal(err)
		}
	}
	roles := []string{opRole, dsRole, mlRole, peRole}
	cells := []cell{{name: "anonymous", anon: true}}
	out := cell{name: "outsider", roles: []string{dsRole}, outsider: true}
	out.token = k.user(t, out.name, out.roles, []string{"other"})
	cells = append(cells, out)
	for mask := 1; mask < 16; mask++ {
		c := cell{}
		for i, r := range roles {
			if mask&(1<<i) != 0 {
				c.roles = append(c.roles, r)
			}
		}
		c.name = strings.Join(c.roles, "+")
		c.token = k.user(t, c.name, c.roles, []string{fixtures})
		cells = append(cells, c)
	}
	all := cell{name: "outsider-all", roles: []string{dsRole, mlRole, peRole}, outsider: true}
	all.token = k.user(t, all.name, all.roles, []string{"other"})
	cells = append(cells, all)
	owner := cell{name: "owner", roles: []string{dsRole, peRole}, owner: true}
	owner.token = k.user(t, owner.name, owner.roles, []string{fixtures})
	cells = append(cells, owner) // last: an allowed call of the owner may destroy a fixture

	m := &matrix{k: k, owner: owner, ids: map[string]string{}}
	for _, kind := range []string{"pipeline", "experiment", "run", "recurring", "project", "user", "group", "pool", "dataset", "model", "code", "featureset", "deployment", "cluster", "image", "stdimage", "ide", "monitor"} {
		m.make(t, kind)
	}
	routes := matrixRoutes(t)
	served := k.api.Routes()
	for _, p := range served {
		if _, ok := routes[p]; !ok {
			t.Errorf("route %q has no row in the role × route matrix", p)
		}
	}
	for p := range routes {
		if !slices.Contains(served, p) {
			t.Errorf("matrix row %q is not a route of the server", p)
		}
	}
	sort.Strings(served)
	checked := 0
	for _, pattern := range served {
		rt, ok := routes[pattern]
		if !ok {
			continue
		}
		method, _, _ := strings.Cut(pattern, " ")
		for _, c := range cells {
			rt.body = m.expandBody(routes[pattern].body)
			r := rt.call(t, method, k.root, m.expand(rt.path), c.token)
			want := expected(rt.class, c)
			checked++
			switch {
			case want == 0 && (r.code == 401 || r.code == 403 || r.code >= 500):
				t.Errorf("%s as %s (%s): %d, want allowed: %s", pattern, c.name, rt.class, r.code, r.raw)
			case want != 0 && r.code != want:
				t.Errorf("%s as %s (%s): %d, want %d: %s", pattern, c.name, rt.class, r.code, want, r.raw)
			}
			if rt.destroys != "" && r.code/100 == 2 {
				m.make(t, rt.destroys)
			}
		}
	}
	t.Logf("%d routes × %d callers: %d cells", len(served), len(cells), checked)
}

// uploadVersionAs uploads content as a new version of a dataset or model.
func uploadVersionAs(t testing.TB, k *kserver, kind, name, content, token string) resp {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	fw, _ := mw.CreateFormFile("uploadfile", "model")
	fw.Write([]byte(content))
	mw.Close()
	req, _ := http.NewRequest("POST", k.kl()+"/"+map[string]string{"dataset": "datasets", "model": "models", "code": "code", "featureset": "featuresets"}[kind]+"/"+name+"/versions:upload", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

// featureSetDoc is a kind: FeatureSet document (as JSON) in group with
// one string feature w.
func featureSetDoc(name, group string) map[string]any {
	return map[string]any{"apiVersion": "kubeline.io/v1alpha1", "kind": "FeatureSet", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"group": group, "features": []any{map[string]any{"name": "w", "type": "string"}}}}
}

// monitorDoc is a Monitor of deployment dep against dataset ds@v1.
func monitorDoc(name, dep, ds string) map[string]any {
	return map[string]any{"apiVersion": "kubeline.io/v1alpha1", "kind": "Monitor", "metadata": map[string]any{"name": name},
		"spec": map[string]any{"deployment": dep, "window": map[string]any{"requests": 10}, "baseline": map[string]any{"dataset": ds + "@v1"},
			"features": []any{map[string]any{"name": "x", "type": "numeric"}}, "drift": []any{map[string]any{"metric": "psi", "tolerance": 0.2}}}}
}

// postYAML posts a YAML document.
func postYAML(t *testing.T, u, token, doc string) resp {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(doc))
	req.Header.Set("Content-Type", "application/yaml")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	return send(t, req)
}

func send(t testing.TB, req *http.Request) resp {
	t.Helper()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	out := resp{code: res.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &out.body)
	return out
}
