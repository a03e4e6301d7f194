// Command pause is the e2e node's sandbox container (what Kubernetes' pause
// image does): it holds a pod's namespaces, reaps orphaned processes as the
// pod's PID 1 and exits on SIGINT or SIGTERM. Built static into the image
// that containerd's sandbox_image names, so that no pause image is pulled.
// It imports nothing but the standard library.
package main
