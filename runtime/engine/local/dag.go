package local

import (
	"context"
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"
	"sync"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
)

// dag is one running DAG template.
type dag struct {
	r     *run
	id    string // the DAG node
	c     call
	tmpl  *wfv1.Template
	slots chan struct{}
	mu    sync.Mutex
	scope map[string]any           // globals
	arts  map[string]wfv1.Artifact // "inputs.artifacts.Y"
	// taskScope and taskArts hold what each finished task offers:
	// tasks.NAME.* values and tasks.NAME.outputs.artifacts.*.
	taskScope map[string]map[string]any
	taskArts  map[string]map[string]wfv1.Artifact
	anc       map[string][]string // memoised transitive dependencies
	res       map[string]result
	nodes     map[string]string // task -> node id
	tasks     map[string]*wfv1.DAGTask
	deps      map[string][]string
}

func (r *run) executeDAG(ctx context.Context, id string, c call, tmpl *wfv1.Template) {
	d := &dag{r: r, id: id, c: c, tmpl: tmpl, scope: map[string]any{}, arts: map[string]wfv1.Artifact{},
		res: map[string]result{}, nodes: map[string]string{}, tasks: map[string]*wfv1.DAGTask{}, deps: map[string][]string{},
		taskScope: map[string]map[string]any{}, taskArts: map[string]map[string]wfv1.Artifact{}, anc: map[string][]string{}}
	if p := tmpl.Parallelism; p != nil && *p > 0 {
		d.slots = make(chan struct{}, *p)
	}
	for k, v := range r.globals {
		d.scope[k] = v
	}
	for _, a := range tmpl.Inputs.Artifacts {
		d.arts["inputs.artifacts."+a.Name] = a
	}
	for i := range tmpl.DAG.Tasks {
		t := &tmpl.DAG.Tasks[i]
		d.tasks[t.Name] = t
		d.deps[t.Name] = dependencyNames(dependsExpr(t))
	}
	d.schedule(ctx)
	d.finish(ctx)
}

// schedule starts every task whose dependencies have finished, until all
// tasks have run, been skipped or been omitted. It is event driven: a
// finished task releases the tasks that wait on it.
func (d *dag) schedule(ctx context.Context) {
	waiting := map[string]int{}         // task -> unfinished dependencies
	dependents := map[string][]string{} // task -> tasks that wait on it
	var ready []string
	for _, t := range d.tmpl.DAG.Tasks {
		n := 0
		for _, dep := range d.deps[t.Name] {
			if _, known := d.tasks[dep]; known {
				n++
				dependents[dep] = append(dependents[dep], t.Name)
			}
		}
		waiting[t.Name] = n
		if n == 0 {
			ready = append(ready, t.Name)
		}
	}
	done := make(chan string)
	running := 0
	finished := func(name string) {
		for _, u := range dependents[name] {
			waiting[u]--
			if waiting[u] == 0 {
				ready = append(ready, u)
			}
		}
	}
	for len(ready) > 0 || running > 0 {
		for len(ready) > 0 {
			name := ready[0]
			ready = ready[1:]
			if ctx.Err() != nil {
				continue // stopped: start nothing new
			}
			ok, err := evalDepends(dependsExpr(d.tasks[name]), d.results(d.deps[name]))
			switch {
			case err != nil:
				d.record(name, d.r.flagged(d.r.initNode(d.c.nodeName+"."+name, name, wfv1.NodeTypeSkipped, d.tasks[name].Template, d.id, wfv1.NodeError, err.Error())))
				finished(name)
			case !ok:
				d.record(name, d.r.flagged(d.r.initNode(d.c.nodeName+"."+name, name, wfv1.NodeTypeSkipped, d.tasks[name].Template, d.id, wfv1.NodeOmitted, "omitted: depends condition not met")))
				finished(name)
			default:
				running++
				go func() {
					d.record(name, d.runTask(ctx, d.tasks[name]))
					done <- name
				}()
			}
		}
		if running > 0 {
			finished(<-done)
			running--
		}
	}
}

