package local

import (
	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/kubeline/kubeline/runtime/engine"
)

// podName is Argo's v2 pod name (engine.PodName).
func podName(wfName, nodeName, tmplName string) string {
	return engine.PodName(wfName, nodeName, tmplName)
}

// initNode creates a node in the Running (or given) phase and returns its id.
func (r *run) initNode(name, display string, typ wfv1.NodeType, tmplName, boundaryID string, phase wfv1.NodePhase, msg string) string {
	r.mu.Lock()
	id := r.wf.NodeID(name)
	n := wfv1.NodeStatus{
		ID: id, Name: name, DisplayName: display, Type: typ, TemplateName: tmplName,
		BoundaryID: boundaryID, Phase: phase, Message: msg, StartedAt: metav1.Now(),
	}
	if phase.Fulfilled(nil) {
		n.FinishedAt = n.StartedAt
	}
	r.wf.Status.Nodes[id] = n
	r.feed.mark(id)
	r.mu.Unlock()
	return id
}

// node returns a copy of node id.
func (r *run) node(id string) wfv1.NodeStatus {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.wf.Status.Nodes[id]
}

func (r *run) nodeUnlocked(id string) wfv1.NodeStatus { return r.wf.Status.Nodes[id] }

// setNode changes node id under the lock and publishes the new status.
func (r *run) setNode(id string, change func(n *wfv1.NodeStatus)) {
	r.mu.Lock()
	n := r.wf.Status.Nodes[id]
	change(&n)
	r.wf.Status.Nodes[id] = n
	r.feed.mark(id)
	r.mu.Unlock()
}

// finish sets a node's final phase and message.
func (r *run) finish(id string, phase wfv1.NodePhase, msg string) {
	r.setNode(id, func(n *wfv1.NodeStatus) {
		n.Phase, n.Message, n.FinishedAt = phase, msg, metav1.Now()
	})
}

// addChild links child under parent.
func (r *run) addChild(parent, child string) {
	if parent == "" || child == "" {
		return
	}
	r.setNode(parent, func(n *wfv1.NodeStatus) {
		for _, c := range n.Children {
			if c == child {
				return
			}
		}
		n.Children = append(n.Children, child)
	})
}

// addChildName links the node that will be called name under parent before
// it exists, as Argo does for loop items.
func (r *run) addChildName(parent, name string) {
	r.addChild(parent, r.wf.NodeID(name))
}

// addChildNames links the nodes that will be called names under parent,
// in order, as one change: a loop's items.
func (r *run) addChildNames(parent string, names []string) {
	ids := make([]string, len(names))
	for i, name := range names {
		ids[i] = r.wf.NodeID(name)
	}
	r.setNode(parent, func(n *wfv1.NodeStatus) { n.Children = append(n.Children, ids...) })
}

// flagged gives a node an empty nodeFlag, as Argo does for skipped,
// omitted and task-group nodes, and returns its id.
func (r *run) flagged(id string) string {
	r.setNode(id, func(n *wfv1.NodeStatus) {
		if n.NodeFlag == nil {
			n.NodeFlag = &wfv1.NodeFlag{}
		}
	})
	return id
}
