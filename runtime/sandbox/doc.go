// Package sandbox runs the processes of a multi-user server's steps (and
// local deployments) isolated from the server: each run gets an
// unprivileged uid and gid of its own, and each command runs in a
// bubblewrap (bwrap) sandbox — private mount, pid and ipc namespaces in
// which the host's system (/usr, /etc, /opt) is read-only, the step's own
// directories are the only writable places, /tmp and /dev/shm are private,
// and $KUBELINE_HOME, the store, the artifacts, other runs and the server's
// processes do not exist. The command runs as the run's uid (setpriv drops
// to it inside the sandbox, with no capabilities and no_new_privs), so the
// kernel's own permission checks apply to whatever it reaches. Its
// environment is what the engine gives it, nothing of the server's.
//
// Why bubblewrap: it is the maintained, small, setuid-safe sandbox Flatpak
// and others build on (Debian package bubblewrap), it starts a sandbox in a
// few milliseconds with no image, no daemon and no state, and it binds host
// directories at their own paths, so a step's command lines, executor input
// and artifact paths stay what the embedded engine computed. runc (also
// installed here) needs an OCI bundle and a root filesystem per container
// and a state directory: more to build and more start time for a process
// that only needs host binaries. bwrap runs as root in its privileged mode
// (no user namespace: with one, its --uid maps back to root outside); the
// server therefore runs as root for a multi-user embedded engine, or uses
// --engine argo, where each step is a pod.
//
// Seal closes the gap left by the server's in-process work on a step's
// files (reading outputs, uploading artifacts). It first ends the step's
// sandboxes for good: a process the step left in the background (setsid, a
// double fork, nohup) outlives the command bwrap waited for, inside the
// sandbox's pid namespace, and could plant a link or swap a file after the
// check or while the server reads. bwrap reports the pid of the
// namespace's init (--info-fd); Seal kills it through a pidfd and waits for
// it to exit, which the kernel lets happen only once every other process
// of the namespace is gone. Then Seal refuses symlinks and special files in
// the step's writable directories, so nothing the step left leads the
// server outside them.
//
// sandbox imports nothing from kubeline; engines and the serving manager
// receive it through small interfaces and cmd/kubeline wires it.
package sandbox
