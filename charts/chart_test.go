package charts_test

import (
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	wfv1 "github.com/argoproj/argo-workflows/v3/pkg/apis/workflow/v1alpha1"
	"github.com/google/go-cmp/cmp"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/serializer"
	"k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/yaml"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/engine/argo"
)

// chartValues is the chart's values.yaml.
func chartValues(t *testing.T) map[string]any {
	t.Helper()
	var v map[string]any
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(chartDir, "values.yaml")), &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// appVersion is the chart's appVersion: the default image tag.
func appVersion(t *testing.T) string {
	t.Helper()
	var c struct {
		AppVersion string `json:"appVersion"`
	}
	if err := yaml.Unmarshal(mustRead(t, filepath.Join(chartDir, "Chart.yaml")), &c); err != nil || c.AppVersion == "" {
		t.Fatalf("Chart.yaml appVersion: %q, %v", c.AppVersion, err)
	}
	return c.AppVersion
}

// valueSets are the values the chart is linted and rendered with: the
// defaults (SQLite on a volume, KFP's MinIO and its Secret), PostgreSQL
// from a Secret with workflows in two team namespaces, artifacts in a
// directory with cluster-wide RBAC, and a PostgreSQL URL the chart stores.
var valueSets = []struct {
	name string
	args []string
}{
	{"default", nil},
	{"postgres", []string{"-f", filepath.Join(chartDir, "ci", "postgres-values.yaml")}},
	{"dir", []string{"-f", filepath.Join(chartDir, "ci", "dir-values.yaml")}},
	{"postgres-dsn", []string{"--set", "database.type=postgres", "--set", "database.postgres.dsn=postgres://k:pw@db:5432/k"}},
}

// TestHelmLint (issue 10, acceptance 1): helm lint --strict passes with
// every value set.
func TestHelmLint(t *testing.T) {
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			out := runHelm(t, append([]string{"lint", "--strict", "--kube-version", kubeVersion, chartDir}, vs.args...)...)
			if !strings.Contains(out, "0 chart(s) failed") {
				t.Errorf("helm lint:\n%s", out)
			}
		})
	}
}

// TestHelmRejects: values that cannot work fail at render time, naming
// the value (values.schema.json and the chart's own checks).
func TestHelmRejects(t *testing.T) {
	for _, c := range []struct {
		set  []string
		want string
	}{
		{[]string{"server.logFormat=xml"}, "/server/logFormat"},
		{[]string{"server.gpus[0]=a100"}, "/server/gpus/0"},
		{[]string{"database.type=mysql"}, "/database/type"},
		{[]string{"artifacts.s3.port=0"}, "/artifacts/s3/port"},
		{[]string{"replicaCount=3"}, "replicaCount"},
		{[]string{"database.type=postgres"}, "database.postgres.existingSecret"},
		{[]string{"artifacts.s3.credentials.create=true"}, "artifacts.s3.credentials.accessKey"},
	} {
		args := []string{"template", "k", chartDir, "--kube-version", kubeVersion}
		for _, s := range c.set {
			args = append(args, "--set", s)
		}
		out, err := execHelm(t, args...)
		if err == nil || !strings.Contains(out, c.want) {
			t.Errorf("helm template --set %v: %v, want an error naming %q:\n%s", c.set, err, c.want, out)
		}
	}
}

// rendered is a chart's objects, decoded.
type rendered []runtime.Object

