package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/kubeline/kubeline/runtime/admission"
	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/store"
)

// accessFlags are the server's multi-user and GPU flags.
type accessFlags struct {
	multiUser bool
	gpus      gpuFlag
	aging     time.Duration
	// importRoot is the host directory a multi-user server's importers may
	// read (isolation.go).
	importRoot string
}

func (a *accessFlags) register(fs *pflag.FlagSet) {
	fs.BoolVar(&a.multiUser, "multi-user", false, "require bearer tokens and enforce roles, groups and owners "+
		"(also on when users exist or the address is not loopback)")
	fs.StringVar(&a.importRoot, "import-root", "", "the host `DIR` whose files importers (file:// and path URIs) may read; when empty none on a multi-user server, any on a single-user one")
	fs.Var(&a.gpus, "gpus", "the cluster's GPUs: `TYPE:NODE=N[,NODE=N...]`, repeatable (default: none)")
	fs.DurationVar(&a.aging, "aging", 10*time.Minute, "a queued run that has waited this long is no longer passed by later runs of its pool")
}

// gpuFlag collects --gpus TYPE:NODE=N,... into cluster nodes.
type gpuFlag []admission.ClusterNode

func (g *gpuFlag) String() string { return "" }

func (g *gpuFlag) Type() string { return "TYPE:NODE=N,..." }

func (g *gpuFlag) Set(v string) error {
	typ, nodes, ok := strings.Cut(v, ":")
	if !ok || typ == "" || nodes == "" {
		return fmt.Errorf("want TYPE:NODE=N[,NODE=N...], got %q", v)
	}
	for _, n := range strings.Split(nodes, ",") {
		name, count, ok := strings.Cut(strings.TrimSpace(n), "=")
		gpus, err := strconv.ParseInt(count, 10, 64)
		if !ok || name == "" || err != nil || gpus <= 0 {
			return fmt.Errorf("node %q: want NODE=N with N > 0", n)
		}
		for _, have := range *g {
			if have.Name == name {
				return fmt.Errorf("node %q is given twice", name)
			}
		}
		*g = append(*g, admission.ClusterNode{Name: name, GPUType: typ, GPUs: gpus})
	}
	return nil
}

// multiUser decides the server's mode: on when asked, when the store has
// users (a server never drops back to no authentication), or when it
// listens beyond loopback.
func (a *accessFlags) multiUserMode(ctx context.Context, st *store.Store, addr net.Addr) (bool, error) {
	n, err := st.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	tcp, ok := addr.(*net.TCPAddr)
	return a.multiUser || n > 0 || ok && !tcp.IP.IsLoopback(), nil
}

// bootstrap makes the first operator, "admin", of a multi-user server
// without users and prints its token once.
func bootstrap(ctx context.Context, st *store.Store, log io.Writer) error {
	n, err := st.CountUsers(ctx)
	if err != nil || n > 0 {
		return err
	}
	if err := st.CreateUser(ctx, &store.User{Name: "admin", Roles: []string{apiserver.RoleOperator}}); err != nil {
		return fmt.Errorf("bootstrap the operator: %w", err)
	}
	token, hash := apiserver.NewToken()
	if err := st.AddToken(ctx, "admin", hash); err != nil {
		return fmt.Errorf("bootstrap the operator: %w", err)
	}
	fmt.Fprintf(log, "kubeline server: multi-user mode; made the operator \"admin\", whose token is shown only now:\n  export KUBELINE_TOKEN=%s\n", token)
	return nil
}

// recoverAdmission ends the admission of runs a previous server left
// starting or running (recoverRuns ended them); queued runs stay queued and
// are admitted by this server.
func recoverAdmission(ctx context.Context, st *store.Store) error {
	active, err := st.ActiveAdmissions(ctx)
	if err != nil {
		return err
	}
	for _, a := range active {
		if a.Status == store.StatusQueued {
			continue
		}
		if err := st.SetRunStatus(ctx, a.RunID, store.StatusError); err != nil {
			return fmt.Errorf("recover run %s: %w", a.RunID, err)
		}
	}
	return nil
}

// queuedRuns are the runs a restarted server keeps waiting.
func queuedRuns(ctx context.Context, st *store.Store) (map[string]bool, error) {
	active, err := st.ActiveAdmissions(ctx)
	if err != nil {
		return nil, err
	}
	out := map[string]bool{}
	for _, a := range active {
		if a.Status == store.StatusQueued {
			out[a.RunID] = true
		}
	}
	return out, nil
}

func clusterGPUs(nodes []admission.ClusterNode) int64 {
	var n int64
	for _, c := range nodes {
		n += c.GPUs
	}
	return n
}
