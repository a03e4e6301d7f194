package charts_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"

	"github.com/kubeline/kubeline/compiler"
	"github.com/kubeline/kubeline/compiler/argo"
)

// instruction is one Dockerfile instruction: its keyword (upper case) and
// the rest of the line, continuations joined.
type instruction struct {
	cmd, args string
}

// stage is a FROM and what follows it.
type stage struct {
	from, name string
	ins        []instruction
}

// dockerfile is the repository's Dockerfile: the ARGs before the first
// FROM, with their defaults, and the stages.
type dockerfile struct {
	args   map[string]string
	stages []stage
}

// readDockerfile parses ../Dockerfile: comments and blank lines dropped,
// backslash continuations joined. There is no Docker here to build it, so
// the tests read it.
func readDockerfile(t *testing.T) dockerfile {
	t.Helper()
	b, err := os.ReadFile("../Dockerfile")
	if err != nil {
		t.Fatal(err)
	}
	d := dockerfile{args: map[string]string{}}
	var line string
	for _, raw := range strings.Split(string(b), "\n") {
		trimmed := strings.TrimSpace(raw)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && line == "") {
			continue
		}
		if cont, ok := strings.CutSuffix(trimmed, "\\"); ok {
			line += cont + " "
			continue
		}
		line += trimmed
		cmd, rest, _ := strings.Cut(line, " ")
		line = ""
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(rest), " ")}
		switch {
		case in.cmd == "FROM":
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			d.stages = append(d.stages, s)
		case len(d.stages) == 0 && in.cmd == "ARG":
			k, v, _ := strings.Cut(in.args, "=")
			d.args[k] = v
		case len(d.stages) > 0:
			d.stages[len(d.stages)-1].ins = append(d.stages[len(d.stages)-1].ins, in)
		}
	}
	if len(d.stages) < 2 {
		t.Fatalf("Dockerfile: want a build stage and the image stage, got %d stages", len(d.stages))
	}
	return d
}

// final is the image's stage.
func (d dockerfile) final() stage { return d.stages[len(d.stages)-1] }

// all returns the arguments of every instruction cmd of s.
func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// one returns the arguments of the last instruction cmd of s (the one in
// force), failing when there is none.
func (s stage) one(t *testing.T, cmd string) string {
	t.Helper()
	all := s.all(cmd)
	if len(all) == 0 {
		t.Fatalf("Dockerfile stage FROM %s has no %s", s.from, cmd)
	}
	return all[len(all)-1]
}

// execForm decodes a JSON-array instruction (ENTRYPOINT, CMD).
func execForm(t *testing.T, cmd, args string) []string {
	t.Helper()
	var v []string
	if err := json.Unmarshal([]byte(args), &v); err != nil {
		t.Fatalf("Dockerfile %s %s: want the exec (JSON array) form: %v", cmd, args, err)
	}
	return v
}

// imageUser is the uid the image runs as.
func imageUser(t *testing.T) int64 {
	t.Helper()
	user := readDockerfile(t).final().one(t, "USER")
	uid, err := strconv.ParseInt(strings.SplitN(user, ":", 2)[0], 10, 64)
	if err != nil {
		t.Fatalf("Dockerfile USER %s: want a numeric uid, so that runAsNonRoot can check it", user)
	}
	return uid
}

// goVersionAtLeast compares dotted versions (1.26.8 >= 1.26).
func goVersionAtLeast(have, want string) bool {
	h, w := strings.Split(have, "."), strings.Split(want, ".")
	for i := range w {
		if i >= len(h) {
			return false
		}
		a, _ := strconv.Atoi(h[i])
		b, _ := strconv.Atoi(w[i])
		if a != b {
			return a > b
		}
	}
	return true
}

