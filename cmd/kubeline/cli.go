package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/kubeline/kubeline/cmd/internal/launchcmd"
)

const usage = `kubeline: compile KFP v2 pipelines into Argo Workflows and run them.

Usage:
  kubeline compile FILE [-o OUT] [--param NAME=VALUE ...] [--image IMAGE]
  kubeline run FILE [--param NAME=VALUE ...] [-o json] [--engine local|argo]   (embedded engine or Argo)
  kubeline server [--addr 127.0.0.1:8888] [--db URL] [--artifacts DIR|minio://B] (KFP-compatible API)
                  [--multi-user] [--gpus TYPE:NODE=N,...] [--aging 10m] [--engine local|argo]
  kubeline users|groups|pools|projects|runs VERB ... [--server URL] [--token T]  (see kubeline users -h)
  kubeline leaderboard PROJECT | compare RUN|MODEL@vN...                        (project results)
  kubeline datasets|models list | versions NAME | create NAME --from PATH | usage NAME@vN
  kubeline models publish NAME@vN | kubeline catalog                           (model catalog, via --server)
  kubeline deploy FILE | deployments list|stop NAME | predict NAME -d @in.json (local deployments, via --server)
  kubeline lineage model|dataset NAME@vN [-o text|json|dot|svg]                 (where it came from / went)
  kubeline argo-repository --artifacts minio://BUCKET [--s3-*]                  (Argo's artifact-repositories ConfigMap)
  kubeline clusters add NAME [--context CTX] [--namespace NS] | list | remove    (run --cluster NAME)
  kubeline hpo run EXPERIMENT.yaml [--plot FILE.svg] [-o json]                  (HPO experiment)
  kubeline suggest EXPERIMENT.yaml [--trials JSON|@FILE] [--count N] [-o FILE]  (HPO step)
  kubeline launch --task T --component JSON [--in NAME=VALUE ...] -- COMMAND...   (inside a step)
  kubeline install DIR                                                         (init container)
  kubeline version

Run "kubeline COMMAND -h" for a command's flags.
`

// version is set with -ldflags "-X main.version=...".
var version = "dev"

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "compile":
		return compileCmd(args[1:], stdout, stderr)
	case "run":
		return runCmd(args[1:], stdout, stderr)
	case "server":
		return serverCmd(args[1:], stdout, stderr)
	case "suggest":
		return suggestCmd(args[1:], stdout, stderr)
	case "hpo":
		return hpoCmd(args[1:], stdout, stderr)
	case "models":
		if len(args) > 1 && args[1] == "publish" {
			return publishCmd(args[2:], stdout, stderr)
		}
		return resourceCmd("model", args[1:], stdout, stderr)
	case "catalog":
		return catalogCmd(args[1:], stdout, stderr)
	case "deploy":
		return deployCmd(args[1:], stdout, stderr)
	case "deployments":
		return deploymentsCmd(args[1:], stdout, stderr)
	case "predict":
		return predictCmd(args[1:], stdout, stderr)
	case "datasets":
		return resourceCmd(strings.TrimSuffix(args[0], "s"), args[1:], stdout, stderr)
	case "users", "groups", "pools", "projects", "runs":
		return adminCmd(args[0], args[1:], stdout, stderr)
	case "leaderboard":
		return leaderboardCmd(args[1:], stdout, stderr)
	case "compare":
		return compareCmd(args[1:], stdout, stderr)
	case "lineage":
		return lineageCmd(args[1:], stdout, stderr)
	case "clusters":
		return clustersCmd(args[1:], stdout, stderr)
	case "argo-repository":
		return argoRepositoryCmd(args[1:], stdout, stderr)
	case "launch":
		return launchcmd.Launch(args[1:], stdout, stderr)
	case "install":
		return launchcmd.Install(args[1:], stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "kubeline", version)
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "kubeline: unknown command %q\n\n%s", args[0], usage)
	_ = stdin
	return 2
}

// paramFlag collects repeated --param NAME=VALUE flags.
type paramFlag map[string]string

func (p paramFlag) String() string { return "" }

func (p paramFlag) Set(s string) error {
	name, value, ok := strings.Cut(s, "=")
	if !ok || name == "" {
		return fmt.Errorf("want NAME=VALUE, got %q", s)
	}
	if _, dup := p[name]; dup {
		return fmt.Errorf("parameter %q given twice", name)
	}
	p[name] = value
	return nil
}
