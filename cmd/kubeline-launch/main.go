// Command kubeline-launch is the in-pod kubeline: only `launch` and
// `install`, with the same command line as the full binary's (both call
// cmd/internal/launchcmd). The kubeline image's init container runs
// `kubeline-launch install /kubeline/bin`, which copies it to
// /kubeline/bin/kubeline, the launcher path compiled steps run. It links no
// compiler, engine, metadata store, API server, Kubernetes client or
// metrics, so it is a third of the full binary's size and a step starts its
// command in a few milliseconds.
package main

import (
	"fmt"
	"io"
	"os"

	"github.com/kubeline/kubeline/cmd/internal/launchcmd"
)

// version is set with -ldflags "-X main.version=...".
var version = "dev"

const usage = `kubeline (in-pod launcher): the commands a step runs.

Usage:
  kubeline launch --task T --component JSON [--in NAME=VALUE ...] -- COMMAND...   (inside a step)
  kubeline install DIR                                                         (init container)
  kubeline version

The full kubeline binary has every other command.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return 2
	}
	switch args[0] {
	case "launch":
		return launchcmd.Launch(args[1:], stdout, stderr)
	case "install":
		return launchcmd.Install(args[1:], stdout, stderr)
	case "version", "--version":
		fmt.Fprintln(stdout, "kubeline", version, "(in-pod launcher)")
		return 0
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	}
	fmt.Fprintf(stderr, "kubeline: %q is not a command of the in-pod launcher (only launch, install and version; the full kubeline binary has the others)\n\n%s", args[0], usage)
	return 2
}
