// Command registry is the e2e node's image registry: a read-only OCI
// distribution API (the part containerd pulls with) over image layers built
// on this machine, so that pods pull nothing from outside. It serves the
// images an image list names (kubeline's, argoexec, pause) and, for every
// other name, the default image (the Debian base): a compiled pipeline's
// python:3.11, alpine or ubi9/python-311:latest all run on the base rootfs.
// containerd reaches it as the mirror of every registry (e2e/README.md).
//
// It imports nothing but the standard library.
package main
