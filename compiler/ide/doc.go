// Package ide compiles an IDE — a notebook session — into one Argo
// Workflow whose single long-running step serves the notebook: the image's
// command (JupyterLab's by default) on the port the workflow's "port"
// parameter gives, in /kubeline/ide, where the code and dataset versions it
// mounts are input artifacts. The same workflow runs on Argo (a pod: its
// readiness probe asks the port) and on the embedded engine (a host
// process). It runs until it is stopped.
//
// ide imports the compiler's argo package for the image catalog's rules;
// never runtime/.
package ide
