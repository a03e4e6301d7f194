package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sort"
	"strings"
	"time"

	"github.com/kubeline/kubeline/runtime/apiserver"
	"github.com/kubeline/kubeline/runtime/engine/local"
)

// uploadGrace is how long a request's body may still take to arrive once
// the server shuts down.
const uploadGrace = 5 * time.Second

// Why a run in flight ended with its server.
const (
	stoppedByShutdown = "the server shut down while this run was in flight: its steps were stopped"
	stoppedByCrash    = "the server stopped while this run was in flight"
)

// serveUntil serves srv on l until ctx ends, then shuts down: no new
// requests, the ones in flight answered (10 s at most: a request still
// sending its body after uploadGrace is answered 503), and — when the
// embedded engine runs the steps as this process's children — every run
// stopped and recorded FAILED with the reason, so that no step outlives
// the server.
func serveUntil(ctx context.Context, srv *http.Server, l net.Listener, api *apiserver.Server, embedded bool) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	api.Drain(uploadGrace)
	shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := srv.Shutdown(shutdown)
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	if embedded {
		// Steps get their grace (10 s) between SIGTERM and SIGKILL.
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if serr := api.StopRuns(stop, stoppedByShutdown); serr != nil {
			err = errors.Join(err, serr)
		}
	}
	return err
}

// killLeftovers kills the step processes an embedded engine under home
// left running when its server died (kill -9: a parent-death signal kills
// only a step's first process), and returns, per workflow, the reason its
// run ended.
func killLeftovers(home string) (map[string]string, error) {
	left, err := local.KillLeftovers(home)
	if err != nil {
		return nil, err
	}
	killed := map[string][]string{}
	for _, l := range left {
		for _, pid := range l.Killed {
			killed[l.Workflow] = append(killed[l.Workflow], fmt.Sprint(pid))
		}
		if _, ok := killed[l.Workflow]; !ok {
			killed[l.Workflow] = nil
		}
	}
	reasons := map[string]string{}
	for wf, pids := range killed {
		reasons[wf] = stoppedByCrash
		if len(pids) > 0 {
			sort.Strings(pids)
			reasons[wf] += fmt.Sprintf("; its leftover step processes were killed when the next server started (pids %s)", strings.Join(pids, ", "))
		}
	}
	return reasons, nil
}