// render runs helm template in namespace kubeflow and decodes every
// object strictly (unknown and duplicate fields are errors) with
// client-go's scheme.
func render(t *testing.T, args ...string) rendered {
	t.Helper()
	out := runHelm(t, append([]string{"template", "k", chartDir, "--namespace", "kubeflow", "--kube-version", kubeVersion}, args...)...)
	decoder := serializer.NewCodecFactory(scheme.Scheme, serializer.EnableStrict).UniversalDeserializer()
	var objs rendered
	for _, doc := range strings.Split(out, "\n---\n") {
		if strings.TrimSpace(stripComments(doc)) == "" {
			continue
		}
		obj, gvk, err := decoder.Decode([]byte(doc), nil, nil)
		if err != nil {
			t.Fatalf("decode a rendered object strictly: %v\n%s", err, doc)
		}
		meta := obj.(metav1.Object)
		clusterScoped := gvk.Kind == "ClusterRole" || gvk.Kind == "ClusterRoleBinding"
		if clusterScoped == (meta.GetNamespace() != "") {
			t.Errorf("%s %s: namespace %q (cluster-scoped: %v)", gvk.Kind, meta.GetName(), meta.GetNamespace(), clusterScoped)
		}
		objs = append(objs, obj)
	}
	return objs
}

