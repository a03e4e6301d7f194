package local

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/argoproj/argo-workflows/v3/util/template"
)

// call is one invocation of a template.
type call struct {
	nodeName    string
	displayName string
	tmplName    string
	args        wfv1.Arguments
	boundaryID  string
	// slots is the enclosing DAG's parallelism semaphore; nil when unlimited.
	slots chan struct{}
}

func (c call) display() string {
	if c.displayName != "" {
		return c.displayName
	}
	if i := strings.LastIndex(c.nodeName, "."); i >= 0 {
		return c.nodeName[i+1:]
	}
	return c.nodeName
}

// executeTemplate runs a template as node c.nodeName and returns the node's id
// once it has completed.
func (r *run) executeTemplate(ctx context.Context, c call) string {
	tmpl := r.wf.GetTemplateByName(c.tmplName)
	if tmpl == nil {
		return r.initNode(c.nodeName, c.display(), wfv1.NodeTypePod, c.tmplName, c.boundaryID, wfv1.NodeError,
			fmt.Sprintf("template %q not found", c.tmplName))
	}
	processed, err := r.processTemplate(tmpl, c.args)
	if err != nil {
		return r.initNode(c.nodeName, c.display(), nodeType(tmpl), c.tmplName, c.boundaryID, wfv1.NodeError, err.Error())
	}
	if processed.ActiveDeadlineSeconds != nil {
		if secs := processed.ActiveDeadlineSeconds.IntValue(); secs > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, time.Duration(secs)*time.Second)
			defer cancel()
		}
	}
	if processed.RetryStrategy != nil {
		return r.retry(ctx, c, processed)
	}
	return r.executeBody(ctx, c, processed)
}

func nodeType(t *wfv1.Template) wfv1.NodeType {
	if t.DAG != nil {
		return wfv1.NodeTypeDAG
	}
	return wfv1.NodeTypePod
}

// executeBody runs a processed template as one node.
func (r *run) executeBody(ctx context.Context, c call, tmpl *wfv1.Template) string {
	switch {
	case tmpl.DAG != nil:
		in := inputsOf(tmpl) // copied before taking the run's lock
		id := r.initNode(c.nodeName, c.display(), wfv1.NodeTypeDAG, c.tmplName, c.boundaryID, wfv1.NodeRunning, "")
		r.setNode(id, func(n *wfv1.NodeStatus) { n.Inputs = in })
		r.executeDAG(ctx, id, c, tmpl)
		return id
	case tmpl.Container != nil || tmpl.Script != nil:
		in := inputsOf(tmpl)
		id := r.initNode(c.nodeName, c.display(), wfv1.NodeTypePod, c.tmplName, c.boundaryID, wfv1.NodePending, "")
		r.setNode(id, func(n *wfv1.NodeStatus) { n.Inputs = in })
		r.executePod(ctx, id, c, tmpl)
		return id
	}
	kind := "this"
	switch {
	case tmpl.Resource != nil:
		kind = "a resource"
	case tmpl.Steps != nil:
		kind = "a steps"
	case tmpl.Suspend != nil:
		kind = "a suspend"
	}
	return r.initNode(c.nodeName, c.display(), wfv1.NodeTypePod, c.tmplName, c.boundaryID, wfv1.NodeError,
		fmt.Sprintf("%s template cannot run on the embedded engine: run it on Kubernetes with --engine argo", kind))
}

func inputsOf(t *wfv1.Template) *wfv1.Inputs {
	if len(t.Inputs.Parameters) == 0 && len(t.Inputs.Artifacts) == 0 {
		return nil
	}
	in := t.Inputs.DeepCopy()
	return in
}

