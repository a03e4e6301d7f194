package cluster

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/artifact/s3test"
)

// Env is an environment variable `e2e/cluster.sh env` sets; its absence
// fails the test.
func Env(t testing.TB, name string) string {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		t.Fatalf("%s is not set: start the e2e environment with e2e/cluster.sh up and eval \"$(e2e/cluster.sh env)\" (make e2e does)", name)
	}
	return v
}

// Namespace is a namespace of the e2e cluster with an S3 artifact
// repository.
type Namespace struct {
	Name       string
	Kubeconfig string
	Config     *rest.Config
	Kube       kubernetes.Interface
	// S3 is the versitygw the pods reach (on KUBELINE_E2E_HOST_IP) and
	// S3Config its settings without a bucket.
	S3       *s3test.Gateway
	S3Config artifact.S3Config
	// Bucket is the bucket Argo's artifact repository names.
	Bucket string
}

// New starts versitygw where pods reach it, makes a namespace named
// PREFIX-N and makes bucket its Argo artifact repository: the credentials
// secret KFP's manifests use and the ConfigMap `kubeline argo-repository`
// prints. The namespace is deleted after a test that passed.
func New(t testing.TB, prefix, bucket string) *Namespace {
	t.Helper()
	n := &Namespace{Kubeconfig: Env(t, "KUBELINE_E2E_KUBECONFIG"), Bucket: bucket,
		Name: fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1e9)}
	host, bin := Env(t, "KUBELINE_E2E_HOST_IP"), Env(t, "KUBELINE_E2E_BIN")
	var err error
	if n.Config, err = clientcmd.BuildConfigFromFlags("", n.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	n.Kube = kubernetes.NewForConfigOrDie(n.Config)
	n.S3 = s3test.StartOn(t, host)
	n.S3Config = artifact.S3Config{Endpoint: n.S3.Endpoint, AccessKey: n.S3.Access, SecretKey: n.S3.Secret,
		Region: n.S3.Region, URIScheme: "minio"}
	ctx := context.Background()
	if _, err := n.Kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: n.Name}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if !t.Failed() {
			n.Kube.CoreV1().Namespaces().Delete(context.Background(), n.Name, metav1.DeleteOptions{})
		}
	})
	if _, err := n.Kube.CoreV1().Secrets(n.Name).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: artifact.DefaultCredentialsSecret},
		StringData: map[string]string{"accesskey": n.S3.Access, "secretkey": n.S3.Secret},
	}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "argo-repository", "--artifacts", "minio://"+bucket,
		"--s3-endpoint", n.S3.Endpoint, "--s3-region", n.S3.Region, "--namespace", n.Name)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubeline argo-repository: %v\n%s", err, stderr.String())
	}
	var cm corev1.ConfigMap
	if err := yaml.UnmarshalStrict(out, &cm); err != nil {
		t.Fatalf("kubeline argo-repository printed no ConfigMap: %v\n%s", err, out)
	}
	if _, err := n.Kube.CoreV1().ConfigMaps(n.Name).Create(ctx, &cm, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	n.Store(t, bucket)
	// Pods wait for their namespace's default ServiceAccount.
	for i := 0; ; i++ {
		_, err := n.Kube.CoreV1().ServiceAccounts(n.Name).Get(ctx, "default", metav1.GetOptions{})
		if err == nil {
			break
		}
		if i > 300 {
			t.Fatalf("namespace %s has no default ServiceAccount: %v", n.Name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
	return n
}

// Store is bucket of the namespace's S3 server, created when missing.
func (n *Namespace) Store(t testing.TB, bucket string) *artifact.S3 {
	t.Helper()
	cfg := n.S3Config
	cfg.Bucket = bucket
	s, err := artifact.NewS3(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.EnsureBucket(context.Background()); err != nil {
		t.Fatal(err)
	}
	return s
}

// Pods says what each pod of workflow wf did, for failure messages.
func (n *Namespace) Pods(wf string) string {
	pods, err := n.Kube.CoreV1().Pods(n.Name).List(context.Background(), metav1.ListOptions{LabelSelector: "workflows.argoproj.io/workflow=" + wf})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, p := range pods.Items {
		fmt.Fprintf(&b, "pod %s: %s %s\n", p.Name, p.Status.Phase, p.Status.Message)
		for _, s := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			switch {
			case s.State.Terminated != nil:
				fmt.Fprintf(&b, "  %s: exit %d %s %s\n", s.Name, s.State.Terminated.ExitCode, s.State.Terminated.Reason, s.State.Terminated.Message)
			case s.State.Waiting != nil:
				fmt.Fprintf(&b, "  %s: waiting %s %s\n", s.Name, s.State.Waiting.Reason, s.State.Waiting.Message)
			default:
				fmt.Fprintf(&b, "  %s: running\n", s.Name)
			}
		}
	}
	return b.String()
}
