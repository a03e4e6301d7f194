package launchcmd

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"

	"github.com/kubeline/kubeline/runtime/artifact"
	"github.com/kubeline/kubeline/runtime/launcher"
)

// Directories of the launcher contract in a pod (compiler/argo's InputsDir
// and OutputsDir; this package does not link the compiler).
const (
	inputsDir  = "/kubeline/in"
	outputsDir = "/kubeline/out"
)

// Launch is `kubeline launch ARGS`, the step wrapper whose contract is in
// the compiler/argo package doc. It runs inside a pod: inputs under
// /kubeline/in, outputs under /kubeline/out (KUBELINE_INPUTS_DIR /
// KUBELINE_OUTPUTS_DIR override them). It returns the exit code: the user
// command's, 2 for a bad command line, 1 for any other failure.
func Launch(args []string, stdout, stderr io.Writer) int {
	inv, err := launcher.ParseArgs(args, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "kubeline launch: %v\n", err)
		return 2
	}
	opts := launcher.Options{
		Task: inv.Task, Component: inv.Component, Inputs: inv.Inputs, Command: inv.Command,
		InputsDir:  envOr("KUBELINE_INPUTS_DIR", inputsDir),
		OutputsDir: envOr("KUBELINE_OUTPUTS_DIR", outputsDir),
		Env:        userEnv(os.Environ()), Stdout: stdout, Stderr: stderr,
		// The task's uuid ({{$.pipeline_task_uuid}}) is its Argo node id,
		// which Argo gives every container of the pod as ARGO_NODE_ID (the
		// embedded engine too).
		Pipeline: launcher.PipelineInfo{JobName: os.Getenv("KUBELINE_WORKFLOW"), JobUID: os.Getenv("KUBELINE_WORKFLOW_UID"),
			TaskUID: os.Getenv("ARGO_NODE_ID"), Pod: envOr("KUBELINE_POD", os.Getenv("HOSTNAME"))},
		ArtifactRoot: os.Getenv("KUBELINE_ARTIFACT_ROOT"),
		// In a pod the component's own command runs (it can pip install);
		// KUBELINE_PYTHON_EXECUTOR=builtin selects the builtin executor.
		Python: launcher.PythonEnv{Executor: os.Getenv("KUBELINE_PYTHON_EXECUTOR"), Home: envOr("KUBELINE_HOME", os.TempDir())},
	}
	if inv.Trial != nil || inv.ResolveVersion != "" {
		if opts.Objects, err = podArtifacts(context.Background()); err != nil {
			fmt.Fprintf(stderr, "kubeline launch %s: %v\n", inv.Task, err)
			return 1
		}
	}
	if os.Getenv("KUBELINE_ARTIFACT_ROOT") != "" {
		opts.Resolve = (&storeResolver{objects: opts.Objects}).resolve
	}
	switch {
	case inv.Condition != "":
		var ok bool
		ok, err = launcher.EvalCondition(inv.Condition, opts)
		if err == nil {
			fmt.Fprintf(stdout, "condition %q is %v\n", inv.Condition, ok)
		}
	case inv.Importer != nil:
		err = launcher.RunImporter(*inv.Importer, opts)
	case inv.HPOStep != "":
		err = launcher.RunHPOStep(inv, opts)
	case inv.ResolveVersion != "":
		err = launcher.RunResolveVersion(inv.ResolveVersion, opts)
	default:
		opts.Trial = inv.Trial
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = launcher.Run(ctx, opts)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline launch %s: %v\n", inv.Task, err)
		var ee *launcher.ExitError
		if errors.As(err, &ee) {
			return ee.Code
		}
		return 1
	}
	return 0
}

// InstallShort is `kubeline install`'s one-line description.
const InstallShort = "copy this binary to DIR/kubeline (the init container of compiled workflows)"

// InstallHelp is `kubeline install -h`, the same from both binaries.
const InstallHelp = InstallShort + `

Usage:
  kubeline install DIR [flags]

Flags:
  -h, --help   help for install
`