// results returns the results of the named tasks.
func (d *dag) results(names []string) map[string]result {
	d.mu.Lock()
	defer d.mu.Unlock()
	out := make(map[string]result, len(names))
	for _, k := range names {
		if v, ok := d.res[k]; ok {
			out[k] = v
		}
	}
	return out
}

// ancestors returns the task's transitive dependencies (memoised; callers
// hold d.mu).
func (d *dag) ancestors(name string) []string {
	if a, ok := d.anc[name]; ok {
		return a
	}
	seen := map[string]bool{}
	var out []string
	var walk func(string)
	walk = func(n string) {
		for _, dep := range d.deps[n] {
			if !seen[dep] {
				seen[dep] = true
				out = append(out, dep)
				walk(dep)
			}
		}
	}
	walk(name)
	d.anc[name] = out
	return out
}

// record stores a finished task's node: its result, its outputs in the
// scope, and its place in the graph (child of the DAG when it has no
// dependencies, else child of each dependency).
func (d *dag) record(name, nodeID string) {
	n := d.r.node(nodeID)
	res := result{phase: n.Phase}
	prefix := "tasks." + name
	d.mu.Lock()
	if n.Type == wfv1.NodeTypeTaskGroup {
		res.anySucceeded, res.allFailed = d.r.groupResults(n)
	}
	d.res[name] = res
	d.nodes[name] = nodeID
	sc := map[string]any{
		prefix + ".status":     string(n.Phase),
		prefix + ".id":         nodeID,
		prefix + ".startedAt":  n.StartedAt.UTC().Format("2006-01-02T15:04:05Z"),
		prefix + ".finishedAt": n.FinishedAt.UTC().Format("2006-01-02T15:04:05Z"),
	}
	arts := map[string]wfv1.Artifact{}
	if n.Outputs != nil {
		for _, p := range n.Outputs.Parameters {
			if p.Value != nil {
				sc[prefix+".outputs.parameters."+p.Name] = p.Value.String()
			}
		}
		for _, a := range n.Outputs.Artifacts {
			arts[prefix+".outputs.artifacts."+a.Name] = a
		}
		if n.Outputs.Result != nil {
			sc[prefix+".outputs.result"] = *n.Outputs.Result
		}
	}
	d.taskScope[name], d.taskArts[name] = sc, arts
	var depNodes []string
	for _, dep := range d.deps[name] {
		if id, ok := d.nodes[dep]; ok {
			depNodes = append(depNodes, id)
		}
	}
	d.mu.Unlock()
	// Root tasks hang off the DAG node, the others off their dependencies'
	// outbound nodes (connectDependencies).
	if len(depNodes) == 0 {
		d.r.addChild(d.id, nodeID)
	}
	for _, dn := range depNodes {
		for _, p := range d.r.outboundOf(dn) {
			d.r.addChild(p, nodeID)
		}
	}
}

// groupResults computes AnySucceeded and AllFailed over a task group's children.
func (r *run) groupResults(n wfv1.NodeStatus) (any, all bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	all = len(n.Children) > 0
	for _, c := range n.Children {
		p := r.wf.Status.Nodes[c].Phase
		any = any || p == wfv1.NodeSucceeded
		all = all && (p == wfv1.NodeFailed || p == wfv1.NodeError)
	}
	return any, all
}

// snapshot is the scope a task resolves in: the workflow's globals, the
// DAG's input artifacts, and what the task's transitive ancestors produced
// (as Argo's buildLocalScopeFromTask). With an empty name it holds every task.
func (d *dag) snapshot(task string) (map[string]any, map[string]wfv1.Artifact) {
	d.mu.Lock()
	defer d.mu.Unlock()
	s := make(map[string]any, len(d.scope)+8)
	for k, v := range d.scope {
		s[k] = v
	}
	a := make(map[string]wfv1.Artifact, len(d.arts))
	for k, v := range d.arts {
		a[k] = v
	}
	names := d.ancestors(task)
	if task == "" {
		names = names[:0:0]
		for n := range d.taskScope {
			names = append(names, n)
		}
	}
	for _, n := range names {
		for k, v := range d.taskScope[n] {
			s[k] = v
		}
		for k, v := range d.taskArts[n] {
			a[k] = v
		}
	}
	return s, a
}

