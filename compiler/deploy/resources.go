package deploy

import (
	"strconv"

	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/kubeline/kubeline/compiler/spec"
)

// Resources of each predictor replica, as KServe's container resources:
// CPU, Memory and GPUs set the request and the limit alike; Requests and
// Limits set them apart. One form or the other, not both.
type Resources struct {
	CPU      string        `json:"cpu,omitempty"`
	Memory   string        `json:"memory,omitempty"`
	GPUs     int           `json:"gpus,omitempty"`
	Requests *ResourceList `json:"requests,omitempty"`
	Limits   *ResourceList `json:"limits,omitempty"`
}

// ResourceList is a request or a limit: CPU and memory as Kubernetes
// quantities (500m, 2; 512Mi, 1Gi), GPUs a count.
type ResourceList struct {
	CPU    string `json:"cpu,omitempty"`
	Memory string `json:"memory,omitempty"`
	GPUs   int    `json:"gpus,omitempty"`
}

func (r *Resources) validate(at string, es *spec.Errors) {
	short := ResourceList{CPU: r.CPU, Memory: r.Memory, GPUs: r.GPUs}
	short.validate(at, es)
	if short != (ResourceList{}) && (r.Requests != nil || r.Limits != nil) {
		es.Add(at, nil, "set cpu, memory and gpus (request and limit alike) or requests and limits, not both")
	}
	if r.Requests != nil {
		r.Requests.validate(at+".requests", es)
	}
	if r.Limits != nil {
		r.Limits.validate(at+".limits", es)
	}
	if r.Requests == nil || r.Limits == nil {
		return
	}
	for _, q := range []struct{ name, req, lim string }{{"cpu", r.Requests.CPU, r.Limits.CPU}, {"memory", r.Requests.Memory, r.Limits.Memory}} {
		req, err1 := resource.ParseQuantity(q.req)
		lim, err2 := resource.ParseQuantity(q.lim)
		if err1 == nil && err2 == nil && req.Cmp(lim) > 0 {
			es.Add(at+".requests."+q.name, nil, "want at most the limit (%s), got %s", q.lim, q.req)
		}
	}
	if g, l := r.Requests.GPUs, r.Limits.GPUs; g > 0 && l > 0 && g != l {
		es.Add(at+".requests.gpus", nil, "GPUs are not shared: want the limit (%d) or nothing, got %d", l, g)
	}
}

func (l ResourceList) validate(at string, es *spec.Errors) {
	quantity := func(field, v, like string) {
		if v == "" {
			return
		}
		q, err := resource.ParseQuantity(v)
		if err != nil || q.Sign() <= 0 {
			es.Add(at+"."+field, nil, "want a positive quantity such as %s, got %q", like, v)
		}
	}
	quantity("cpu", l.CPU, "500m or 2")
	quantity("memory", l.Memory, "512Mi or 1Gi")
	if l.GPUs < 0 {
		es.Add(at+".gpus", nil, "want 0 or more, got %d", l.GPUs)
	}
}

// kserve is the container's resources: requests and limits. GPUs are not
// overcommitted, so a GPU count asked for on either side is on both.
func (r *Resources) kserve() map[string]any {
	req, lim := ResourceList{CPU: r.CPU, Memory: r.Memory, GPUs: r.GPUs}, ResourceList{CPU: r.CPU, Memory: r.Memory, GPUs: r.GPUs}
	if r.Requests != nil || r.Limits != nil {
		req, lim = ResourceList{}, ResourceList{}
		if r.Requests != nil {
			req = *r.Requests
		}
		if r.Limits != nil {
			lim = *r.Limits
		}
		req.GPUs = max(req.GPUs, lim.GPUs)
		lim.GPUs = req.GPUs
	}
	return map[string]any{"requests": req.kserve(), "limits": lim.kserve()}
}

func (l ResourceList) kserve() map[string]any {
	out := map[string]any{}
	if l.CPU != "" {
		out["cpu"] = l.CPU
	}
	if l.Memory != "" {
		out["memory"] = l.Memory
	}
	if l.GPUs > 0 {
		out["nvidia.com/gpu"] = strconv.Itoa(l.GPUs)
	}
	return out
}