// defaultPath is the PATH of Debian-based images (the python base sets
// /usr/local/bin first too).
var defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// TestDockerfile reads the Dockerfile against what kubeline emits and
// needs: the builder's Go is at least go.mod's; the binary is static and
// versioned; the in-pod launcher lands on the image's PATH under the name
// the compiled workflows' init container runs (`kubeline-launch install
// /kubeline/bin`), and
// that install puts it where every step's command starts
// (/kubeline/bin/kubeline launch); the compiler's default image is the
// chart's image; the user is a numeric non-root uid; the default command
// serves the API on the chart's port, with KUBELINE_HOME where the chart
// mounts its volume.
func TestDockerfile(t *testing.T) {
	d := readDockerfile(t)

	// 1. The build stage.
	var build stage
	for _, s := range d.stages[:len(d.stages)-1] {
		if s.name == "build" {
			build = s
		}
	}
	if build.name == "" {
		t.Fatal("Dockerfile: no stage named build")
	}
	gomod, err := os.ReadFile("../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(gomod)
	if want == nil {
		t.Fatal("go.mod has no go directive")
	}
	goImage := strings.ReplaceAll(build.from, "${GO_VERSION}", d.args["GO_VERSION"])
	m := regexp.MustCompile(`^golang:([0-9.]+)-`).FindStringSubmatch(goImage)
	if m == nil || !goVersionAtLeast(m[1], string(want[1])) {
		t.Errorf("build stage FROM %s: want golang at least %s (go.mod)", goImage, want[1])
	}
	var compile string
	for _, run := range build.all("RUN") {
		if strings.Contains(run, "go build") {
			compile = run
		}
	}
	for _, part := range []string{"CGO_ENABLED=0", "-X main.version=${VERSION}", "-o /out/kubeline ./cmd/kubeline",
		"-o /out/kubeline-launch ./cmd/kubeline-launch"} {
		if !strings.Contains(compile, part) {
			t.Errorf("build stage: the go build %q lacks %q", compile, part)
		}
	}

	// 2. The binary on the image's PATH, as the init container calls it.
	img := d.final()
	var dst string
	for _, c := range img.all("COPY") {
		f := strings.Fields(c)
		if slices.Contains(f, "--from=build") && slices.Contains(f, "/out/kubeline-launch") {
			dst = f[len(f)-1]
			if !slices.Contains(f, "--chmod=0755") {
				t.Errorf("COPY %s: want --chmod=0755 (the launcher runs as any user of a step's image)", c)
			}
		}
	}
	pathVar := defaultPath
	for _, env := range img.all("ENV") {
		if v, ok := strings.CutPrefix(env, "PATH="); ok {
			pathVar = v
		}
	}
	wf, err := compiler.Compile("pipeline.yaml", mustRead(t, "../examples/hello-params/pipeline.yaml"), compiler.Options{})
	if err != nil {
		t.Fatal(err)
	}
	var patch corev1.PodSpec
	if err := json.Unmarshal([]byte(wf.Spec.PodSpecPatch), &patch); err != nil || len(patch.InitContainers) != 1 {
		t.Fatalf("compiled podSpecPatch: %v, %d init containers", err, len(patch.InitContainers))
	}
	initC := patch.InitContainers[0]
	if d := cmp.Diff([]string{"kubeline-launch", "install", argo.BinDir}, initC.Command); d != "" {
		t.Errorf("the init container's command changed (-this test +compiler):\n%s", d)
	}
	if !slices.Contains(strings.Split(pathVar, ":"), path.Dir(dst)) || path.Base(dst) != initC.Command[0] {
		t.Errorf("the image puts kubeline-launch at %q, but the init container runs %q from PATH %s", dst, initC.Command[0], pathVar)
	}
	// `kubeline-launch install DIR` writes DIR/kubeline; every step starts it.
	installed := path.Join(initC.Command[2], "kubeline")
	for _, tmpl := range wf.Spec.Templates {
		if tmpl.Container != nil && tmpl.Container.Command[0] != installed {
			t.Errorf("template %s runs %q, not the installed %q", tmpl.Name, tmpl.Container.Command[0], installed)
		}
	}
	repo, _, _ := strings.Cut(argo.DefaultImage, ":")
	if initC.Image != argo.DefaultImage || repo != chartValues(t)["image"].(map[string]any)["repository"] {
		t.Errorf("compiler default image %s (init container %s) is not the chart's image.repository %v",
			argo.DefaultImage, initC.Image, chartValues(t)["image"])
	}

	// 3. Who it runs as, and what it runs.
	if uid := imageUser(t); uid == 0 {
		t.Error("Dockerfile USER is root")
	}
	entry := execForm(t, "ENTRYPOINT", img.one(t, "ENTRYPOINT"))
	cmdArgs := execForm(t, "CMD", img.one(t, "CMD"))
	if d := cmp.Diff([]string{"kubeline"}, entry); d != "" {
		t.Errorf("ENTRYPOINT (-want +got):\n%s", d)
	}
	port := chartValues(t)["server"].(map[string]any)["port"]
	if d := cmp.Diff([]string{"server", "--addr", ":" + jsonString(port)}, cmdArgs); d != "" {
		t.Errorf("CMD: want the server on the chart's port (-want +got):\n%s", d)
	}
	if got := img.one(t, "EXPOSE"); got != jsonString(port) {
		t.Errorf("EXPOSE %s, want the chart's port %v", got, port)
	}
	// The launcher steps that run in this image write /kubeline/out as its
	// user: /kubeline must be theirs (a real pod found mkdir refused).
	owned := false
	for _, run := range img.all("RUN") {
		owned = owned || (strings.Contains(run, "mkdir "+path.Dir(argo.OutputsDir)) &&
			strings.Contains(run, fmt.Sprintf("chown %d:%d %s", imageUser(t), imageUser(t), path.Dir(argo.OutputsDir))))
	}
	if !owned {
		t.Errorf("no RUN makes %s and gives it to the image's user %d: launcher steps cannot write %s", path.Dir(argo.OutputsDir), imageUser(t), argo.OutputsDir)
	}
	if !slices.Contains(img.all("ENV"), "KUBELINE_HOME="+stateDir) || img.one(t, "WORKDIR") != stateDir {
		t.Errorf("want ENV KUBELINE_HOME=%s and WORKDIR %s (the chart's volume), got ENV %v WORKDIR %s",
			stateDir, stateDir, img.all("ENV"), img.one(t, "WORKDIR"))
	}
}

// stateDir is $KUBELINE_HOME in the image, where the chart mounts its volume.
const stateDir = "/var/lib/kubeline"

func mustRead(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return strings.Trim(string(b), `"`)
}