// runTask resolves a task against the finished tasks and runs it: skipped
// when its `when` is false, expanded when it loops.
func (d *dag) runTask(ctx context.Context, task *wfv1.DAGTask) string {
	nodeName := d.c.nodeName + "." + task.Name
	scope, arts := d.snapshot(task.Name)
	if task.When != "" {
		when, err := replace(task.When, scope)
		if err == nil {
			var ok bool
			ok, err = shouldExecute(when)
			if err == nil && !ok {
				return d.r.flagged(d.r.initNode(nodeName, task.Name, wfv1.NodeTypeSkipped, task.Template, d.id, wfv1.NodeSkipped,
					fmt.Sprintf("when '%s' evaluated false", when)))
			}
		}
		if err != nil {
			return d.r.initNode(nodeName, task.Name, wfv1.NodeTypeSkipped, task.Template, d.id, wfv1.NodeError, err.Error())
		}
	}
	resolved, err := resolveTask(task, scope, arts)
	if err != nil {
		return d.r.initNode(nodeName, task.Name, wfv1.NodeTypePod, task.Template, d.id, wfv1.NodeError, err.Error())
	}
	items, expanded, err := expandItems(resolved)
	if err != nil {
		return d.r.initNode(nodeName, task.Name, wfv1.NodeTypeTaskGroup, task.Template, d.id, wfv1.NodeError, err.Error())
	}
	var id string
	if !expanded {
		id = d.invoke(ctx, call{nodeName: nodeName, displayName: task.Name, tmplName: resolved.Template,
			args: resolved.Arguments, boundaryID: d.id})
	} else {
		id = d.loop(ctx, task, items, scope, arts)
	}
	d.exitHook(ctx, task, id)
	return id
}

// exitHook runs the task's exit hook (hooks.exit or onExit) once its node has
// completed, as node NAME.onExit, a child of the task's node. The hook sees
// the task's own results ({{tasks.NAME.status}}, its outputs).
func (d *dag) exitHook(ctx context.Context, task *wfv1.DAGTask, id string) {
	var hook wfv1.LifecycleHook
	switch {
	case task.OnExit != "":
		hook = wfv1.LifecycleHook{Template: task.OnExit, Arguments: task.Arguments}
	case task.Hooks != nil && task.Hooks.HasExitHook():
		hook = task.Hooks[wfv1.ExitLifecycleEvent]
	default:
		return
	}
	scope, arts := d.snapshot(task.Name)
	n := d.r.node(id)
	prefix := "tasks." + task.Name
	scope[prefix+".status"], scope[prefix+".id"] = string(n.Phase), id
	if n.Outputs != nil {
		for _, p := range n.Outputs.Parameters {
			if p.Value != nil {
				scope[prefix+".outputs.parameters."+p.Name] = p.Value.String()
			}
		}
		for _, a := range n.Outputs.Artifacts {
			arts[prefix+".outputs.artifacts."+a.Name] = a
		}
	}
	ht, err := resolveTask(&wfv1.DAGTask{Name: task.Name, Template: hook.Template, Arguments: hook.Arguments}, scope, arts)
	name := n.Name + ".onExit"
	var hid string
	if err != nil {
		hid = d.r.initNode(name, task.Name+".onExit", wfv1.NodeTypePod, hook.Template, d.id, wfv1.NodeError, err.Error())
	} else {
		// The hook runs even when the run is being stopped, like Argo's.
		hid = d.r.executeTemplate(context.WithoutCancel(ctx), call{nodeName: name, displayName: task.Name + ".onExit",
			tmplName: ht.Template, args: ht.Arguments, boundaryID: d.id})
	}
	d.r.setNode(hid, func(hn *wfv1.NodeStatus) { hn.NodeFlag = &wfv1.NodeFlag{Hooked: true} })
	d.r.addChild(id, hid)
}