// Install is `kubeline install DIR`: the init container copies the running
// binary into the shared volume as DIR/kubeline, the path compiled steps
// run (compiler/argo's Launcher). It owns its whole command line (help and
// usage errors in the full CLI's words), so the in-pod binary and the full
// one answer alike. It returns the exit code: 0, 2 for a bad command line,
// 1 when the copy fails.
func Install(args []string, stdout, stderr io.Writer) int {
	var dirs []string
	for i, a := range args {
		if a == "--" {
			dirs = append(dirs, args[i+1:]...)
			break
		}
		switch {
		case a == "-h" || a == "--help" || a == "-help":
			fmt.Fprint(stdout, InstallHelp)
			return 0
		case strings.HasPrefix(a, "-") && a != "-":
			return installUsage(stderr, "unknown flag: %s", a)
		}
		dirs = append(dirs, a)
	}
	if len(dirs) != 1 {
		listed := ""
		if len(dirs) > 0 {
			listed = fmt.Sprintf(" %q", dirs)
		}
		return installUsage(stderr, "want DIR, got %d argument(s)%s", len(dirs), listed)
	}
	self, err := os.Executable()
	dst := filepath.Join(dirs[0], "kubeline")
	if err == nil {
		err = artifact.CopyTree(context.Background(), self, dst)
	}
	if err == nil {
		// Every user may run it: the init container runs as the kubeline
		// image's user, a step as its own image's (CopyTree keeps files
		// to their owner).
		err = os.Chmod(dst, 0o755)
	}
	if err != nil {
		fmt.Fprintf(stderr, "kubeline install: %v\n", err)
		return 1
	}
	return 0
}

// installUsage writes a usage error as the full CLI writes its commands'
// (cmd/kubeline's run) and returns exit code 2.
func installUsage(stderr io.Writer, format string, args ...any) int {
	fmt.Fprintf(stderr, "kubeline install: "+format+"\nusage: kubeline install DIR [flags]\nRun 'kubeline install --help' for usage.\n", args...)
	return 2
}

// podArtifacts is the artifact store of `kubeline launch` inside a pod:
// KUBELINE_ARTIFACT_ROOT (minio://BUCKET, s3://BUCKET or file:///DIR) with
// the object store's settings from the environment; nil when unset.
func podArtifacts(ctx context.Context) (artifact.Store, error) {
	root := os.Getenv("KUBELINE_ARTIFACT_ROOT")
	if root == "" {
		return nil, nil
	}
	// OpenURL checks the bucket: the pod's first connection to the store,
	// sent again while it cannot be made (a loaded node drops some).
	var st artifact.Store
	err := artifact.RetryUnreached(ctx, func() error {
		var err error
		st, err = artifact.OpenURL(ctx, root, func() (artifact.S3Config, error) { return artifact.S3ConfigFromEnv(os.Getenv) })
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("KUBELINE_ARTIFACT_ROOT %s: %w", root, err)
	}
	return st, nil
}

// storeResolver reads the artifacts a step gets as URIs (an importer's
// source, artifacts that cross a loop as descriptors) from the pod's store:
// the store is opened on the first URI it holds, each URI is downloaded
// into a directory of its own.
type storeResolver struct {
	objects artifact.Store
	dir     string
}

func (r *storeResolver) resolve(uri string) (string, error) {
	if p, ok := strings.CutPrefix(uri, "file://"); ok {
		return p, nil
	}
	if filepath.IsAbs(uri) {
		return uri, nil
	}
	ctx := context.Background()
	if r.objects == nil {
		st, err := podArtifacts(ctx)
		if err != nil {
			return "", err
		}
		r.objects = st
	}
	prefix := strings.TrimSuffix(r.objects.URI("x"), "x")
	key, ok := strings.CutPrefix(uri, prefix)
	if !ok {
		return "", fmt.Errorf("cannot read %s in this pod: it is not in the pod's artifact store (%s): %w", uri, prefix, launcher.ErrElsewhere)
	}
	if r.dir == "" {
		dir, err := os.MkdirTemp("", "kubeline-resolved-")
		if err != nil {
			return "", err
		}
		r.dir = dir
	}
	dst, err := os.MkdirTemp(r.dir, "")
	if err != nil {
		return "", err
	}
	dst = filepath.Join(dst, "artifact")
	if err := r.objects.Download(ctx, key, dst); err != nil {
		return "", fmt.Errorf("read %s: %w", uri, err)
	}
	return dst, nil
}

// storeCredentials are the variables that carry the artifact store's
// credentials into a pod (runtime/engine/argo's PodEnv); the launcher reads
// them, the user's command does not get them.
var storeCredentials = []string{"OBJECTSTORECONFIG_ACCESSKEY", "OBJECTSTORECONFIG_SECRETACCESSKEY"}

// userEnv is env for the user's command: without the store's credentials
// when kubeline gave the pod its store (KUBELINE_ARTIFACT_ROOT).
func userEnv(env []string) []string {
	if os.Getenv("KUBELINE_ARTIFACT_ROOT") == "" {
		return env
	}
	out := env[:0:0]
	for _, kv := range env {
		name, _, _ := strings.Cut(kv, "=")
		if !slices.Contains(storeCredentials, name) {
			out = append(out, kv)
		}
	}
	return out
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