// retry runs the template until it succeeds or the retry limit is reached,
// under a Retry node whose children are the attempts NAME(0), NAME(1), ...
func (r *run) retry(ctx context.Context, c call, tmpl *wfv1.Template) string {
	id := r.initNode(c.nodeName, c.display(), wfv1.NodeTypeRetry, c.tmplName, c.boundaryID, wfv1.NodeRunning, "")
	rs := tmpl.RetryStrategy
	limit := math.MaxInt32
	if rs.Limit != nil {
		limit = rs.Limit.IntValue()
	}
	policy := rs.RetryPolicy
	if policy == "" {
		policy = wfv1.RetryPolicyOnFailure
	}
	for attempt := 0; ; attempt++ {
		ac := c
		ac.nodeName = fmt.Sprintf("%s(%d)", c.nodeName, attempt)
		ac.displayName = fmt.Sprintf("%s(%d)", c.display(), attempt)
		ac.boundaryID = c.boundaryID
		r.addChildName(id, ac.nodeName)
		child := r.executeBody(ctx, ac, tmpl)
		r.setNode(child, func(n *wfv1.NodeStatus) { n.NodeFlag = &wfv1.NodeFlag{Retried: true} })
		n := r.node(child)
		if n.Phase == wfv1.NodeSucceeded {
			r.setNode(id, func(rn *wfv1.NodeStatus) { rn.Outputs = n.Outputs })
			r.finish(id, wfv1.NodeSucceeded, "")
			return id
		}
		retryable := policy == wfv1.RetryPolicyAlways ||
			(policy == wfv1.RetryPolicyOnFailure && n.Phase == wfv1.NodeFailed) ||
			((policy == wfv1.RetryPolicyOnError || policy == wfv1.RetryPolicyOnTransientError) && n.Phase == wfv1.NodeError)
		if attempt >= limit || !retryable || ctx.Err() != nil {
			msg := n.Message
			if attempt >= limit && retryable {
				msg = "No more retries left"
			}
			r.finish(id, n.Phase, msg)
			return id
		}
		if d := backoff(rs.Backoff, attempt); d > 0 {
			select {
			case <-time.After(d):
			case <-ctx.Done():
			}
		}
	}
}

// backoff is Argo's delay before attempt+1: duration * factor^attempt,
// capped by maxDuration.
func backoff(b *wfv1.Backoff, attempt int) time.Duration {
	if b == nil || b.Duration == "" {
		return 0
	}
	d, err := parseDuration(b.Duration)
	if err != nil {
		return 0
	}
	if b.Factor != nil {
		d = time.Duration(float64(d) * math.Pow(float64(b.Factor.IntValue()), float64(attempt)))
	}
	if b.MaxDuration != "" {
		if m, err := parseDuration(b.MaxDuration); err == nil && d > m {
			d = m
		}
	}
	return d
}

// parseDuration accepts Go durations and plain seconds, as Argo does.
func parseDuration(s string) (time.Duration, error) {
	if d, err := time.ParseDuration(s); err == nil {
		return d, nil
	}
	var secs int
	if _, err := fmt.Sscanf(s, "%d", &secs); err != nil {
		return 0, fmt.Errorf("invalid duration %q", s)
	}
	return time.Duration(secs) * time.Second, nil
}

// processTemplate binds arguments to the template's inputs and substitutes
// inputs.* and workflow.* throughout it, as Argo's ProcessArgs does.
func (r *run) processTemplate(tmpl *wfv1.Template, args wfv1.Arguments) (*wfv1.Template, error) {
	t := tmpl.DeepCopy()
	local := map[string]any{}
	for k, v := range r.globals {
		local[k] = v
	}
	var missing []string
	for i, p := range t.Inputs.Parameters {
		var v *wfv1.AnyString
		if a := args.GetParameterByName(p.Name); a != nil && a.Value != nil {
			v = a.Value
		} else if p.Value != nil {
			v = p.Value
		} else if p.Default != nil {
			v = p.Default
		}
		if v == nil {
			missing = append(missing, p.Name)
			continue
		}
		t.Inputs.Parameters[i].Value = v
		local["inputs.parameters."+p.Name] = v.String()
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("inputs.parameters.%s was not supplied", strings.Join(missing, ", inputs.parameters."))
	}
	for i, a := range t.Inputs.Artifacts {
		if arg := args.GetArtifactByName(a.Name); arg != nil && hasLocation(arg) {
			path, mode, opt := a.Path, a.Mode, a.Optional
			t.Inputs.Artifacts[i] = *arg.DeepCopy()
			t.Inputs.Artifacts[i].Path, t.Inputs.Artifacts[i].Mode, t.Inputs.Artifacts[i].Optional = path, mode, opt
			t.Inputs.Artifacts[i].From = ""
		} else if !hasLocation(&a) && !a.Optional {
			return nil, fmt.Errorf("inputs.artifacts.%s was not supplied", a.Name)
		}
		if t.Inputs.Artifacts[i].Path != "" {
			local["inputs.artifacts."+a.Name+".path"] = t.Inputs.Artifacts[i].Path
		}
	}
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	out, err := template.Replace(string(b), local, true)
	if err != nil {
		return nil, fmt.Errorf("substitute inputs of template %q: %w", tmpl.Name, err)
	}
	res := &wfv1.Template{}
	if err := json.Unmarshal([]byte(out), res); err != nil {
		return nil, fmt.Errorf("substitute inputs of template %q: %w", tmpl.Name, err)
	}
	return res, nil
}

// hasLocation reports whether an artifact says where it is. A key-only S3
// location counts: the artifact repository supplies the rest.
func hasLocation(a *wfv1.Artifact) bool {
	return (a.S3 != nil && a.S3.Key != "") || a.Raw != nil || a.HasLocation()
}