// invoke runs one template call, holding a parallelism slot of the DAG.
func (d *dag) invoke(ctx context.Context, c call) string {
	defer d.acquire(ctx)()
	return d.r.executeTemplate(ctx, c)
}

// acquire takes a parallelism slot of the DAG (none when unlimited, or
// when ctx ends first) and returns its release.
func (d *dag) acquire(ctx context.Context) func() {
	if d.slots == nil {
		return func() {}
	}
	select {
	case d.slots <- struct{}{}:
		return func() { <-d.slots }
	case <-ctx.Done():
		return func() {}
	}
}

// loop runs an expanded task: a TaskGroup node whose children are
// NAME(i:item), run concurrently within the DAG's parallelism. The group
// succeeds unless an item failed; it then takes the last failed item's phase.
func (d *dag) loop(ctx context.Context, task *wfv1.DAGTask, items []wfv1.Item, scope map[string]any, arts map[string]wfv1.Artifact) string {
	nodeName := d.c.nodeName + "." + task.Name
	if len(items) == 0 {
		id := d.r.initNode(nodeName, task.Name, wfv1.NodeTypeSkipped, task.Template, d.id, wfv1.NodeSkipped, "Skipped, empty params")
		d.r.setNode(id, func(n *wfv1.NodeStatus) { n.NodeFlag = &wfv1.NodeFlag{} })
		return id
	}
	group := d.r.initNode(nodeName, task.Name, wfv1.NodeTypeTaskGroup, task.Template, d.id, wfv1.NodeRunning, "")
	d.r.setNode(group, func(n *wfv1.NodeStatus) { n.NodeFlag = &wfv1.NodeFlag{} })
	children := make([]string, len(items))
	labels := make([]string, len(items))
	nodeNames := make([]string, len(items))
	for i, item := range items {
		labels[i] = fmt.Sprintf("%s(%d:%s)", task.Name, i, itemLabel(item))
		nodeNames[i] = d.c.nodeName + "." + labels[i]
	}
	// Argo adds every item's node to the group up front, in item order.
	d.r.addChildNames(group, nodeNames)
	// Each item resolves the task without its item list, so that an item
	// costs the same whatever the number of items.
	body := *task
	body.WithItems, body.WithParam, body.WithSequence = nil, "", nil
	// At most window items are in flight: enough to keep every process
	// slot busy, while the rest wait as plain values rather than as
	// goroutines holding resolved templates.
	window := make(chan struct{}, 2*d.r.e.opts.MaxProcesses)
	var wg sync.WaitGroup
	// Items take the DAG's parallelism slots in item order, as Argo starts
	// them: under a limit of 2, items 0 and 1 run first.
	turn := make(chan struct{})
	close(turn)
	for i, item := range items {
		t, err := resolveTask(&body, withItem(scope, item), arts)
		if err != nil {
			children[i] = d.r.initNode(d.c.nodeName+"."+labels[i], labels[i], wfv1.NodeTypePod, task.Template, d.id, wfv1.NodeError, err.Error())
			continue
		}
		window <- struct{}{}
		wg.Add(1)
		mine, next := turn, make(chan struct{})
		turn = next
		go func() {
			defer func() { <-window; wg.Done() }()
			<-mine
			release := d.acquire(ctx)
			close(next)
			defer release()
			children[i] = d.r.executeTemplate(ctx, call{nodeName: d.c.nodeName + "." + labels[i], displayName: labels[i], tmplName: t.Template,
				args: t.Arguments, boundaryID: d.id})
		}()
	}
	wg.Wait()
	phase := wfv1.NodeSucceeded
	outputs := map[string][]string{}
	var names []string
	for _, c := range children {
		n := d.r.node(c)
		if n.Phase == wfv1.NodeFailed || n.Phase == wfv1.NodeError {
			phase = n.Phase
		}
		if n.Phase != wfv1.NodeSucceeded || n.Outputs == nil {
			continue // only succeeded items with outputs aggregate
		}
		for _, p := range n.Outputs.Parameters {
			if _, seen := outputs[p.Name]; !seen {
				names = append(names, p.Name)
			}
			if p.Value != nil {
				outputs[p.Name] = append(outputs[p.Name], p.Value.String())
			}
		}
	}
	if len(names) > 0 {
		agg := &wfv1.Outputs{}
		for _, name := range names {
			agg.Parameters = append(agg.Parameters, wfv1.Parameter{Name: name, Value: wfv1.AnyStringPtr(aggregate(outputs[name]))})
		}
		d.r.setNode(group, func(n *wfv1.NodeStatus) { n.Outputs = agg })
	}
	d.r.finish(group, phase, "")
	return group
}