func stripComments(doc string) string {
	var keep []string
	for _, l := range strings.Split(doc, "\n") {
		if !strings.HasPrefix(strings.TrimSpace(l), "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// of returns the objects of type T.
func of[T runtime.Object](objs rendered) []T {
	var out []T
	for _, o := range objs {
		if v, ok := o.(T); ok {
			out = append(out, v)
		}
	}
	return out
}

// named returns the object of type T in namespace ns named name, or nil.
func named[T interface {
	runtime.Object
	metav1.Object
}](objs rendered, ns, name string) T {
	var zero T
	for _, o := range of[T](objs) {
		if o.GetNamespace() == ns && o.GetName() == name {
			return o
		}
	}
	return zero
}

// secretRef is where an environment variable comes from.
type secretRef struct{ name, key string }

// expectation is what one value set must render.
type expectation struct {
	secretEnv  map[string]secretRef // env var -> Secret and key
	dbArg      bool                 // --db=$(KUBELINE_DB)
	s3         bool                 // artifacts in S3, the repository ConfigMaps
	namespaces []string             // workflow namespaces
	sa         string
	workflowSA bool // the workflow pods' account and its Role
	clusterRB  bool
	pvc        bool
	ingress    bool
	secrets    []string // ns/name the chart makes
}

var kfpMinio = map[string]secretRef{
	"OBJECTSTORECONFIG_ACCESSKEY":       {"mlpipeline-minio-artifact", "accesskey"},
	"OBJECTSTORECONFIG_SECRETACCESSKEY": {"mlpipeline-minio-artifact", "secretkey"},
}

var expectations = map[string]expectation{
	"default": {secretEnv: kfpMinio, s3: true, namespaces: []string{"kubeflow"}, sa: "k-kubeline", workflowSA: true, pvc: true},
	"postgres": {secretEnv: map[string]secretRef{
		"KUBELINE_DB":                       {"kubeline-postgres", "url"},
		"OBJECTSTORECONFIG_ACCESSKEY":       {"kubeline-s3", "accesskey"},
		"OBJECTSTORECONFIG_SECRETACCESSKEY": {"kubeline-s3", "secretkey"},
	}, dbArg: true, s3: true, namespaces: []string{"team-a", "team-b"}, sa: "k-kubeline", workflowSA: true, ingress: true,
		secrets: []string{"kubeflow/kubeline-s3", "team-a/kubeline-s3", "team-b/kubeline-s3"}},
	"dir": {secretEnv: map[string]secretRef{}, namespaces: []string{"kubeflow"}, sa: "kubeline-server", clusterRB: true, pvc: true},
	"postgres-dsn": {secretEnv: map[string]secretRef{
		"KUBELINE_DB":                       {"k-kubeline-postgres", "dsn"},
		"OBJECTSTORECONFIG_ACCESSKEY":       {"mlpipeline-minio-artifact", "accesskey"},
		"OBJECTSTORECONFIG_SECRETACCESSKEY": {"mlpipeline-minio-artifact", "secretkey"},
	}, dbArg: true, s3: true, namespaces: []string{"kubeflow"}, sa: "k-kubeline", workflowSA: true, pvc: true,
		secrets: []string{"kubeflow/k-kubeline-postgres"}},
}

// TestChartObjects (issue 10, acceptance 2): every value set renders
// objects that client-go's scheme decodes strictly, and their key fields
// are what kubeline needs: the image (also the one compiled workflows
// use), env from Secrets under the names kubeline reads, probes on /livez
// and /readyz, the Service on the container's port, RBAC on
// workflows.argoproj.io in each workflow namespace, and an
// artifact-repositories ConfigMap equal to the one kubeline's own code
// makes for the same bucket.
func TestChartObjects(t *testing.T) {
	image := "ghcr.io/kubeline/kubeline:" + appVersion(t)
	uid := imageUser(t)
	for _, vs := range valueSets {
		t.Run(vs.name, func(t *testing.T) {
			want := expectations[vs.name]
			objs := render(t, vs.args...)

			// The server.
			deps := of[*appsv1.Deployment](objs)
			if len(deps) != 1 {
				t.Fatalf("%d Deployments, want 1", len(deps))
			}
			dep := deps[0]
			pod := dep.Spec.Template.Spec
			if *dep.Spec.Replicas != 1 || dep.Spec.Strategy.Type != appsv1.RecreateDeploymentStrategyType {
				t.Errorf("replicas %d, strategy %s: want 1, Recreate", *dep.Spec.Replicas, dep.Spec.Strategy.Type)
			}
			if len(pod.Containers) != 1 {
				t.Fatalf("%d containers, want 1", len(pod.Containers))
			}
			c := pod.Containers[0]
			args := flags(c.Args)
			if c.Image != image || args["--image"][0] != image || c.Args[0] != "server" {
				t.Errorf("image %s, args %v: want %s, server --image=%s", c.Image, c.Args, image, image)
			}
			if pod.ServiceAccountName != want.sa {
				t.Errorf("serviceAccountName %q, want %q", pod.ServiceAccountName, want.sa)
			}
			if sc := pod.SecurityContext; sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.RunAsUser == nil || *sc.RunAsUser != uid {
				t.Errorf("pod securityContext %+v: want runAsNonRoot and runAsUser %d (the image's USER)", sc, uid)
			}

			// Env: what comes from Secrets, and the S3 settings as kubeline reads them.
			got := map[string]secretRef{}
			env := map[string]string{}
			for _, e := range c.Env {
				switch {
				case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
					got[e.Name] = secretRef{e.ValueFrom.SecretKeyRef.Name, e.ValueFrom.SecretKeyRef.Key}
					env[e.Name] = "secret:" + e.ValueFrom.SecretKeyRef.Name + "/" + e.ValueFrom.SecretKeyRef.Key
				case e.ValueFrom == nil:
					env[e.Name] = e.Value
				}
			}
			if d := cmp.Diff(want.secretEnv, got, cmp.AllowUnexported(secretRef{})); d != "" {
				t.Errorf("env from Secrets (-want +got):\n%s", d)
			}
			if env["KUBELINE_HOME"] != stateDir || !mountedAt(c, "data", stateDir) {
				t.Errorf("KUBELINE_HOME %q and the data volume's mount: want both %s", env["KUBELINE_HOME"], stateDir)
			}
			if want.dbArg != slices.Contains(args["--db"], "$(KUBELINE_DB)") {
				t.Errorf("--db %v: want $(KUBELINE_DB): %v", args["--db"], want.dbArg)
			}
			var repo *wfv1.ArtifactRepository
			if want.s3 {
				cfg, err := artifact.S3ConfigFromEnv(func(k string) string { return env[k] })
				if err != nil {
					t.Fatal(err)
				}
				scheme, bucket, _ := strings.Cut(one(t, args, "--artifacts"), "://")
				cfg.Bucket, cfg.URIScheme = bucket, scheme
				cfg.CredentialsSecret = one(t, args, "--s3-credentials-secret")
				cfg.PathStyle = args["--s3-path-style"] != nil
				if cfg.AccessKey != "secret:"+want.secretEnv["OBJECTSTORECONFIG_ACCESSKEY"].name+"/accesskey" ||
					cfg.SecretKey != "secret:"+want.secretEnv["OBJECTSTORECONFIG_SECRETACCESSKEY"].name+"/secretkey" ||
					cfg.CredentialsSecret != want.secretEnv["OBJECTSTORECONFIG_ACCESSKEY"].name || cfg.Endpoint == "" {
					t.Errorf("kubeline reads the S3 settings %+v from the env", cfg)
				}
				s, err := artifact.NewS3(cfg)
				if err != nil {
					t.Fatal(err)
				}
				r := argo.ArtifactRepository(s)
				repo = &r
			} else if args["--artifacts"] != nil {
				t.Errorf("--artifacts %v without S3: want the volume's directory", args["--artifacts"])
			}

			// Probes and the Service.
			probes := map[string]*corev1.Probe{"startup": c.StartupProbe, "liveness": c.LivenessProbe, "readiness": c.ReadinessProbe}
			for name, path := range map[string]string{"startup": "/livez", "liveness": "/livez", "readiness": "/readyz"} {
				p := probes[name]
				if p == nil || p.HTTPGet == nil || p.HTTPGet.Path != path || p.HTTPGet.Port.String() != "http" {
					t.Errorf("%s probe %+v: want GET %s on port http", name, p, path)
				}
			}
			if len(c.Ports) != 1 || c.Ports[0].Name != "http" || c.Ports[0].ContainerPort != 8888 {
				t.Errorf("container ports %+v: want http 8888", c.Ports)
			}
			if a := dep.Spec.Template.Annotations; a["prometheus.io/scrape"] != "true" || a["prometheus.io/path"] != "/metrics" || a["prometheus.io/port"] != "8888" {
				t.Errorf("pod annotations %v: want Prometheus to scrape /metrics on 8888", a)
			}
			svcs := of[*corev1.Service](objs)
			if len(svcs) != 1 || svcs[0].Spec.Ports[0].TargetPort.String() != "http" || svcs[0].Spec.Ports[0].Port != 8888 ||
				!cmp.Equal(svcs[0].Spec.Selector, dep.Spec.Selector.MatchLabels) {
				t.Errorf("Services %+v: want one on port 8888 to the pod's http port, selecting the pod", svcs)
			}
			for k, v := range dep.Spec.Selector.MatchLabels {
				if dep.Spec.Template.Labels[k] != v {
					t.Errorf("the selector's %s=%s is not on the pod", k, v)
				}
			}

			// RBAC for Argo Workflows, in each workflow namespace.
			checkRBAC(t, objs, want)

			// The Argo artifact repository and the workflow pods' account.
			var cms []string
			for _, cm := range of[*corev1.ConfigMap](objs) {
				cms = append(cms, cm.Namespace+"/"+cm.Name)
				if repo == nil {
					continue
				}
				key := cm.Annotations["workflows.argoproj.io/default-artifact-repository"]
				var gotRepo wfv1.ArtifactRepository
				if err := yaml.UnmarshalStrict([]byte(cm.Data[key]), &gotRepo); err != nil {
					t.Fatalf("ConfigMap %s/%s data[%q]: %v", cm.Namespace, cm.Name, key, err)
				}
				if d := cmp.Diff(*repo, gotRepo); d != "" {
					t.Errorf("ConfigMap %s/%s: not the repository kubeline makes for its bucket (-kubeline +chart):\n%s", cm.Namespace, cm.Name, d)
				}
			}
			var wantCMs []string
			for _, ns := range want.namespaces {
				if want.s3 {
					wantCMs = append(wantCMs, ns+"/artifact-repositories")
				}
				if (named[*corev1.ServiceAccount](objs, ns, "kubeline-workflow") != nil) != want.workflowSA ||
					(named[*rbacv1.RoleBinding](objs, ns, "k-kubeline-executor") != nil) != want.workflowSA {
					t.Errorf("ServiceAccount kubeline-workflow and its RoleBinding in %s: want %v", ns, want.workflowSA)
				}
			}
			sort.Strings(cms)
			if d := cmp.Diff(wantCMs, cms); d != "" {
				t.Errorf("ConfigMaps (-want +got):\n%s", d)
			}

			// Volumes, Secrets, Ingress.
			pvcs := of[*corev1.PersistentVolumeClaim](objs)
			vol := pod.Volumes[slices.IndexFunc(pod.Volumes, func(v corev1.Volume) bool { return v.Name == "data" })]
			if want.pvc != (len(pvcs) == 1) || want.pvc != (vol.PersistentVolumeClaim != nil && vol.PersistentVolumeClaim.ClaimName == pvcs[0].Name) {
				t.Errorf("%d PVCs, data volume %+v: want a claim: %v", len(pvcs), vol.VolumeSource, want.pvc)
			}
			var secrets []string
			for _, s := range of[*corev1.Secret](objs) {
				secrets = append(secrets, s.Namespace+"/"+s.Name)
			}
			sort.Strings(secrets)
			if d := cmp.Diff(want.secrets, secrets); d != "" {
				t.Errorf("Secrets the chart makes (-want +got):\n%s", d)
			}
			ings := of[*networkingv1.Ingress](objs)
			if want.ingress != (len(ings) == 1) {
				t.Fatalf("%d Ingresses, want one: %v", len(ings), want.ingress)
			}
			if want.ingress {
				b := ings[0].Spec.Rules[0].HTTP.Paths[0].Backend.Service
				if b.Name != svcs[0].Name || b.Port.Name != "http" {
					t.Errorf("Ingress backend %+v: want Service %s port http", b, svcs[0].Name)
				}
			}
		})
	}
}

// checkRBAC: the server's account may create, get, list, watch, patch and
// delete workflows.argoproj.io in every workflow namespace (or cluster
// wide), and read pods and their logs; workflow pods' account may report
// task results.
func checkRBAC(t *testing.T, objs rendered, want expectation) {
	t.Helper()
	verbs := []string{"create", "get", "list", "watch", "patch", "delete"}
	allows := func(rules []rbacv1.PolicyRule, group, resource string, verbs ...string) bool {
		for _, r := range rules {
			if slices.Contains(r.APIGroups, group) && slices.Contains(r.Resources, resource) {
				for _, v := range verbs {
					if !slices.Contains(r.Verbs, v) {
						return false
					}
				}
				return true
			}
		}
		return false
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: want.sa, Namespace: "kubeflow"}}
	if want.clusterRB {
		crs, crbs := of[*rbacv1.ClusterRole](objs), of[*rbacv1.ClusterRoleBinding](objs)
		if len(crs) != 1 || len(crbs) != 1 || !allows(crs[0].Rules, "argoproj.io", "workflows", verbs...) ||
			crbs[0].RoleRef.Name != crs[0].Name || !cmp.Equal(subject, crbs[0].Subjects) {
			t.Errorf("cluster-wide RBAC: %+v %+v", crs, crbs)
		}
		if len(of[*rbacv1.RoleBinding](objs)) != 0 {
			t.Error("RoleBindings besides the cluster-wide RBAC")
		}
		return
	}
	var got []string
	for _, r := range of[*rbacv1.Role](objs) {
		if !strings.HasSuffix(r.Name, "-workflows") {
			if !allows(r.Rules, "argoproj.io", "workflowtaskresults", "create", "patch") {
				t.Errorf("Role %s/%s: %+v", r.Namespace, r.Name, r.Rules)
			}
			continue
		}
		got = append(got, r.Namespace)
		if !allows(r.Rules, "argoproj.io", "workflows", verbs...) || !allows(r.Rules, "", "pods/log", "get") {
			t.Errorf("Role %s/%s rules %+v: want %v on workflows.argoproj.io and pods/log get", r.Namespace, r.Name, r.Rules, verbs)
		}
		rb := named[*rbacv1.RoleBinding](objs, r.Namespace, r.Name)
		if rb == nil || rb.RoleRef.Name != r.Name || rb.RoleRef.Kind != "Role" || !cmp.Equal(subject, rb.Subjects) {
			t.Errorf("RoleBinding %s/%s: %+v, want %s bound to %+v", r.Namespace, r.Name, rb, r.Name, subject)
		}
	}
	sort.Strings(got)
	if d := cmp.Diff(want.namespaces, got); d != "" {
		t.Errorf("namespaces with the workflows Role (-want +got):\n%s", d)
	}
}

// flags maps each --name=value (or bare --name) of args to its values.
func flags(args []string) map[string][]string {
	out := map[string][]string{}
	for _, a := range args {
		if !strings.HasPrefix(a, "--") {
			continue
		}
		k, v, _ := strings.Cut(a, "=")
		out[k] = append(out[k], v)
	}
	return out
}

func one(t *testing.T, args map[string][]string, name string) string {
	t.Helper()
	if len(args[name]) != 1 {
		t.Fatalf("%s given %d times, want once", name, len(args[name]))
	}
	return args[name][0]
}

func mountedAt(c corev1.Container, volume, path string) bool {
	for _, m := range c.VolumeMounts {
		if m.Name == volume && m.MountPath == path {
			return true
		}
	}
	return false
}

// TestNotes: NOTES.txt tells how to reach the API, sign in, point the kfp
// client and the Pipelines UI at kubeline, and where metrics are. helm
// template does not render NOTES.txt, so a copy of the chart renders it
// as a ConfigMap.
func TestNotes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "kubeline")
	runHelmCopy(t, chartDir, dir)
	notes := mustRead(t, filepath.Join(dir, "templates", "NOTES.txt"))
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), notes, 0o644); err != nil {
		t.Fatal(err)
	}
	tmpl := "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: notes\ndata:\n  notes: {{ tpl (.Files.Get \"notes.txt\") . | quote }}\n"
	if err := os.WriteFile(filepath.Join(dir, "templates", "zz-notes.yaml"), []byte(tmpl), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		args []string
		want []string
	}{
		{nil, []string{
			"kubectl -n kubeflow port-forward svc/k-kubeline 8888:8888",
			"curl http://127.0.0.1:8888/apis/v2beta1/healthz",
			"http://k-kubeline.kubeflow.svc.cluster.local:8888",
			"kubectl -n kubeflow logs deploy/k-kubeline | grep KUBELINE_TOKEN",
			`kfp.Client(host="http://127.0.0.1:8888", existing_token=os.environ["KUBELINE_TOKEN"])`,
			"ML_PIPELINE_SERVICE_HOST=k-kubeline.kubeflow.svc.cluster.local ML_PIPELINE_SERVICE_PORT=8888",
			"GET /metrics",
			"minio://mlpipeline on minio-service.kubeflow:9000",
			"What multi-user mode isolates",
			"are pods of Argo Workflows in kubeflow, never the server's process",
			"never the caller's token or cookies",
		}},
		{[]string{"--set", "server.engine=local"}, []string{
			"would run on the embedded engine, sandboxed as uids of their own",
			"WARNING: server.engine=local: steps cannot be isolated in this pod",
			"the server refuses to start rather than run users' steps as itself",
		}},
		{[]string{"-f", filepath.Join(chartDir, "ci", "postgres-values.yaml")}, []string{
			"curl https://kubeline.example.com/apis/v2beta1/healthz",
			`kfp.Client(host="https://kubeline.example.com"`,
			"namespace: team-a, team-b",
		}},
		{[]string{"--set", "persistence.enabled=false"}, []string{"WARNING: the SQLite store is on an emptyDir"}},
	} {
		out := runHelm(t, append([]string{"template", "k", dir, "--namespace", "kubeflow", "--kube-version", kubeVersion,
			"--show-only", "templates/zz-notes.yaml"}, c.args...)...)
		var cm corev1.ConfigMap
		if err := yaml.Unmarshal([]byte(out), &cm); err != nil {
			t.Fatal(err)
		}
		for _, w := range c.want {
			if !strings.Contains(cm.Data["notes"], w) {
				t.Errorf("NOTES (%v) lack %q:\n%s", c.args, w, cm.Data["notes"])
			}
		}
	}
}
