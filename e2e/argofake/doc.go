// Package argofake does, for the e2e environment's fake pods (kwok runs no
// container), what Argo's executor does inside a real pod: it reports a
// step's outputs in a WorkflowTaskResult. Argo's workflow-controller keeps a
// node whose template declares outputs waiting until that result is complete.
// e2e/argo-outputs.sh is the same for the shell; e2e/README.md has the details.
package argofake