// aggregate renders the outputs of a loop's items as Argo's
// aggregatedJSONValueList: a list of the parsed values when every value is a
// JSON object or list, else a list of the strings.
func aggregate(values []string) string {
	parsed := make([]any, len(values))
	allJSON := true
	for i, v := range values {
		var x any
		if json.Unmarshal([]byte(v), &x) != nil {
			allJSON = false
			break
		}
		switch x.(type) {
		case map[string]any, []any:
			parsed[i] = x
		default:
			allJSON = false
		}
	}
	var b []byte
	if allJSON {
		b, _ = json.Marshal(parsed)
	} else {
		if values == nil {
			values = []string{}
		}
		b, _ = json.Marshal(values)
	}
	return string(b)
}

// finish computes the DAG's outputs and phase the way Argo's assessDAGPhase
// does: the DAG fails when a target (leaf) task's branch failed — a Skipped
// or Omitted target inherits the phase of the branch that led to it — unless
// the task continues on that phase. A failed DAG node has no message.
func (d *dag) finish(ctx context.Context) {
	scope, arts := d.snapshot("")
	outputs, err := dagOutputs(d.tmpl, scope, arts)
	phase, msg := d.assess(), ""
	if ctx.Err() != nil {
		phase, msg = wfv1.NodeFailed, "stopped"
	} else if err != nil && phase == wfv1.NodeSucceeded {
		phase, msg = wfv1.NodeError, err.Error()
	}
	ob := d.outbound()
	d.r.setNode(d.id, func(n *wfv1.NodeStatus) {
		if phase == wfv1.NodeSucceeded {
			n.Outputs = outputs
		}
		n.OutboundNodes = ob
	})
	d.r.finish(d.id, phase, msg)
}

