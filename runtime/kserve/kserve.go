package kserve

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"

	"github.com/kubeline/kubeline/runtime/engine/argo"
	"github.com/kubeline/kubeline/runtime/store"
)

// InferenceServices is KServe's resource.
var InferenceServices = schema.GroupVersionResource{Group: "serving.kserve.io", Version: "v1beta1", Resource: "inferenceservices"}

// Status is what kubeline reads of an InferenceService.
type Status struct {
	Namespace, Name string
	// URL is status.url (empty until KServe sets it).
	URL string
	// Ready is its Ready condition; Message that condition's message.
	Ready   bool
	Message string
	// Model is NAME@vN from kubeline's labels ("" for one kubeline did
	// not make).
	Model string
}

// StatusOf reads an InferenceService object.
func StatusOf(u *unstructured.Unstructured) Status {
	st := Status{Namespace: u.GetNamespace(), Name: u.GetName()}
	st.URL, _, _ = unstructured.NestedString(u.Object, "status", "url")
	conds, _, _ := unstructured.NestedSlice(u.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == "Ready" {
			st.Ready = m["status"] == "True"
			st.Message, _ = m["message"].(string)
		}
	}
	l := u.GetLabels()
	if name, v := l["kubeline.io/model"], l["kubeline.io/model-version"]; name != "" && v != "" && v != "latest" {
		st.Model = name + "@v" + v
	}
	if a := u.GetAnnotations()["kubeline.io/canary-model"]; a != "" {
		st.Model = a
	}
	return st
}

// Client reaches registered clusters; one dynamic client per cluster.
type Client struct {
	mu      sync.Mutex
	clients map[string]dynamic.Interface
}

// NewClient returns a client with no connections yet.
func NewClient() *Client { return &Client{clients: map[string]dynamic.Interface{}} }

// resource is the InferenceServices of one namespace of a cluster (the
// cluster's own namespace when ns is empty).
func (c *Client) resource(cl store.Cluster, ns string) (dynamic.ResourceInterface, string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	key := strings.Join([]string{cl.Name, cl.Kubeconfig, cl.Context, cl.Namespace}, "\x00")
	cfg, defNS, err := argo.Config(cl.Kubeconfig, cl.Context, cl.Namespace)
	if err != nil {
		return nil, "", fmt.Errorf("cluster %s: %w", cl.Name, err)
	}
	if ns == "" {
		ns = defNS
	}
	dc, ok := c.clients[key]
	if !ok {
		if dc, err = dynamic.NewForConfig(cfg); err != nil {
			return nil, "", fmt.Errorf("cluster %s: %w", cl.Name, err)
		}
		c.clients[key] = dc
	}
	return dc.Resource(InferenceServices).Namespace(ns), ns, nil
}

// Apply creates or updates the InferenceService (server-side apply) in
// its namespace, or the cluster's.
func (c *Client) Apply(ctx context.Context, cl store.Cluster, isvc map[string]any) (Status, error) {
	u := &unstructured.Unstructured{Object: isvc}
	r, ns, err := c.resource(cl, u.GetNamespace())
	if err != nil {
		return Status{}, err
	}
	u.SetNamespace(ns)
	data, err := json.Marshal(u.Object)
	if err != nil {
		return Status{}, err
	}
	got, err := r.Patch(ctx, u.GetName(), types.ApplyPatchType, data, metav1.PatchOptions{FieldManager: "kubeline", Force: ptr(true)})
	if err != nil {
		return Status{}, describe(cl, ns, u.GetName(), "apply", err)
	}
	return StatusOf(got), nil
}

// Get reads an InferenceService; a missing one is store.ErrNotFound.
func (c *Client) Get(ctx context.Context, cl store.Cluster, ns, name string) (Status, error) {
	r, ns, err := c.resource(cl, ns)
	if err != nil {
		return Status{}, err
	}
	got, err := r.Get(ctx, name, metav1.GetOptions{})
	if err != nil {
		return Status{}, describe(cl, ns, name, "read", err)
	}
	return StatusOf(got), nil
}

// Delete deletes an InferenceService (a missing one is no error).
func (c *Client) Delete(ctx context.Context, cl store.Cluster, ns, name string) error {
	r, ns, err := c.resource(cl, ns)
	if err != nil {
		return err
	}
	if err := r.Delete(ctx, name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
		return describe(cl, ns, name, "delete", err)
	}
	return nil
}

// describe says what failed where; a missing object (or kind) is
// store.ErrNotFound.
func describe(cl store.Cluster, ns, name, verb string, err error) error {
	where := fmt.Sprintf("InferenceService %s in namespace %s of cluster %s", name, ns, cl.Name)
	switch {
	case apierrors.IsNotFound(err) && strings.Contains(err.Error(), "the server could not find the requested resource"):
		return fmt.Errorf("%s: %s: the cluster has no InferenceService kind (is KServe installed there?): %w", verb, where, store.ErrNotFound)
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%s: %s: %w", where, err, store.ErrNotFound)
	}
	return fmt.Errorf("%s %s: %w", verb, where, err)
}

func ptr[T any](v T) *T { return &v }