// targets are the DAG's leaf tasks (no task depends on them), sorted.
func (d *dag) targets() []string {
	used := map[string]bool{}
	for _, deps := range d.deps {
		for _, dep := range deps {
			used[dep] = true
		}
	}
	var out []string
	for name := range d.tasks {
		if !used[name] {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

func (d *dag) assess() wfv1.NodePhase {
	d.mu.Lock()
	defer d.mu.Unlock()
	memo := map[string]wfv1.NodePhase{}
	var branch func(name string) wfv1.NodePhase
	branch = func(name string) wfv1.NodePhase {
		if p, ok := memo[name]; ok {
			return p
		}
		memo[name] = wfv1.NodeSucceeded
		res, ok := d.res[name]
		if !ok {
			return wfv1.NodeSucceeded // never created (stopped)
		}
		p := res.phase
		if p == wfv1.NodeSkipped || p == wfv1.NodeOmitted {
			p = wfv1.NodeSucceeded
			for _, dep := range d.deps[name] {
				if bp := branch(dep); bp == wfv1.NodeFailed || bp == wfv1.NodeError {
					p = bp
				}
			}
		}
		memo[name] = p
		return p
	}
	for _, name := range d.targets() {
		p := branch(name)
		if (p == wfv1.NodeFailed || p == wfv1.NodeError) && !d.tasks[name].ContinuesOn(p) {
			return p
		}
	}
	return wfv1.NodeSucceeded
}

// outbound lists the DAG's outbound nodes: the targets' outbound nodes.
func (d *dag) outbound() []string {
	var out []string
	for _, name := range d.targets() {
		d.mu.Lock()
		id, ok := d.nodes[name]
		d.mu.Unlock()
		if ok {
			out = append(out, d.r.outboundOf(id)...)
		}
	}
	return out
}

// outboundOf is Argo's getOutboundNodes: a pod or skipped node itself, a
// DAG's recorded outbound nodes, a group's children's, a retry's last attempt.
func (r *run) outboundOf(id string) []string {
	r.mu.Lock()
	n := r.wf.Status.Nodes[id]
	r.mu.Unlock()
	switch n.Type {
	case wfv1.NodeTypeDAG:
		if n.MemoizationStatus != nil && n.MemoizationStatus.Hit {
			return []string{id}
		}
		var out []string
		for _, o := range n.OutboundNodes {
			out = append(out, r.outboundOf(o)...)
		}
		return out
	case wfv1.NodeTypeTaskGroup:
		if len(n.Children) == 0 {
			return []string{id}
		}
		var out []string
		for _, c := range n.Children {
			out = append(out, r.outboundOf(c)...)
		}
		return out
	case wfv1.NodeTypeRetry:
		if len(n.Children) == 0 {
			return []string{id}
		}
		return []string{n.Children[len(n.Children)-1]}
	}
	return []string{id}
}

// artifactRef matches {{tasks.X.outputs.artifacts.Y}} and {{inputs.artifacts.Y}}.
var artifactRef = regexp.MustCompile(`^\{\{\s*((tasks\.[^.]+\.outputs|inputs)\.artifacts\.[^}\s]+)\s*\}\}$`)

// resolveTask substitutes the scope into a task and resolves artifact
// arguments given by `from` to the producing artifact's location.
func resolveTask(task *wfv1.DAGTask, scope map[string]any, arts map[string]wfv1.Artifact) (*wfv1.DAGTask, error) {
	t := task.DeepCopy()
	t.When = ""
	for i, a := range t.Arguments.Artifacts {
		if a.From == "" {
			continue
		}
		m := artifactRef.FindStringSubmatch(a.From)
		if m == nil {
			return nil, fmt.Errorf("arguments.artifacts.%s: cannot resolve from %q", a.Name, a.From)
		}
		src, ok := arts[m[1]]
		if !ok {
			if a.Optional {
				t.Arguments.Artifacts[i].From = ""
				continue
			}
			return nil, fmt.Errorf("arguments.artifacts.%s: %s has no value", a.Name, a.From)
		}
		name := a.Name
		t.Arguments.Artifacts[i] = *src.DeepCopy()
		t.Arguments.Artifacts[i].Name = name
		t.Arguments.Artifacts[i].Path = ""
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	out, err := template.Replace(string(b), scope, true)
	if err != nil {
		return nil, fmt.Errorf("substitute task %q: %w", task.Name, err)
	}
	res := &wfv1.DAGTask{}
	if err := json.Unmarshal([]byte(out), res); err != nil {
		return nil, fmt.Errorf("substitute task %q: %w", task.Name, err)
	}
	if strings.Contains(res.WithParam, "{{") {
		return nil, fmt.Errorf("withParam %q could not be resolved", res.WithParam)
	}
	return res, nil
}

// replace substitutes scope into one string.
func replace(s string, scope map[string]any) (string, error) {
	b, _ := json.Marshal(s)
	out, err := template.Replace(string(b), scope, true)
	if err != nil {
		return "", err
	}
	var res string
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		return "", err
	}
	return res, nil
}
